"""ghostcandle: an event-driven inference -> resolution -> training loop for market models."""

__version__ = "0.1.0"
