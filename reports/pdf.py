"""summary.pdf: one A4 page for the head of the office, drawn with matplotlib (no browser).

The page: the title (what the report covers) and period, the filter, the headline numbers with
their change against the period before, posts per day, the top five posts, the roster's
participation when there is a roster, and the vote reminder of the last day. It prints cleanly in
black and white: black text, platforms told apart by grey and hatching (reports.palette), no
meaning carried by colour alone. Text is DejaVu Sans (bundled with matplotlib: every Latin letter
Indonesian uses) embedded with its Unicode names, so the PDF's text can be searched and copied; a character
the font lacks (an emoji, a rare script) is left out rather than drawn as a box.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import textwrap
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports import charts
from reports.files import atomic_write_bytes
from reports.labels import (
    format_day,
    format_number,
    format_percent,
    format_short_day,
    format_signed,
    labels_for,
)
from reports.palette import platform_name, platform_print, platform_sort_key
from reports.queries import ALL

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from reports.build import ReportData
    from reports.summary import Headline, HeadlineFigure

logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetter logs every table at INFO
A4_IN = (8.27, 11.69)
FONT = "DejaVu Sans"
LEFT, RIGHT = 0.07, 0.93
INK, MUTED = "#000000", "#444444"


@functools.cache
def _font_chars() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(font_manager.findfont(FONT)).get_charmap())


def printable(text: str) -> str:
    """`text` with only what the PDF font can draw: characters it lacks (emoji, rare scripts) and
    control or direction-override characters are left out; runs of spaces become one."""
    chars = _font_chars()
    kept = [
        ch
        for ch in str(text)
        if ord(ch) in chars and not unicodedata.category(ch).startswith("C") or ch == " "
    ]
    return " ".join("".join(kept).split())


def _pct(value: float | None, language: str) -> str:
    return "" if value is None else format_percent(value, language)


def figure_line(figure: HeadlineFigure, basis: str, language: str) -> str:
    """The change line under a headline number: '+12 (+5,0%) · sebelumnya 240'."""
    L = labels_for(language)
    if figure.value is None:
        return ""
    if figure.change is None or figure.previous is None:
        return L["no_previous"]
    text = f"{format_signed(figure.change, language)}"
    pct = _pct(figure.change_pct, language)
    if pct:
        text += f" ({pct})"
    text += f" · {L['previous_short']} {format_number(figure.previous, language)}"
    if basis == "last7" and figure.current is not None:
        text = f"{L['last7']}: {format_number(figure.current, language)}, " + text
    return text


def write_summary_pdf(
    path: Path, language: str, campaign_name: str, data: ReportData, headline: Headline, generated: str
) -> Path:
    """Draw the page and write it atomically to `path`."""
    import matplotlib

    with matplotlib.rc_context(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [FONT],
            # Type 3 glyphs with their Unicode names: text stays text (search, copy, pdftotext), and
            # no TrueType subsetting pass (fontTools), which costs seconds per page.
            "pdf.fonttype": 3,
            "text.parse_math": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "hatch.linewidth": 0.6,
        }
    ):
        fig = summary_figure(language, campaign_name, data, headline, generated)
        metadata = {"Title": printable(f"{headline.title}: {campaign_name}"), "Creator": "campaign-monitor"}
        buffer = io.BytesIO()  # drawn in memory: a full disk fails the write alone, cleanly
        fig.savefig(buffer, format="pdf", metadata=metadata)
        return atomic_write_bytes(path, buffer.getvalue())


def summary_figure(
    language: str, campaign_name: str, data: ReportData, headline: Headline, generated: str
) -> Figure:
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    L = labels_for(language)
    fig = Figure(figsize=A4_IN)
    FigureCanvasPdf(fig)
    y = 0.955
    title = printable(f"{headline.title}: {campaign_name}")
    for line in textwrap.wrap(title, 55, break_long_words=False):
        fig.text(LEFT, y, line, fontsize=16, fontweight="bold", color=INK, va="top")
        y -= 0.027
    fig.text(LEFT, y, f"{L['range']}: {headline.period}", fontsize=10.5, color=INK, va="top")
    y -= 0.02
    if headline.filter_text:
        fig.text(
            LEFT,
            y,
            printable(f"{L['filter']}: {headline.filter_text}"),
            fontsize=10.5,
            fontweight="bold",
            va="top",
        )
        y -= 0.02
    for note in headline.notes:
        for line in textwrap.wrap(note, 100):
            fig.text(LEFT, y, line, fontsize=9, color=MUTED, va="top", style="italic")
            y -= 0.016
    fig.text(LEFT, y, f"{L['generated']}: {generated}", fontsize=9, color=MUTED, va="top")
    y -= 0.03

    # The headline numbers: four boxes in a row, each with its change against the period before.
    width = (RIGHT - LEFT) / len(headline.figures)
    for i, figure in enumerate(headline.figures):
        x = LEFT + i * width
        fig.patches.append(_box(fig, x + 0.004, y - 0.1, width - 0.008, 0.1))
        fig.text(x + 0.012, y - 0.008, figure.label, fontsize=10, color=MUTED, va="top")
        value = "–" if figure.value is None else format_number(figure.value, language)
        fig.text(x + 0.012, y - 0.026, value, fontsize=19, fontweight="bold", va="top")
        change = figure_line(figure, headline.basis, language)
        for j, line in enumerate(textwrap.wrap(change or figure.note, 28)[:3]):
            fig.text(x + 0.012, y - 0.058 - j * 0.0135, line, fontsize=8, color=INK, va="top")
    y -= 0.112
    fig.text(
        LEFT, y, f"{L['change']}: {printable(headline.comparison_text)}", fontsize=8.5, color=MUTED, va="top"
    )
    views = headline.figure("views")
    if views.note:
        y -= 0.016
        fig.text(LEFT, y, f"{L['views']}: {views.note}", fontsize=8.5, color=MUTED, va="top")
    y -= 0.03

    # Posts per day, for paper.
    ax = fig.add_axes((LEFT + 0.05, y - 0.25, RIGHT - LEFT - 0.06, 0.22))
    _posts_chart(ax, data, language)
    fig.text(LEFT, y, L["chart_posts"], fontsize=12, fontweight="bold", va="top")
    y -= 0.315

    # The top five posts.
    fig.text(LEFT, y, L["pdf_top5"], fontsize=12, fontweight="bold", va="top")
    y -= 0.024
    top = data.top_posts.head(5)
    if top.empty:
        fig.text(LEFT, y, L["no_data"], fontsize=10, va="top")
        y -= 0.02
    for post in top.to_dict("records"):
        head = (
            f"{post['rank']}. {printable(post['author'])} · {platform_name(post['platform'])} · "
            f"{format_short_day(post['date'], language)} · {format_number(post['interactions'], language)} "
            f"{L['interactions'].lower()}"
        )
        fig.text(
            LEFT, y, textwrap.shorten(head, 95, placeholder="…"), fontsize=9.5, fontweight="bold", va="top"
        )
        text = printable(post["text"]) or "–"
        fig.text(
            LEFT + 0.02,
            y - 0.016,
            textwrap.shorten(text, 110, placeholder="…"),
            fontsize=8.5,
            color=MUTED,
            va="top",
        )
        y -= 0.038

    # Roster participation, when there is a roster.
    if data.roster is not None:
        y -= 0.008
        fig.text(LEFT, y, L["pdf_roster"], fontsize=12, fontweight="bold", va="top")
        y -= 0.022
        table = data.roster.table
        share = data.roster.share
        campaign_posts = int(share["campaign_posts"].sum())
        roster_posts = int(share["roster_posts"].sum())
        pct = 100 * roster_posts / campaign_posts if campaign_posts else 0.0
        line = (
            L["pdf_roster_line"]
            .replace("{active}", format_number(int((table["posts"] > 0).sum()), language))
            .replace("{members}", format_number(len(table), language))
            .replace("{today}", format_number(len(table) - len(data.roster.not_posted_today), language))
            .replace("{day}", format_day(data.roster.end, language, year=False))
            .replace("{share}", format_number(pct, language, decimals=0))
        )
        for part in textwrap.wrap(line, 105):
            fig.text(LEFT, y, part, fontsize=9.5, va="top")
            y -= 0.017
        board = data.roster.kecamatan.head(6)
        if not board.empty:
            shown = ", ".join(
                f"{printable(k['kecamatan'])} {format_number(k['active_pct'], language, decimals=0)}%"
                for k in board.to_dict("records")
            )
            fig.text(
                LEFT,
                y,
                textwrap.shorten(f"{L['roster_kecamatan_board']}: {shown}", 120, placeholder="…"),
                fontsize=9,
                color=MUTED,
                va="top",
            )
            y -= 0.017

    # The vote reminder of the last day.
    y -= 0.01
    fig.text(
        LEFT,
        y,
        L["pdf_reminder"].replace("{day}", format_day(headline.end, language)),
        fontsize=12,
        fontweight="bold",
        va="top",
    )
    y -= 0.022
    day_rows = data.reminders[data.reminders.date == headline.end].to_dict("records")
    if not day_rows:
        fig.text(LEFT, y, L["no_reminders"], fontsize=9.5, va="top")
    for r in day_rows:
        status = L.get(f"status_{r['status']}", r["status"])
        when = _local_time(r["sent_at"], data.scope.campaign.tz)
        fig.text(
            LEFT, y, f"{r['channel']}: {status}" + (f" ({when})" if when else ""), fontsize=9.5, va="top"
        )
        y -= 0.017

    for i, line in enumerate(textwrap.wrap(f"{L['footnote']} {L['pdf_footer']}", 135)):
        fig.text(LEFT, 0.045 - i * 0.013, line, fontsize=7, color=MUTED, va="top")
    return fig


def _local_time(value: Any, tz: dt.tzinfo) -> str:
    if value is None or value != value:
        return ""
    instant = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return instant.astimezone(tz).strftime("%H:%M")


def _box(fig: Figure, x: float, y: float, w: float, h: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(
        (x, y),
        w,
        h,
        transform=fig.transFigure,
        facecolor="white",
        edgecolor="#000000",
        linewidth=0.8,
        figure=fig,
    )


def _posts_chart(ax: Axes, data: ReportData, language: str) -> None:
    """Posts per day stacked by platform in greys and hatches, the 7-day average as a black line."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    L = labels_for(language)
    daily = data.daily
    totals = daily[daily.platform == ALL].set_index("date")["posts"]
    x = [d.toordinal() for d in totals.index]
    bottom = [0] * len(x)
    for platform in sorted(set(daily.platform) - {ALL}, key=platform_sort_key):
        heights = [
            int(v)
            for v in daily[daily.platform == platform]
            .set_index("date")["posts"]
            .reindex(totals.index)
            .fillna(0)
        ]
        fill, hatch = platform_print(platform)
        charts.bars(
            ax,
            x,
            heights,
            bottom,
            color=fill,
            edgecolor="#000000",
            linewidth=0.4,
            hatch=hatch,
            label=platform_name(platform),
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    average = totals.rolling(7, min_periods=7).mean()
    if average.notna().any():
        ax.plot(x, list(average), color="#000000", linewidth=1.6, linestyle="--", label=L["avg7"])
    days = list(totals.index)
    step = max(1, -(-len(days) // 8))
    ax.set_xticks(
        [d.toordinal() for d in days[::step]], [format_short_day(d, language) for d in days[::step]]
    )
    ax.set_xlim(x[0] - 0.7, x[-1] + 0.7) if x else None
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_number(v, language)))
    ax.tick_params(labelsize=8.5)
    ax.set_ylabel(L["posts"], fontsize=9)
    ax.grid(axis="y", color="#BBBBBB", linewidth=0.5)
    ax.set_axisbelow(True)
    if int(totals.sum()) == 0:
        ax.text(0.5, 0.5, L["no_data"], transform=ax.transAxes, ha="center", va="center", fontsize=12)
    else:
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=4)
