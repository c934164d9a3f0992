"""The report's PNG charts: matplotlib Figure objects on the Agg canvas (no pyplot global state).

Every chart reads on a phone and on paper: large type, few colours, one colour per platform across
all charts (Okabe-Ito, safe for colour-blind readers), local dates below the axis and campaign day
numbers above it, the campaign window shaded, and the days a vote reminder went out marked with a
small triangle at the foot of the axis. Without data a chart still draws, saying so.
Files are written under a temporary name and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.files import atomic_write
from reports.labels import format_number, format_short_day, labels_for
from reports.queries import ALL, ReportScope

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLATFORM_COLOURS = {
    "facebook": "#0072B2",
    "instagram": "#CC79A7",
    "twitter": "#3A3A3A",
    "tiktok": "#D55E00",
    "threads": "#009E73",
}
OTHER_COLOUR = "#999999"
METRIC_COLOURS = {"likes": "#E69F00", "comments": "#56B4E9", "shares": "#009E73"}
TAG_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00"]
LINE_COLOUR = "#111111"
WINDOW_SHADE = "#F3EFE3"
REMINDER_COLOUR = "#009E73"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 110  # 880 x 550 px: large type when a phone shrinks it; fits A4

STYLE: dict[str, Any] = {
    "font.size": 14,
    "axes.titlesize": 17,
    "axes.titleweight": "bold",
    "axes.labelsize": 14,
    "xtick.labelsize": 13,
    "ytick.labelsize": 13,
    "legend.fontsize": 13,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.8,
    "text.parse_math": False,  # a '$' in an account name is text, not TeX
    "svg.fonttype": "none",
}


@dataclass(frozen=True)
class ChartContext:
    """What every chart needs: the scope, the language, and the days a reminder was sent."""

    scope: ReportScope
    language: str
    reminder_days: frozenset[dt.date] = field(default_factory=frozenset)

    @property
    def labels(self) -> dict[str, str]:
        return labels_for(self.language)


def platform_colour(platform: str) -> str:
    return PLATFORM_COLOURS.get(platform, OTHER_COLOUR)


# ---------------------------------------------------------------------------------------------------------
# Shared drawing (also used by the roster charts in reports/roster.py)


@contextmanager
def chart_style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(STYLE), warnings.catch_warnings():  # type: ignore[arg-type]
        # Emoji and rare scripts in account names are drawn as boxes; that is fine, not worth a warning.
        warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        yield


def new_figure(height: float = HEIGHT_IN) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    return atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=DPI, facecolor="white"))


def figure_title(fig: Figure, title: str) -> None:
    """The chart's title at the figure's left edge, in the axes title style: for charts whose long
    tick labels push the plot to the right, where a title over the plot would run off the image.
    A title too long for one line (about 48 characters at this size) wraps."""
    import textwrap

    fig.suptitle(
        "\n".join(textwrap.wrap(title, 48)),
        x=0.01,
        ha="left",
        fontsize=STYLE["axes.titlesize"],
        fontweight=STYLE["axes.titleweight"],
    )


def no_data_chart(ctx: ChartContext, title: str, path: Path) -> Path:
    fig = new_figure()
    ax = fig.add_subplot()
    ax.set_title(title, loc="left")
    ax.text(0.5, 0.5, ctx.labels["no_data"], ha="center", va="center", fontsize=20, color="#777777")
    ax.set_axis_off()
    return save_figure(fig, path)


def day_x(days: list[dt.date]) -> list[int]:
    return [day.toordinal() for day in days]


def day_axis(ax: Axes, ctx: ChartContext, marks: bool = True, dates_on_top: bool = False) -> None:
    """Local dates below, campaign day numbers above; with `marks`, the window shaded and the
    reminder days marked (a heatmap, which fills the plot, goes without them). `dates_on_top` repeats
    the dates under the day numbers above the plot, for a chart too tall to read its foot from the top."""
    scope, labels = ctx.scope, ctx.labels
    days = scope.days()
    first, last = days[0].toordinal(), days[-1].toordinal()
    ax.set_xlim(first - 0.7, last + 0.7)
    if marks:
        ax.axvspan(
            scope.campaign.start.toordinal() - 0.5,
            scope.campaign.end.toordinal() + 0.5,
            color=WINDOW_SHADE,
            zorder=0,
            label=labels["campaign_window"],
        )
    step = max(1, -(-len(days) // 7))  # at most about 7 labels: readable at phone width
    ticks = days[::step]
    ax.set_xticks(day_x(ticks), [format_short_day(day, ctx.language) for day in ticks])
    # Campaign day = ordinal - (start ordinal - 1): a linear map, so a secondary axis can show it.
    offset = scope.campaign.start.toordinal() - 1

    def to_day(x: Any) -> Any:
        return x - offset

    def to_ordinal(day: Any) -> Any:
        return day + offset

    top = ax.secondary_xaxis("top", functions=(to_day, to_ordinal))
    top_labels = [str(scope.campaign_day(day)) for day in ticks]
    if dates_on_top:
        top_labels = [
            f"{n}\n{format_short_day(day, ctx.language)}" for n, day in zip(top_labels, ticks, strict=True)
        ]
    top.set_xticks([scope.campaign_day(day) for day in ticks], top_labels)
    top.set_xlabel(labels["campaign_day"], fontsize=12.5, color="#555555")
    top.tick_params(labelsize=12, colors="#555555")
    sent = sorted(day for day in ctx.reminder_days if days[0] <= day <= days[-1])
    if sent and marks:
        ax.scatter(
            day_x(sent),
            [0.0] * len(sent),
            marker="^",
            s=38,
            color=REMINDER_COLOUR,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=5,
            label=labels["reminder_sent"],
        )


def thousands_axis(ax: Axes, ctx: ChartContext, axis: str = "y") -> None:
    """A count axis: whole-number ticks only (a day with 1 post must not read 0 0 0 1 1 1), written
    with the language's thousands separator."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(FuncFormatter(lambda value, _pos: format_number(value, ctx.language)))


