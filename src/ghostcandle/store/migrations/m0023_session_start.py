"""Loop sessions: the training step the learning model started from (0: fresh weights).

A session may start from a checkpoint trained elsewhere (annotations); its own step records
count from there, and ``audit session`` needs to know where.
"""

VERSION = 23
NAME = "session_start"
STATEMENTS = ("ALTER TABLE loop_sessions ADD COLUMN start_step BIGINT DEFAULT 0",)
