"""Storage: one DuckDB file, versioned migrations, and the stores that read and write it."""
