"""Bundled SYNTHETIC sample exports of the whole campaign, for `campaign-monitor demo` and the docs.

The files are made by `make_samples.py` (deterministic); every account and number in them is invented.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).parent
FILES = (
    "01_crowdtangle_facebook_SYNTHETIC.csv",
    "02_crowdtangle_instagram_SYNTHETIC.csv",
    "03_mbs_instagram_pemkot_SYNTHETIC.csv",
    "04_twarc2_tweets_SYNTHETIC.csv",
    "05_twitter_analytics_pemkot_SYNTHETIC.csv",
    "06_zeeschuimer_tiktok_threads_SYNTHETIC.ndjson",
    "07_tiktok_studio_pemkot_SYNTHETIC.csv",
)


def sample_files() -> list[Path]:
    """The sample exports in import order (the roster, roster.csv, is not among them)."""
    return [SAMPLES_DIR / name for name in FILES]


def roster_file() -> Path:
    """The sample community roster."""
    return SAMPLES_DIR / "roster.csv"
