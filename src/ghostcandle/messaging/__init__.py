"""The in-order message bus every component publishes to and subscribes on."""