def legend_below(fig: Figure, ctx: ChartContext, *axes: Axes) -> None:
    """One legend under the plot: the data series first, then the window and reminder keys."""
    pairs: list[tuple[Any, str]] = []
    for ax in axes:
        pairs += zip(*ax.get_legend_handles_labels(), strict=True)
    context_keys = {ctx.labels["campaign_window"], ctx.labels["reminder_sent"]}
    pairs.sort(key=lambda pair: pair[1] in context_keys)  # stable: keeps the drawing order otherwise
    handles, names = [h for h, _ in pairs], [n for _, n in pairs]
    ncol = 3 if max(len(n) for n in names) <= 18 else 2  # long labels: two columns fit a narrow chart
    fig.legend(handles, names, loc="outside lower center", ncol=min(ncol, len(names)), frameon=False)


# ---------------------------------------------------------------------------------------------------------
# The charts


def posts_per_day(ctx: ChartContext, daily: pd.DataFrame, path: Path) -> Path:
    """Campaign posts per day stacked by platform, with the 7-day average of all posts as a line."""
    title = ctx.labels["chart_posts"]
    with chart_style():
        totals = daily[daily.platform == ALL].set_index("date")["posts"]
        if totals.sum() == 0:
            return no_data_chart(ctx, title, path)
        fig = new_figure()
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        x = day_x(list(totals.index))
        bottom = [0] * len(x)
        for platform in sorted(set(daily.platform) - {ALL}):
            values = daily[daily.platform == platform].set_index("date")["posts"].reindex(totals.index)
            heights = [int(v) for v in values.fillna(0)]
            ax.bar(x, heights, bottom=bottom, width=0.8, color=platform_colour(platform), label=platform)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        average = totals.rolling(7, min_periods=1).mean()
        ax.plot(x, list(average), color=LINE_COLOUR, linewidth=2.2, label=ctx.labels["avg7"])
        ax.set_ylabel(ctx.labels["posts"])
        thousands_axis(ax, ctx)
        day_axis(ax, ctx)
        legend_below(fig, ctx, ax)
        return save_figure(fig, path)


def interactions_per_day(ctx: ChartContext, daily: pd.DataFrame, path: Path) -> Path:
    """Likes, comments and shares per day stacked, and the running total on a second axis."""
    title = ctx.labels["chart_interactions"]
    with chart_style():
        totals = daily[daily.platform == ALL].set_index("date")
        if totals["interactions"].sum() == 0:
            return no_data_chart(ctx, title, path)
        fig = new_figure()
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        x = day_x(list(totals.index))
        bottom = [0] * len(x)
        for metric, colour in METRIC_COLOURS.items():
            heights = [int(v) for v in totals[metric]]
            ax.bar(x, heights, bottom=bottom, width=0.8, color=colour, label=ctx.labels[metric])
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_ylabel(ctx.labels["interactions"])
        thousands_axis(ax, ctx)
        right = ax.twinx()
        right.plot(
            x,
            list(totals["interactions"].cumsum()),
            color=LINE_COLOUR,
            lw=2.2,
            label=ctx.labels["cumulative"],
        )
        right.set_ylim(bottom=0)
        right.grid(False)
        right.spines["right"].set_visible(True)
        right.set_ylabel(ctx.labels["cumulative"])
        thousands_axis(right, ctx)
        day_axis(ax, ctx)
        legend_below(fig, ctx, ax, right)
        return save_figure(fig, path)


