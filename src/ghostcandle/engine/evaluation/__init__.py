"""The evaluation room: scores a session's resolved predictions against its baselines."""
