"""A local exchange that speaks the Binance public REST and WebSocket protocol on 127.0.0.1."""
