"""Paper trading: the simulated account of a live session, its positions, orders and trades."""

VERSION = 40
NAME = "paper"
STATEMENTS = (
    """
    CREATE TABLE paper_accounts (
        session_id      VARCHAR NOT NULL PRIMARY KEY,
        timeframe       VARCHAR NOT NULL,
        config          VARCHAR NOT NULL,
        cash            DOUBLE  NOT NULL,
        equity          DOUBLE  NOT NULL,
        last_time       BIGINT,
        fills           BIGINT  NOT NULL DEFAULT 0,
        updated_at      BIGINT  NOT NULL
    )
    """,
    """
    CREATE TABLE paper_positions (
        session_id   VARCHAR NOT NULL,
        symbol       VARCHAR NOT NULL,
        side         VARCHAR NOT NULL,
        size         DOUBLE  NOT NULL,
        entry_time   BIGINT  NOT NULL,
        entry_price  DOUBLE  NOT NULL,
        entry_fee    DOUBLE  NOT NULL,
        last_price   DOUBLE  NOT NULL,
        PRIMARY KEY (session_id, symbol)
    )
    """,
    """
    CREATE TABLE paper_orders (
        session_id   VARCHAR NOT NULL,
        symbol       VARCHAR NOT NULL,
        target       INTEGER NOT NULL,
        decided_at   BIGINT  NOT NULL,
        PRIMARY KEY (session_id, symbol)
    )
    """,
    """
    CREATE TABLE paper_trades (
        session_id   VARCHAR NOT NULL,
        seq          BIGINT  NOT NULL,
        symbol       VARCHAR NOT NULL,
        side         VARCHAR NOT NULL,
        size         DOUBLE  NOT NULL,
        entry_time   BIGINT  NOT NULL,
        entry_price  DOUBLE  NOT NULL,
        exit_time    BIGINT  NOT NULL,
        exit_price   DOUBLE  NOT NULL,
        entry_fee    DOUBLE  NOT NULL,
        exit_fee     DOUBLE  NOT NULL,
        pnl          DOUBLE  NOT NULL,
        exit_reason  VARCHAR NOT NULL,
        PRIMARY KEY (session_id, seq)
    )
    """,
    """
    CREATE TABLE paper_equity (
        session_id  VARCHAR NOT NULL,
        time        BIGINT  NOT NULL,
        equity      DOUBLE  NOT NULL,
        exposed     BOOLEAN NOT NULL,
        PRIMARY KEY (session_id, time)
    )
    """,
)
