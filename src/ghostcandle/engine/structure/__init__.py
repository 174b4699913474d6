"""The structure room: indicators and pivots kept live as candles close, their facade and audit."""
