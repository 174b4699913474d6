"""Training samples: outcomes validated after their horizon, priorities, replay sampling."""
