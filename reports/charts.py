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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.files import atomic_write
from reports.labels import format_number, format_short_day, labels_for
from reports.palette import platform_colour, platform_name, platform_short, platform_sort_key
from reports.queries import ALL, ReportScope

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

METRIC_COLOURS = {"likes": "#E69F00", "comments": "#56B4E9", "shares": "#009E73"}
TAG_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00"]
LINE_COLOUR = "#111111"
WINDOW_SHADE = "#F3EFE3"
REMINDER_COLOUR = "#009E73"
# A chart is drawn 5.6 inches wide, and every text in it is at least TEXT_PT points. On a 412 px phone
# the page shows a chart about 390 CSS px wide, so 1 inch of chart is 390 / 5.6 = 70 px and 17 pt
# text is 17 / 72 * 70 = 16.4 px: as large as the page's 16 px body text (the browser test measures
# it). The DPI only sets how sharp the PNG is, not how large its text looks.
WIDTH_IN, HEIGHT_IN, DPI = 5.6, 5.0, 120  # 672 x 600 px
TEXT_PT = 17
TITLE_PT = 19
MAX_DATE_TICKS = 4  # date labels on a day axis: 4 fit the width at TEXT_PT
MIN_TEXT_KEY = "MinTextPx"  # PNG text chunk: the smallest text in the image, in image pixels

