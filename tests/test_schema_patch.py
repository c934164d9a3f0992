"""A database made before vote_reminders.planned_at existed gains the column when it is opened, and
keeps its rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from monitor.db import open_engine


def test_an_older_database_gains_planned_at(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE vote_reminders DROP COLUMN planned_at"))
        conn.execute(
            text(
                "INSERT INTO vote_reminders (local_date, campaign_day, channel, message, status, attempts)"
                " VALUES ('2022-09-19', 1, 'log', 'ayo vote', 'sent', 1)"
            )
        )
    engine.dispose()
    assert "planned_at" not in {
        c["name"] for c in inspect(open_engine(url, create=False)).get_columns("vote_reminders")
    }
    reopened = open_engine(url)
    assert "planned_at" in {c["name"] for c in inspect(reopened).get_columns("vote_reminders")}
    with reopened.connect() as conn:
        assert conn.execute(text("SELECT message, planned_at FROM vote_reminders")).one() == (
            "ayo vote",
            None,
        )
