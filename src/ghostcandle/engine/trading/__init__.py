"""The trading room: the backtest, paper trading and the annotations-as-a-strategy runner."""
