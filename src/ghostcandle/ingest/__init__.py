"""Reading candle files (Binance kline CSV, generic OHLCV CSV, Parquet) into the store."""
