"""The loop: sessions, predictor, resolver, coordinator, trainer; live, replay and backtest."""
