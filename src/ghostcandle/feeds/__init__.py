"""Market data feeds: exchange connectors, the local exchange simulator, candle building."""
