"""Models: one interface for every family (transformer, CNN, baselines, later DQN, order book)."""
