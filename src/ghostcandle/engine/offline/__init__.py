"""Offline training: datasets of decision points over stored candles, a fit, walk-forward.

``dataset`` turns a range of stored candles into decision points (frames by reference, the
next candle as target, a label from later candles only); ``trainer`` fits a model on them
through the one ``Trainer`` with a validation split later in time and early stopping, and
writes a named checkpoint; ``walk_forward`` rolls fixed train/test folds and scores every
fold's test predictions beside the baselines with the evaluation.
"""