STYLE: dict[str, Any] = {
    "font.size": TEXT_PT,
    "axes.titlesize": TITLE_PT,
    "axes.titleweight": "bold",
    "axes.labelsize": TEXT_PT,
    "xtick.labelsize": TEXT_PT,
    "ytick.labelsize": TEXT_PT,
    "legend.fontsize": TEXT_PT,
    "legend.handlelength": 1.2,
    "legend.columnspacing": 1.0,
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
    """Write the PNG; its text chunk MinTextPx holds the smallest text drawn, in image pixels, so the
    page can tell a browser test how large the chart's text is on screen."""
    metadata = {MIN_TEXT_KEY: f"{smallest_text_pt(fig) * DPI / 72:.1f}"}
    return atomic_write(
        path,
        lambda handle: fig.savefig(handle, format="png", dpi=DPI, facecolor="white", metadata=metadata),
    )


def smallest_text_pt(fig: Figure) -> float:
    """The font size (points) of the smallest visible, non-empty text of the figure."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return float(min(sizes, default=TEXT_PT))


def min_text_px(path: Path) -> float | None:
    """The MinTextPx a chart PNG carries (None for a PNG without it)."""
    data = path.read_bytes()[:4096]  # text chunks written by matplotlib come before the image data
    marker = MIN_TEXT_KEY.encode() + b"\0"
    at = data.find(marker)
    if at < 0:
        return None
    value = data[at + len(marker) : at + len(marker) + 12].split(b"\0")[0]
    digits = bytes(c for c in value if chr(c) in "0123456789.")
    return float(digits) if digits else None


def figure_title(fig: Figure, title: str) -> None:
    """The chart's title at the figure's left edge, in the axes title style: for charts whose long
    tick labels push the plot to the right, where a title over the plot would run off the image.
    A title too long for one line (about 32 characters at this size) wraps between words."""
    import textwrap

    fig.suptitle(
        "\n".join(textwrap.wrap(title, 32, break_long_words=False, break_on_hyphens=False)),
        x=0.01,
        ha="left",
        fontsize=STYLE["axes.titlesize"],
        fontweight=STYLE["axes.titleweight"],
    )


def no_data_chart(ctx: ChartContext, title: str, path: Path) -> Path:
    fig = new_figure()
    ax = fig.add_subplot()
    ax.set_title(title, loc="left")
    ax.text(0.5, 0.5, ctx.labels["no_data"], ha="center", va="center", fontsize=TITLE_PT, color="#555555")
    ax.set_axis_off()
    return save_figure(fig, path)


def day_x(days: list[dt.date]) -> list[int]:
    return [day.toordinal() for day in days]


def day_axis(
    ax: Axes,
    ctx: ChartContext,
    marks: bool = True,
    dates_on_top: bool = False,
    max_ticks: int = MAX_DATE_TICKS,
) -> None:
    """Local dates below, campaign day numbers above; with `marks`, the window shaded and the
    reminder days marked (a heatmap, which fills the plot, goes without them). `dates_on_top` repeats
    the dates under the day numbers above the plot, for a chart too tall to read its foot from the top."""
    scope, labels = ctx.scope, ctx.labels
    days = scope.days()
    first, last = days[0].toordinal(), days[-1].toordinal()
    ax.set_xlim(first - 0.7, last + 0.7)
    outside = days[0] < scope.campaign.start or days[-1] > scope.campaign.end
    if marks and outside:  # a report range is cut to the window, so this is rare: no key needed
        ax.axvspan(
            scope.campaign.start.toordinal() - 0.5,
            scope.campaign.end.toordinal() + 0.5,
            color=WINDOW_SHADE,
            zorder=0,
            label=labels["campaign_window"],
        )
    step = max(1, -(-len(days) // max_ticks))  # a few large labels: readable at phone width
    ticks = days[::step]
    ax.set_xticks(day_x(ticks), [format_short_day(day, ctx.language) for day in ticks])
    # Campaign day = ordinal - (start ordinal - 1): a linear map, so a secondary axis can show it.
    offset = scope.campaign.start.toordinal() - 1

    def to_day(x: Any) -> Any:
        return x - offset

    def to_ordinal(day: Any) -> Any:
        return day + offset

    top = ax.secondary_xaxis("top", functions=(to_day, to_ordinal))
    # "H12" / "D12": the prefix names the campaign day, so no axis title is needed above the plot.
    top_labels = [f"{labels['day_short']}{scope.campaign_day(day)}" for day in ticks]
    if dates_on_top:
        top_labels = [
            f"{n}\n{format_short_day(day, ctx.language)}" for n, day in zip(top_labels, ticks, strict=True)
        ]
    top.set_xticks([scope.campaign_day(day) for day in ticks], top_labels)
    top.tick_params(labelsize=TEXT_PT, colors="#444444")
    sent = sorted(day for day in ctx.reminder_days if days[0] <= day <= days[-1])
    if sent and marks:
        ax.scatter(
            day_x(sent),
            [0.0] * len(sent),
            marker="^",
            s=70,
            color=REMINDER_COLOUR,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=5,
            label=labels["reminder_sent"],
        )


def bars(
    ax: Axes,
    x: Sequence[float],
    heights: Sequence[float],
    bottom: Sequence[float] | None = None,
    width: float = 0.8,
    **style: Any,
) -> Any:
    """Vertical bars as ax.bar draws them (centred on x, from `bottom`, the value axis starting at the
    lowest bottom), as one PolyCollection: one artist instead of a Rectangle per bar, which over the
    200 bars of a stacked day chart takes a fifth of the time to make and half to draw. `style`:
    color, edgecolor, linewidth, hatch, label."""
    from matplotlib.collections import PolyCollection

    lows = list(bottom) if bottom is not None else [0.0] * len(x)
    half = width / 2
    verts = [
        [(left - half, low), (left - half, low + h), (left + half, low + h), (left + half, low)]
        for left, h, low in zip(x, heights, lows, strict=True)
    ]
    collection = PolyCollection(
        verts,
        facecolors=style.pop("color"),
        edgecolors=style.pop("edgecolor", "none"),
        linewidths=style.pop("linewidth", 0),
        **style,
    )
    collection.sticky_edges.y.append(min(lows, default=0.0))
    ax.add_collection(collection)
    return collection


def thousands_axis(ax: Axes, ctx: ChartContext, axis: str = "y", compact: bool = False) -> None:
    """A count axis: whole-number ticks only (a day with 1 post must not read 0 0 0 1 1 1), written
    with the language's thousands separator; `compact` writes 10,000 and more as 180rb / 180k (a
    second axis on the right must not squeeze the plot)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(nbins=4, integer=True))

    def label(value: float, _pos: Any) -> str:
        if compact and abs(value) >= 10_000:
            suffix = "rb" if ctx.language == "id" else "k"
            return format_number(value / 1000, ctx.language) + suffix
        return format_number(value, ctx.language)

    target.set_major_formatter(FuncFormatter(label))


