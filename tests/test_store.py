"""The store: upsert by platform key, latest metrics win, unknown keeps known, snapshots on change."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import store
from monitor.models import MetricSnapshot, Post, PostHashtag
from monitor.records import PostRecord, collect_hashtags, hashtags_in
from monitor.store import finish_run, start_run, write_batch

WIB = dt.timezone(dt.timedelta(hours=7))


def rec(key: str = "1", likes: int | None = 5, comments: int | None = 1, **kw: object) -> PostRecord:
    base = dict(
        platform="facebook",
        post_key=key,
        created_at=dt.datetime(2022, 9, 19, 0, 30, tzinfo=WIB),
        source="test",
        text="Ayo vote #WeLoveProbolinggo!",
        likes=likes,
        comments=comments,
        shares=None,
        hashtags=collect_hashtags("Ayo vote #WeLoveProbolinggo!"),
    )
    base.update(kw)
    return PostRecord(**base)  # type: ignore[arg-type]


def test_hashtag_rules() -> None:
    assert hashtags_in("(#WeLoveCities) #WeLoveCities! x#nope #WeLoveProbolinggo2022 #Kota_Ku") == {
        "welovecities",
        "weloveprobolinggo2022",
        "kota_ku",
    }
    assert collect_hashtags("no tags", ["#WeLoveCities", "Bromo"]) == {"welovecities", "bromo"}
    # Case-folding can add a combining mark (İ -> i + U+0307): fold the tag, not the text before matching.
    assert hashtags_in("#İstanbul #WELOVECITIES") == {"i\u0307stanbul", "welovecities"}


@pytest.fixture(params=["driver", "core"])
def write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both write paths: SQLite's bulk driver path, and the Core path other databases take."""
    if request.param == "core":
        monkeypatch.setattr(store, "driver_bulk", lambda conn: False)
    return str(request.param)


def test_upsert_counts_and_snapshots(engine, config, write_path) -> None:
    tz = config.campaign.tz
    run = start_run(engine, "test", None)
    first = write_batch(engine, run, [rec("1"), rec("2")], tz)
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    again = write_batch(engine, run, [rec("1"), rec("2", likes=9), rec("1", likes=None)], tz)
    # "1" twice in one batch: the later observation (likes unknown) keeps the known 5.
    assert (again.new, again.updated, again.unchanged) == (0, 1, 2)
    finish_run(engine, run, "ok")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar() == 2
        likes = dict(conn.execute(select(Post.post_key, Post.likes)).all())
        assert likes == {"1": 5, "2": 9}
        local = conn.execute(select(Post.local_date, Post.created_at).where(Post.post_key == "1")).one()
        assert local.local_date == dt.date(2022, 9, 19)  # 00:30 WIB is the 19th locally, the 18th in UTC
        assert local.created_at == dt.datetime(2022, 9, 18, 17, 30, tzinfo=dt.UTC)
        assert conn.execute(select(func.count()).select_from(MetricSnapshot)).scalar() == 3
        assert set(conn.execute(select(PostHashtag.tag)).scalars()) == {"weloveprobolinggo"}
        snaps = conn.execute(
            select(Post.post_key, MetricSnapshot.likes, MetricSnapshot.observed_at)
            .join(Post)
            .order_by(MetricSnapshot.id)
        ).all()
    assert [(k, likes) for k, likes, _ in snaps] == [("1", 5), ("2", 5), ("2", 9)]
    assert all(observed.tzinfo is dt.UTC for _, _, observed in snaps)
    with Session(engine) as session:  # what the bulk path wrote reads back through the ORM types
        post = session.scalars(select(Post).where(Post.post_key == "2")).one()
        assert post.created_at == dt.datetime(2022, 9, 18, 17, 30, tzinfo=dt.UTC)
        assert post.local_date == dt.date(2022, 9, 19) and post.is_repost is False
        assert post.first_seen_at <= post.last_seen_at and post.shares is None