def hashtags(ctx: ChartContext, tags: pd.DataFrame, all_tags: pd.DataFrame, path: Path) -> Path:
    """Posts per day for each tracked tag side by side, and the share of posts carrying every tag."""
    title = ctx.labels["chart_hashtags"]
    with chart_style():
        if tags["posts"].sum() == 0:
            return no_data_chart(ctx, title, path)
        fig = new_figure()
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        names = list(dict.fromkeys(tags["hashtag"]))
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            rows = tags[tags.hashtag == name]
            x = [d.toordinal() - 0.4 + width * (i + 0.5) for d in rows["date"]]
            colour = TAG_COLOURS[i % len(TAG_COLOURS)]
            ax.bar(x, list(rows["posts"]), width=width, color=colour, label=f"#{name}")
        ax.set_ylabel(ctx.labels["posts"])
        thousands_axis(ax, ctx)
        axes = [ax]
        if len(names) > 1:
            right = ax.twinx()
            with_posts = all_tags[all_tags.posts > 0]
            right.plot(
                day_x(list(with_posts["date"])),
                [100 * s for s in with_posts["share"]],
                color=LINE_COLOUR,
                lw=2,
                marker="o",
                ms=3.5,
                label=ctx.labels["all_tags_share"],
            )
            right.set_ylim(0, 105)
            right.grid(False)
            right.spines["right"].set_visible(True)
            right.set_ylabel("%")
            axes.append(right)
        day_axis(ax, ctx)
        legend_below(fig, ctx, *axes)
        return save_figure(fig, path)


def top_accounts(ctx: ChartContext, accounts: pd.DataFrame, path: Path) -> Path:
    """Horizontal bars: the accounts whose campaign posts drew the most interactions."""
    title = ctx.labels["chart_accounts"]
    with chart_style():
        if accounts.empty or accounts["interactions"].sum() == 0:
            return no_data_chart(ctx, title, path)
        rows = accounts.head(15)
        fig = new_figure(height=max(3.4, 0.45 * len(rows) + 1.8))
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        names = [shorten(str(a), 22) for a in rows["author"]]
        y = list(range(len(rows)))
        colours = [platform_colour(p) for p in rows["platform"]]
        ax.barh(y, list(rows["interactions"]), color=colours, height=0.7)
        ax.set_yticks(y, names)
        ax.invert_yaxis()  # the biggest on top
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        thousands_axis(ax, ctx, axis="x")
        peak = float(rows["interactions"].max())
        for yi, value in zip(y, rows["interactions"], strict=True):
            ax.text(value + peak * 0.01, yi, format_number(value, ctx.language), va="center", fontsize=12)
        ax.set_xlim(0, peak * 1.18)
        ax.set_xlabel(ctx.labels["interactions"])
        from matplotlib.patches import Patch

        shown = list(dict.fromkeys(rows["platform"]))
        handles = [Patch(color=platform_colour(p), label=p) for p in shown]
        ax.legend(handles=handles, loc="lower right", frameon=False)
        return save_figure(fig, path)


def posting_times(ctx: ChartContext, grid: pd.DataFrame, path: Path) -> Path:
    """A weekday x local hour heatmap of campaign posts: when the community posts."""
    title = ctx.labels["chart_times"]
    with chart_style():
        if int(grid.to_numpy().sum()) == 0:
            return no_data_chart(ctx, title, path)
        fig = new_figure(height=4.6)
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        image = ax.imshow(grid.to_numpy(), aspect="auto", cmap="YlGnBu", interpolation="nearest")
        ax.set_yticks(range(7), ctx.labels["weekdays"].split())
        ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
        ax.set_xlabel(ctx.labels["hour"])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.set_label(ctx.labels["posts"])
        return save_figure(fig, path)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