def legend_below(fig: Figure, ctx: ChartContext, *axes: Axes) -> None:
    """One legend under the plot with the data series, in as many columns as fit the width at the
    charts' text size. The window and reminder marks are explained in the page's caption instead
    (real text, and a legend row less on a phone)."""
    pairs: list[tuple[Any, str]] = []
    for ax in axes:
        pairs += zip(*ax.get_legend_handles_labels(), strict=True)
    context_keys = {ctx.labels["campaign_window"], ctx.labels["reminder_sent"]}
    pairs = [pair for pair in pairs if pair[1] not in context_keys]
    if not pairs:
        return
    handles, names = [h for h, _ in pairs], [n for _, n in pairs]
    fig.legend(handles, names, loc="outside lower center", ncol=legend_columns(names), frameon=False)


def legend_columns(names: list[str]) -> int:
    """The most legend columns whose labels fit the chart's width (an estimate from the label
    lengths: about 0.6 em a character, plus the key and the gap)."""
    for ncol in range(len(names), 1, -1):
        rows = -(-len(names) // ncol)
        columns = [names[i * rows : (i + 1) * rows] for i in range(ncol)]
        ems = sum(0.6 * max((len(n) for n in col), default=0) + 2.6 for col in columns if col)
        if ems * TEXT_PT / 72 <= WIDTH_IN * 0.95:
            return ncol
    return 1


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
        for platform in sorted(set(daily.platform) - {ALL}, key=platform_sort_key):
            values = daily[daily.platform == platform].set_index("date")["posts"].reindex(totals.index)
            heights = [int(v) for v in values.fillna(0)]
            bars(ax, x, heights, bottom, color=platform_colour(platform), label=platform_name(platform))
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        # A 7-day average needs 7 days: the line starts on the 7th day of the range, not on day 1.
        average = totals.rolling(7, min_periods=7).mean()
        if average.notna().any():
            ax.plot(x, list(average), color=LINE_COLOUR, linewidth=2.4, label=ctx.labels["avg7"])
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
            bars(ax, x, heights, bottom, color=colour, label=ctx.labels[metric])
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
        thousands_axis(right, ctx, compact=True)
        thousands_axis(ax, ctx, compact=True)
        day_axis(ax, ctx, max_ticks=3)  # two count axes leave a narrower plot
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
            bars(ax, x, list(rows["posts"]), width=width, color=colour, label=f"#{name}")
        ax.set_ylabel(ctx.labels["posts"])
        thousands_axis(ax, ctx)
        axes = [ax]
        if len(names) > 1:
            right = ax.twinx()
            # No campaign post that day: no share (a gap in the line, not a line drawn across it).
            share = [
                100 * s if n else float("nan")
                for s, n in zip(all_tags["share"], all_tags["posts"], strict=True)
            ]
            right.plot(
                day_x(list(all_tags["date"])),
                share,
                color=LINE_COLOUR,
                lw=2,
                marker="o",
                ms=4,
                label=ctx.labels["all_tags_share"],
            )
            right.set_ylim(0, 105)
            right.grid(False)
            right.spines["right"].set_visible(True)
            right.set_ylabel("%")
            axes.append(right)
        day_axis(ax, ctx, max_ticks=3)
        legend_below(fig, ctx, *axes)
        return save_figure(fig, path)


def top_accounts(ctx: ChartContext, accounts: pd.DataFrame, path: Path) -> Path:
    """Horizontal bars: the accounts whose campaign posts drew the most interactions."""
    title = ctx.labels["chart_accounts"]
    with chart_style():
        if accounts.empty or accounts["interactions"].sum() == 0:
            return no_data_chart(ctx, title, path)
        rows = accounts.head(TOP_ACCOUNTS_SHOWN)
        fig = new_figure(height=max(3.6, 0.5 * len(rows) + 2.2))
        ax = fig.add_subplot()
        figure_title(fig, title)
        names = account_labels(rows)
        y = list(range(len(rows)))
        colours = [platform_colour(p) for p in rows["platform"]]
        ax.barh(y, list(rows["interactions"]), color=colours, height=0.7)
        ax.set_yticks(y, names)
        ax.invert_yaxis()  # the biggest on top
        ax.grid(axis="x")
        ax.grid(axis="y", visible=False)
        thousands_axis(ax, ctx, axis="x")
        from matplotlib.ticker import MaxNLocator

        # Three ticks at most: large numbers with separators must not run into each other.
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True, min_n_ticks=2))
        peak = float(rows["interactions"].max())
        for yi, value in zip(y, rows["interactions"], strict=True):
            ax.text(value + peak * 0.02, yi, format_number(value, ctx.language), va="center")
        ax.set_xlim(0, peak * 1.45)  # room for the value labels
        ax.set_xlabel(ctx.labels["interactions"])
        from matplotlib.patches import Patch

        shown = sorted(dict.fromkeys(rows["platform"]), key=platform_sort_key)
        handles = [Patch(color=platform_colour(p), label=platform_name(p)) for p in shown]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), frameon=False)
        return save_figure(fig, path)