def test_one_account_whatever_exported_it(engine, config, write_path) -> None:
    """Twitter Analytics gives only the handle, twarc the id and the handle, Meta exports only the id:
    each post ends up with both halves, whichever source came first."""
    tz = config.campaign.tz
    run = start_run(engine, "test", None)
    analytics = rec("10", platform="twitter", author_handle="Kim_Mayangan", author_id=None)
    mbs = rec("20", platform="facebook", author_id="100070000015838", author_handle=None)
    write_batch(engine, run, [analytics, mbs], tz)  # neither account known yet
    twarc = rec("11", platform="twitter", author_handle="kim_mayangan", author_id="111")
    crowdtangle = rec("21", platform="facebook", author_handle="kim_kedopok", author_id="100070000015838")
    write_batch(engine, run, [twarc, crowdtangle], tz)  # learned: the earlier posts are completed
    later = rec("12", platform="twitter", author_handle="@KIM_MAYANGAN", author_id=None)
    write_batch(engine, run, [later], tz)  # known: completed on the way in
    with engine.connect() as conn:
        authors = dict(
            conn.execute(
                select(Post.post_key, func.coalesce(Post.author_id, "-") + "/" + Post.author_handle)
            ).all()
        )
    assert authors["10"] == "111/Kim_Mayangan" and authors["12"] == "111/@KIM_MAYANGAN"
    assert authors["20"] == "100070000015838/kim_kedopok" and authors["21"] == "100070000015838/kim_kedopok"


T1 = dt.datetime(2022, 9, 25, 10, 0, tzinfo=WIB)
T2 = dt.datetime(2022, 10, 5, 10, 0, tzinfo=WIB)


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_the_latest_observation_wins_whatever_the_order(engine, config, write_path, order) -> None:
    """DESIGN 5: the metrics are those of the latest observation; every observation is a snapshot."""
    tz = config.campaign.tz
    run = start_run(engine, "test", None)
    old = rec("1", likes=10, text="old text #WeLoveProbolinggo", observed_at=T1)
    new = rec("1", likes=50, comments=None, text="new text #WeLoveProbolinggo", observed_at=T2)
    batches = [[old], [new]] if order == "old-first" else [[new], [old]]
    counts = [write_batch(engine, run, b, tz) for b in batches]
    with engine.connect() as conn:
        post = conn.execute(select(Post.likes, Post.comments, Post.text, Post.observed_at)).one()
        snaps = conn.execute(
            select(MetricSnapshot.observed_at, MetricSnapshot.likes).order_by(MetricSnapshot.observed_at)
        ).all()
    # The newer likes and text; its unknown comments filled in by the older observation's 1.
    assert post == (50, 1, "new text #WeLoveProbolinggo", T2.astimezone(dt.UTC))
    assert snaps == [(T1.astimezone(dt.UTC), 10), (T2.astimezone(dt.UTC), 50)]
    if order == "new-first":
        assert counts[1].older == 1 and counts[1].older_keys == {("facebook", "1")}
        write_batch(engine, run, [old], tz)  # the same old observation again: no second snapshot
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(MetricSnapshot)).scalar() == 2


def test_equal_times_and_batch_defaults(engine, config, write_path) -> None:
    tz = config.campaign.tz
    run = start_run(engine, "test", None)
    write_batch(engine, run, [rec("1", likes=1)], tz, observed=T1)
    write_batch(engine, run, [rec("1", likes=2)], tz, observed=T1)  # a tie: the later import wins
    stale = write_batch(engine, run, [rec("1", likes=3)], tz, observed=T1 - dt.timedelta(hours=1))
    assert stale.older == 1
    # In one batch, the later observation wins even when it comes first.
    write_batch(engine, run, [rec("2", likes=9, observed_at=T2), rec("2", likes=4, observed_at=T1)], tz)
    with engine.connect() as conn:
        assert dict(conn.execute(select(Post.post_key, Post.likes)).all()) == {"1": 2, "2": 9}
