"""Pure domain: time, candles, validation, aggregation, frames. No I/O here."""