TOP_ACCOUNTS_SHOWN = 10  # bars on the top-accounts chart (the table below it has 15)
NAME_CHARS = 16  # an account name on a chart, at TEXT_PT, before it is shortened with '…'


def account_labels(rows: pd.DataFrame) -> list[str]:
    """Chart names of accounts: shortened at NAME_CHARS; when two rows would read the same (one
    name on two platforms, or two long names cut alike), each gets its platform, so they are told
    apart without colour."""
    names = [shorten(str(a), NAME_CHARS) for a in rows["author"]]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    labels = []
    for name, author, platform in zip(names, rows["author"], rows["platform"], strict=True):
        if counts[name] > 1:
            suffix = f" · {platform_short(platform)}"
            name = shorten(str(author), NAME_CHARS + 2 - len(suffix)) + suffix
        labels.append(name)
    return labels


def posting_times(ctx: ChartContext, grid: pd.DataFrame, path: Path) -> Path:
    """A weekday x local hour heatmap of campaign posts: when the community posts."""
    title = ctx.labels["chart_times"]
    with chart_style():
        if int(grid.to_numpy().sum()) == 0:
            return no_data_chart(ctx, title, path)
        fig = new_figure(height=4.4)
        ax = fig.add_subplot()
        ax.set_title(title, loc="left")
        image = ax.imshow(grid.to_numpy(), aspect="auto", cmap="YlGnBu", interpolation="nearest")
        ax.set_yticks(range(7), ctx.labels["weekdays"].split())
        ax.set_xticks(range(0, 24, 6), [f"{h:02d}" for h in range(0, 24, 6)])
        ax.set_xlabel(ctx.labels["hour"])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.set_label(ctx.labels["posts"])
        integer_colour_bar(bar, ctx)
        return save_figure(fig, path)


def integer_colour_bar(bar: Any, ctx: ChartContext) -> None:
    """Whole-number ticks on a colour bar of counts (never 0.5 posts)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    bar.locator = MaxNLocator(integer=True, nbins=4)
    bar.formatter = FuncFormatter(lambda value, _pos: format_number(value, ctx.language))
    bar.update_ticks()


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
