"""Work past one process on Ray: walk-forwards and backtests split per symbol and fold.

A layer above ``engine`` and below ``cli``. Ray is imported only inside these modules' functions,
so a command run without ``--ray`` never pays for it. Every task reads its candles from a Parquet
snapshot of the store (``snapshot``), never from the main DuckDB file, and returns its result to
the driver, which writes everything in one transaction: a run that fails writes nothing.
"""
