"""Reads by id through the decision times (``id_filters.near``): exactly the ids asked for.

A read near some decision times returns every row there (other ids at the same instants, other
symbols' and labels'); the stores keep only the ids they asked for. Each case is checked
against what the rows hold (plain SQL by id), in and past the ranges one read ORs together.
"""

from __future__ import annotations

from dataclasses import replace

from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.id_filters import NEAR_GAP_MS, NEAR_MIN_IDS, NEAR_RANGES, near
from ghostcandle.store.outcomes import OutcomeStore
from ghostcandle.store.sample_reads import find_frames, find_samples
from ghostcandle.store.samples import SampleStore

from .test_unkeyed_growth_tables import T0, M, _candles, _pending, _sample


def _ids(db: Database, table: str) -> list[str]:
    with db.cursor() as cur:
        return sorted(str(r[0]) for r in cur.execute(f"SELECT sample_id FROM {table}").fetchall())


def test_near_covers_every_time_in_few_ranges_or_gives_up() -> None:
    times = [T0, T0 + 3_000, T0 + 3_000 + NEAR_GAP_MS, T0 + M, T0 + 7 * M]
    got = near("t", times)
    assert got is not None
    where, params = got
    ranges = sorted(
        (params[f"near_{i}_lo"], params[f"near_{i}_hi"]) for i in range(where.count(" OR ") + 1)
    )
    assert ranges == [(T0, T0 + 3_000 + NEAR_GAP_MS), (T0 + M, T0 + M), (T0 + 7 * M, T0 + 7 * M)]
    far = [T0 + k * 2 * NEAR_GAP_MS for k in range(NEAR_RANGES + 1)]
    assert near("t", far) is None
    assert near("t", far[:-1]) is not None
    assert near("t", []) is None


def test_pending_outcomes_beside_stored_ones_at_the_same_instants_are_new(db: Database) -> None:
    store = OutcomeStore(db)
    # a stored outcome at every minute; the new ones share their decision times
    assert store.insert_pending([_pending(f"old{m}", m) for m in range(12)]) == 12
    batch = [_pending(f"new{m}", m) for m in (0, 1, 2, 5)] + [_pending("old3", 3)]
    assert store.insert_pending(batch) == 4
    # times too far apart for one near read: the read by ids, the same answer
    spread = [_pending(f"far{m}", m) for m in range(0, 60 * (NEAR_RANGES + 2), 60)]
    spread += [_pending("old7", 7), _pending("new5", 5)]
    assert near("decision_time", [p.decision_time for p in spread]) is None
    assert store.insert_pending(spread) == NEAR_RANGES + 2
    # a second's outcomes, a few seconds apart: one range of several instants
    sec = [replace(_pending(f"s{k}", 30), decision_time=T0 + 30 * M + k * 1000) for k in range(6)]
    assert store.insert_pending(sec[::2]) == 3
    assert store.insert_pending([sec[4], *sec[1::2], sec[0]]) == 3
    want = sorted(
        [f"s{k}" for k in range(6)]
        + [f"old{m}" for m in range(12)]
        + [f"new{m}" for m in (0, 1, 2, 5)]
        + [f"far{m}" for m in range(0, 60 * (NEAR_RANGES + 2), 60)]
    )
    assert _ids(db, "outcomes") == want


def test_samples_and_frames_found_are_exactly_those_asked_for(db: Database) -> None:
    _candles(db)
    store = SampleStore(db)
    # two labels of one frame: two samples at the same instant, and other frames around them
    made = store.record([_sample(e, label) for e in range(30, 40) for label in (1, 2)], now=T0)
    # one label of some frames, the other label left out (enough ids to be read near)
    ask = [made[4], made[9], made[13], made[14], made[17], made[2]]
    assert len(ask) >= NEAR_MIN_IDS
    with db.cursor() as cur:
        got = find_samples(
            cur,
            [s.sample_id for s in ask],
            within=(T0, T0 + 60 * M),
            times=[s.frame.decision_time for s in ask],
        )
        assert [s.sample_id for s in got] == [s.sample_id for s in ask]
        assert [s.label for s in got] == [s.label for s in ask]
        # a frame of a stored sample, one never stored at the same instant: only the first
        unknown = [replace(ask[0].frame, frame_id=f"not-stored-{k}", model="x") for k in range(3)]
        frames = find_frames(cur, [ask[0].frame, *unknown, ask[2].frame, ask[3].frame])
    assert sorted(frames) == sorted({ask[k].frame.frame_id for k in (0, 2, 3)})
    assert frames[ask[2].frame.frame_id].input_hash == ask[2].frame.input_hash


def test_a_frame_registered_twice_beside_others_is_stored_once(db: Database) -> None:
    frames = FrameStore(db)
    base = _sample(30).frame
    others = [replace(base, frame_id=f"f{k}", model=f"m{k}") for k in range(5)]
    frames.register_many([(f, "1m") for f in others])
    frames.register_many([(base, "1m"), (others[2], "1m")])
    with db.cursor() as cur:
        n = cur.execute("SELECT count(*), count(DISTINCT frame_id) FROM frames").fetchone()
        asked = [base, others[4], *(replace(base, frame_id=f"g{k}") for k in range(3))]
        found = find_frames(cur, asked)
    assert n == (6, 6)
    assert sorted(found) == sorted([base.frame_id, "f4"])
