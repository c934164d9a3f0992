"""index.html in a real headless Chromium: every chart loads, no console errors, nothing leaves
file://, the headline numbers are on screen, and hostile post text stays text."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from monitor.campaign import CampaignCalendar, fixed_clock
from monitor.config import Config
from monitor.records import PostRecord, collect_hashtags
from monitor.store import start_run, write_batch
from reports.build import build_report
from reports.labels import format_number
from reports.queries import ReportScope, range_totals
from reports.synthetic import add_sent_reminders, load_synthetic

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WIB = dt.timezone(dt.timedelta(hours=7))

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}: install the Debian chromium package"
)


def hostile_post() -> PostRecord:
    text = (
        '#WeLoveProbolinggo <script>window.__pwned = 1</script><img src="https://evil.example/x.png" '
        'onerror="window.__pwned = 2"> <a href="javascript:window.__pwned=3">klik</a>'
    )
    return PostRecord(
        platform="facebook",
        post_key="hostile",
        created_at=dt.datetime(2022, 10, 10, 9, 0, tzinfo=WIB),
        source="test",
        text=text,
        url="javascript:window.__pwned=4",
        author_handle='"><img src=x onerror=alert(1)>',
        likes=100_000,  # the top post, so it is on the page
        hashtags=collect_hashtags(text),
    )


def write_roster(path: Path) -> None:
    """Members whose accounts are synthetic authors, with long names as real rosters have."""
    kecamatan = ["mayangan", "kanigaran", "kademangan", "wonoasih", "kedopok"]
    lines = ["name,group,kelurahan,kecamatan,facebook,instagram,twitter"]
    for i in range(12):
        handle = f"kim_{kecamatan[i % 5]}_{i}"
        name = f"Ketua KIM Kelurahan Dengan Nama Panjang Sekali {i}"
        lines.append(
            f"{name},KIM {kecamatan[i % 5].title()},Kelurahan,{kecamatan[i % 5].title()},,{handle},{handle}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def right_edges(page: Any, row: str) -> list[float]:
    """The right edge (px from the viewport's left) of each cell of the first row matching `row`."""
    return list(page.eval_on_selector(row, "tr => [...tr.cells].map(c => c.getBoundingClientRect().right)"))


def test_report_in_chromium(config: Config, engine: Engine, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    write_roster(config.roster.path)
    load_synthetic(engine, config.campaign, 1500)
    add_sent_reminders(engine, config.campaign, dt.date(2022, 10, 20))
    write_batch(engine, start_run(engine, "test", None), [hostile_post()], config.campaign.tz)
    calendar = CampaignCalendar(config.campaign, fixed_clock(dt.datetime(2022, 10, 20, 23, 30, tzinfo=WIB)))
    result = build_report(config, engine, tmp_path / "report", calendar=calendar)
    totals = range_totals(engine, ReportScope(config.campaign, result.start, result.end))
    assert totals["posts"] > 500  # the range stops at 20 Oct

    console_errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 412, "height": 915}, device_scale_factor=1)  # a phone
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(str(e)))

            def record(route: object, request: object) -> None:
                requests.append(request.url)  # type: ignore[attr-defined]
                if request.url.startswith("file://"):  # type: ignore[attr-defined]
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", record)
            page.goto(result.index.as_uri(), wait_until="load")

            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
            )
            assert sorted(src for src, _, _ in images) == sorted(
                [
                    "posts_per_day.png",
                    "interactions_per_day.png",
                    "hashtags.png",
                    "top_accounts.png",
                    "posting_times.png",
                    "roster_heatmap.png",
                    "roster_share.png",
                    "reminder_effect.png",  # the scoreboard: no vote readings, no peers in this config
                ]
            )
            assert all(done and width > 0 for _, done, width in images), images

            shown = page.inner_text("#total-posts .value")
            assert shown == format_number(totals["posts"], "id")
            assert page.inner_text("#total-interactions .value") == format_number(
                totals["interactions"], "id"
            )
            assert page.is_visible("#total-posts") and page.is_visible("#last-posts")
            assert page.inner_text("#days-left .value") == "11"

            # The hostile post is shown as text and ran nothing.
            assert page.evaluate("window.__pwned") is None
            assert "<script>window.__pwned = 1</script>" in page.inner_text("#top-posts")
            links = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
            assert links and all(href.startswith(("https://", "file://")) for href in links)

            # On a phone the numbers come first: rank, account, interactions and the link of a top post,
            # and a member's name, posts and interactions, are on screen without scrolling sideways.
            width = 412
            assert max(right_edges(page, "#top-posts tbody tr")[:4]) <= width
            assert max(right_edges(page, "#roster-members-table + .scroll tbody tr")[:3]) <= width
            assert max(right_edges(page, "#roster-not-posted + .scroll tbody tr")[:2]) <= width
            # Every chart's smallest text, as drawn on this 412 px screen, is at least the body text
            # size: the PNG says how many image pixels its smallest text is (data-text-px), the
            # browser says how wide it drew the image.
            body_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            charts_shown = page.eval_on_selector_all(
                "img",
                """els => els.map(e => ({src: e.getAttribute('src'), shown: e.getBoundingClientRect().width,
                    natural: e.naturalWidth, text: parseFloat(e.dataset.textPx)}))""",
            )
            assert all(c["text"] > 0 for c in charts_shown), charts_shown  # every chart says its size
            assert len(charts_shown) == 8
            for chart in charts_shown:
                on_screen = chart["text"] * chart["shown"] / chart["natural"]
                assert on_screen >= body_px, f"{chart['src']}: text {on_screen:.1f} px < body {body_px} px"
            # Nothing overflows the screen: no sideways scroll of the page, every chart inside it.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert all(chart["shown"] <= width for chart in charts_shown)
            overflowing = page.eval_on_selector_all(
                "main > section > *:not(.scroll), header > *",
                "els => els.filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)"
                ".map(e => e.outerHTML.slice(0, 80))",
            )
            assert overflowing == []
            # The reminder log is folded into runs: 43 days with one missed are 3 rows, not 43.
            assert page.eval_on_selector_all("#reminders tbody tr", "rows => rows.length") <= 3
            # The coverage table is folded; the gap days are what shows.
            assert page.is_visible("#coverage-gaps") and not page.is_visible("#coverage-table table")

            page.screenshot(path=str(tmp_path / "report-phone.png"), full_page=True)
        finally:
            browser.close()

    assert console_errors == []
    assert requests and all(url.startswith("file://") for url in requests), requests
    assert (tmp_path / "report-phone.png").stat().st_size > 10_000
