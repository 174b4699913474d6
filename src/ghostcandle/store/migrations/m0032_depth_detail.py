"""Depth detail: what each per-second depth row knew besides its top levels.

- ``best_bid``/``best_ask``: the touch (also for book summaries, which keep no levels);
- ``bid_total``/``ask_total`` over ``total_levels`` levels per side: summed quantities (a
  book-summary file's top-100 volumes; the stored top levels for a local book);
- ``known_levels``: how many levels the local book held (NULL for the ``depth20`` stream);
- ``buy_volume``/``sell_volume``/``trades``: taker-buy and taker-sell base volume and the number
  of trades in the second that ends at ``time`` (NULL where trades were not recorded).

Rows stored before get the touch from their first levels and NULL elsewhere.
"""

VERSION = 32
NAME = "depth_detail"
STATEMENTS = (
    "ALTER TABLE depth_snapshots ADD COLUMN best_bid DOUBLE",
    "ALTER TABLE depth_snapshots ADD COLUMN best_ask DOUBLE",
    "ALTER TABLE depth_snapshots ADD COLUMN bid_total DOUBLE",
    "ALTER TABLE depth_snapshots ADD COLUMN ask_total DOUBLE",
    "ALTER TABLE depth_snapshots ADD COLUMN total_levels INTEGER",
    "ALTER TABLE depth_snapshots ADD COLUMN known_levels INTEGER",
    "ALTER TABLE depth_snapshots ADD COLUMN buy_volume DOUBLE",
    "ALTER TABLE depth_snapshots ADD COLUMN sell_volume DOUBLE",
    "ALTER TABLE depth_snapshots ADD COLUMN trades INTEGER",
    "UPDATE depth_snapshots SET best_bid = bid_price[1], best_ask = ask_price[1]",
)
