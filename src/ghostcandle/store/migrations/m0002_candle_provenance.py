"""Candle provenance: the path each stored candle arrived by (``domain.candle_sources``).

Rows stored before this migration get ``rollup`` when their free-text ``source`` says they were
rolled up (``rollup:<tf>``), else ``unknown``: the old ``source`` (a file path, an exchange
name) does not tell a WebSocket candle from a REST one. After it, the column has no default
and may not be NULL, so a writer that does not name its path fails instead of guessing.
"""

VERSION = 2
NAME = "candle_provenance"
# the UPDATE comes last: DuckDB refuses to alter a keyed table with updates outstanding
STATEMENTS = (
    "ALTER TABLE candles ADD COLUMN provenance VARCHAR DEFAULT 'unknown'",
    "ALTER TABLE candles ALTER COLUMN provenance DROP DEFAULT",
    "ALTER TABLE candles ALTER COLUMN provenance SET NOT NULL",
    "UPDATE candles SET provenance = 'rollup' WHERE source LIKE 'rollup:%'",
    "ALTER TABLE candle_conflicts ADD COLUMN provenance VARCHAR DEFAULT 'unknown'",
    "ALTER TABLE candle_conflicts ALTER COLUMN provenance DROP DEFAULT",
)
