"""The training room: the one writer of weights and what feeds it.

Owns the trainer (single writer, published snapshots), the training policy (modes and labels),
batches built from frame references, checkpoints, and batch training jobs (annotations).
"""
