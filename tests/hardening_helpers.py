"""Export files for the hardening tests, built from a real CrowdTangle fixture (tests/data/scheduler)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

EXPORT = Path(__file__).parent / "data" / "scheduler" / "crowdtangle_two_posts.csv"


def ct_lines(count: int, first: int = 1) -> tuple[str, list[str]]:
    """The fixture's header and `count` distinct rows (post ids 9000000000001NN), without newlines."""
    header, row, _ = EXPORT.read_text(encoding="utf-8-sig").split("\n", 2)
    rows = [row.replace("900000000000001", f"9000000000{10000 + i:05d}") for i in range(first, first + count)]
    return header, rows


def ct_export(path: Path, count: int, first: int = 1) -> Path:
    header, rows = ct_lines(count, first)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()
