"""Share of voice: the campaign's city against the [[peers]] cities, per day (docs/peers.md).

A city's posts: for the campaign's city, its campaign posts exactly as the rest of the report counts
them (so the numbers agree); for a peer, the posts carrying one of the peer's hashtags, inside the
window and the range, not reposts. Per city and day: posts, interactions, active accounts (a
(platform, account) pair), and the city's share of all the cities' posts and interactions that day.

How complete a city's data is depends on what was imported for it: the sources (export formats, API
collectors) and platforms its posts came from are listed, and a city seen through one source only is
labelled so, because its share then says as much about what was collected as about the city.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Engine, and_, func, select

from monitor.config import Config
from monitor.models import Post, PostHashtag
from reports.queries import ReportScope, _as_date, _author_key, _interactions, _rows, campaign_filter

if TYPE_CHECKING:
    import pandas as pd

    from reports.charts import ChartContext

COLUMNS = ["date", "city", "posts", "interactions", "accounts", "posts_share", "interactions_share"]


@dataclass(frozen=True)
class CityTotals:
    city: str
    home: bool
    posts: int
    interactions: int
    accounts: int
    posts_share: float  # 0..1 of all cities' posts in the range
    interactions_share: float
    sources: list[str]
    platforms: list[str]
    missing_platforms: list[str]  # platforms the home city has posts on and this city has none

    @property
    def one_source(self) -> bool:
        return len(self.sources) == 1


@dataclass(frozen=True)
class ShareOfVoice:
    daily: pd.DataFrame  # COLUMNS, one row per day and city (zeros included)
    cities: list[CityTotals]  # the home city first, then the peers in config order


def _peer_filter(scope: ReportScope, tags: frozenset[str]) -> ColumnElement[bool]:
    carrying = select(PostHashtag.post_id).where(PostHashtag.tag.in_(sorted(tags)))
    return and_(
        Post.local_date >= scope.first,
        Post.local_date <= scope.last,
        Post.is_repost.is_(False),
        Post.id.in_(carrying),
    )


def share_of_voice(engine: Engine, config: Config, scope: ReportScope) -> ShareOfVoice | None:
    """The section's numbers, or None without [[peers]]."""
    import pandas as pd

    if not config.peers:
        return None
    home = config.campaign.city or config.campaign.name
    cities: list[tuple[str, bool, ColumnElement[bool]]] = [(home, True, campaign_filter(scope))]
    cities += [(peer.name, False, _peer_filter(scope, peer.tracked_hashtags)) for peer in config.peers]
    records: list[tuple[Any, ...]] = []
    totals: list[dict[str, Any]] = []
    for name, is_home, where in cities:
        per_day = _rows(
            engine,
            select(
                Post.local_date,
                Post.platform,
                func.count(),
                func.sum(_interactions()),
                func.count(func.distinct(_author_key())),
            )
            .where(where)
            .group_by(Post.local_date, Post.platform),
        )
        by_day: dict[dt.date, list[int]] = {}
        for day, _platform, posts, inter, accounts in per_day:
            entry = by_day.setdefault(_as_date(day), [0, 0, 0])
            entry[0] += int(posts)
            entry[1] += int(inter or 0)
            entry[2] += int(accounts)  # accounts are (platform, account): the platforms add up
        for day in scope.days():
            posts, inter, accounts = by_day.get(day, [0, 0, 0])
            records.append((day, name, posts, inter, accounts))
        range_accounts = _rows(
            engine,
            select(Post.platform, func.count(func.distinct(_author_key())))
            .where(where)
            .group_by(Post.platform),
        )
        sources = _rows(engine, select(Post.source).where(where).group_by(Post.source).order_by(Post.source))
        totals.append(
            {
                "city": name,
                "home": is_home,
                "posts": sum(v[0] for v in by_day.values()),
                "interactions": sum(v[1] for v in by_day.values()),
                "accounts": sum(int(n) for _, n in range_accounts),
                "sources": [s for (s,) in sources],
                "platforms": sorted(p for p, _ in range_accounts),
            }
        )
    daily = pd.DataFrame.from_records(records, columns=COLUMNS[:5])
    for metric in ("posts", "interactions"):
        day_sum = daily.groupby("date")[metric].transform("sum")
        daily[f"{metric}_share"] = (daily[metric] / day_sum.where(day_sum > 0)).fillna(0.0).round(4)
    all_posts = sum(t["posts"] for t in totals)
    all_inter = sum(t["interactions"] for t in totals)
    home_platforms = set(totals[0]["platforms"])
    city_totals = [
        CityTotals(
            **t,
            posts_share=t["posts"] / all_posts if all_posts else 0.0,
            interactions_share=t["interactions"] / all_inter if all_inter else 0.0,
            missing_platforms=sorted(home_platforms - set(t["platforms"])) if not t["home"] else [],
        )
        for t in totals
    ]
    return ShareOfVoice(daily=daily[COLUMNS], cities=city_totals)


def completeness_label(city: CityTotals, labels: dict[str, str]) -> str:
    """How complete a city's data is, in words."""
    if city.posts == 0:
        return labels["sov_no_posts"]
    if city.one_source:
        text = labels["sov_one_source"].replace("{source}", city.sources[0])
    else:
        text = labels["sov_sources"].replace("{n}", str(len(city.sources)))
    if city.missing_platforms:
        text += "; " + labels["sov_missing_platforms"].replace(
            "{platforms}", ", ".join(city.missing_platforms)
        )
    return text


def chart(ctx: ChartContext, sov: ShareOfVoice, path: Path, title: str, share_label: str) -> Path:
    """Each city's share of the day's posts, stacked to 100% per day."""
    from reports import charts

    with charts.chart_style():
        daily = sov.daily
        if daily["posts"].sum() == 0:
            return charts.no_data_chart(ctx, title, path)
        fig = charts.new_figure()
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        days = ctx.scope.days()
        x = charts.day_x(days)
        bottom = [0.0] * len(x)
        for i, city in enumerate(sov.cities):
            values = daily[daily.city == city.city].set_index("date")["posts_share"].reindex(days).fillna(0.0)
            heights = [float(v) * 100 for v in values]
            colour = charts.TAG_COLOURS[i % len(charts.TAG_COLOURS)]
            charts.bars(ax, x, heights, bottom, color=colour, label=city.city)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_ylim(0, 100)
        ax.set_ylabel(share_label)
        charts.day_axis(ax, ctx)
        charts.legend_below(fig, ctx, ax)
        return charts.save_figure(fig, path)
