"""The loop room: a session predicts at each close, resolves, hands samples to training, writes.

Owns the session, its config, the predictor, the resolver, the frame/candle coordinator, the
window cache, the ledger writer and its jobs, the loop metrics and the replay driver.
"""
