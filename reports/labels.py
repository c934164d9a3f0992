"""Every word the report shows, one dict per language (config campaign.language), and number formats.

Indonesian writes 1.234 and 12,5%; English writes 1,234 and 12.5%. Add a language by adding a dict
with the same keys (a test checks the keys match) and its entry in NUMBER_SEPARATORS.
"""

from __future__ import annotations

import datetime as dt

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan harian kampanye",
        "title_day": "Laporan harian kampanye",
        "title_week": "Laporan mingguan kampanye",
        "title_campaign": "Laporan seluruh masa kampanye",
        "title_campaign_so_far": "Laporan kampanye sejak hari pertama",
        "title_range": "Laporan kampanye untuk rentang tanggal",
        "filter_group": "Kelompok/kecamatan",
        "filtered": "Laporan ini disaring, semua angka, grafik dan berkas hanya menghitung: {filter}.",
        "range_cut_window": (
            "Periode yang diminta ({asked}) melewati masa kampanye, jadi dipotong ke masa kampanye."
        ),
        "vs_previous_day": "dibanding hari sebelumnya",
        "vs_previous_week": "dibanding minggu sebelumnya",
        "vs_previous_days": "dibanding {days} hari sebelumnya",
        "last7": "7 hari terakhir",
        "vs_7_before": "dibanding 7 hari sebelumnya",
        "no_previous": "tidak ada periode sebelumnya untuk dibandingkan",
        "views": "Tayangan",
        "views_coverage": "mencakup {n} dari {m} postingan (sumber yang mencatat tayangan)",
        "views_none": "tidak ada sumber yang mencatat tayangan",
        "sheet_summary": "Ringkasan",
        "sheet_daily": "Harian",
        "sheet_top": "Postingan teratas",
        "sheet_hashtags": "Tagar",
        "sheet_roster": "Roster",
        "measure": "Ukuran",
        "value": "Nilai",
        "previous_value": "Periode pembanding",
        "change": "Perubahan",
        "change_pct": "Perubahan (%)",
        "compared_period": "Periode yang dibandingkan",
        "previous_period": "Periode pembanding",
        "post_id": "ID postingan",
        "filter": "Saringan",
        "no_filter": "tidak ada (semua postingan kampanye)",
        "pdf_top5": "5 postingan teratas",
        "pdf_reminder": "Pengingat vote {day}",
        "pdf_roster": "Partisipasi roster",
        "pdf_roster_line": (
            "{active} dari {members} anggota aktif; {today} sudah posting pada {day}; "
            "{share}% postingan dari roster."
        ),
        "reminder_days": "{n} hari",
        "all_platforms": "Semua",
        "pdf_footer": (
            "Dibuat oleh campaign-monitor. Angka lengkap: report.xlsx dan index.html di folder yang sama."
        ),
        "previous_short": "sebelumnya",
        "range": "Periode",
        "generated": "Dibuat",
        "campaign_day": "Hari kampanye",
        "day_short": "H",
        "of": "dari",
        "summary": "Ringkasan periode",
        "last_day": "Hari terakhir",
        "vs_day_before": "dibanding hari sebelumnya",
        "posts": "Postingan",
        "interactions": "Interaksi",
        "accounts": "Akun aktif",
        "days_left": "Sisa hari",
        "likes": "Suka",
        "comments": "Komentar",
        "shares": "Bagikan",
        "date": "Tanggal",
        "platform": "Platform",
        "author": "Akun",
        "text": "Teks",
        "link": "Tautan",
        "open": "buka",
        "rank": "No.",
        "hashtag": "Tagar",
        "active_days": "Hari aktif",
        "charts": "Grafik",
        "chart_posts": "Postingan kampanye per hari",
        "chart_interactions": "Interaksi per hari",
        "chart_hashtags": "Tagar per hari",
        "chart_accounts": "Akun teratas menurut interaksi",
        "chart_times": "Waktu posting (jam lokal)",
        "avg7": "Rata-rata 7 hari",
        "cumulative": "Kumulatif",
        "all_tags_share": "Memuat semua tagar (%)",
        "campaign_window": "Masa kampanye",
        "reminder_sent": "Pengingat vote terkirim",
        "chart_key": "▲ di dasar grafik: hari pengingat vote terkirim. H1, H12 …: hari kampanye.",
        "hour": "Jam",
        "no_data": "Belum ada data",
        "top_posts": "Postingan teratas",
        "top_accounts": "Akun teratas",
        "coverage": "Cakupan data per hari",
        "coverage_note": (
            "Sumber dan berkas yang memasok postingan kampanye tiap hari. Hari tanpa data ditandai."
        ),
        "sources": "Sumber",
        "files": "Berkas / proses",
        "gap": "tidak ada data",
        "reminders": "Pengingat vote",
        "channel": "Kanal",
        "status": "Status",
        "sent_at": "Waktu kirim",
        "no_reminders": "Belum ada pengingat tercatat.",
        "downloads": "Unduh data (CSV)",
        "footnote": (
            "Postingan kampanye: memuat minimal satu tagar yang dipantau, dalam masa kampanye, bukan repost. "
            "Interaksi = suka + komentar + bagikan; angka yang tidak diketahui (–) dihitung 0. "
            "Hari = hari lokal."
        ),
        "roster": "Roster komunitas (KIM dan LPM)",
        "roster_note": (
            "Postingan kampanye dari akun anggota roster (berkas roster: nama, kelompok, kelurahan, "
            "kecamatan dan akun Facebook/Instagram/X/TikTok/Threads). "
            "Cek akun yang salah tulis dengan `campaign-monitor roster check`."
        ),
        "so_far": "sejauh ini (sampai {time})",
        "range_cut": "Periode berakhir hari ini: hari-hari sesudahnya belum terjadi, jadi belum ada datanya.",
        "days_left_note": "dihitung dari hari ini",
        "coverage_gaps": "Hari tanpa data",
        "coverage_no_gaps": "Setiap hari dalam periode ini ada datanya.",
        "coverage_all": "Tabel lengkap ({days} hari)",
        "status_sent": "terkirim",
        "status_failed": "gagal",
        "status_missed": "terlewat",
        "status_sending": "sedang dikirim",
        "unknown": "tidak diketahui",
        "roster_error": "Berkas roster tidak dapat dibaca, jadi bagian roster tidak ada di laporan ini.",
        "roster_error_fix": (
            "Perbaiki berkas roster (baris pertama: name,group,kelurahan,kecamatan,facebook,instagram,"
            "twitter,tiktok,threads; simpan sebagai CSV), lalu buat laporan lagi. "
            "`campaign-monitor roster check` menjelaskan masalahnya."
        ),
        "roster_bad_rows": (
            "{rows} baris roster bermasalah ({skipped} dilewati; yang lain dihitung tanpa akun yang salah). "
            "Jalankan `campaign-monitor roster check` untuk melihat dan memperbaikinya."
        ),
        "roster_members": "Anggota",
        "roster_active": "Anggota aktif",
        "roster_posted_today": "Sudah posting pada {day}",
        "roster_share": "Porsi postingan dari roster",
        "roster_not_posted": "Belum posting pada {day}",
        "roster_quiet": "Diam {days} hari atau lebih",
        "roster_kecamatan_board": "Peringkat kecamatan",
        "roster_table": "Semua anggota",
        "roster_name": "Nama",
        "roster_group": "Kelompok",
        "roster_kecamatan": "Kecamatan",
        "roster_kelurahan": "Kelurahan",
        "roster_last_post": "Postingan terakhir",
        "roster_days_quiet": "Hari tanpa posting",
        "roster_never": "belum pernah",
        "roster_all_posted": "Semua anggota sudah posting pada {day}.",
        "roster_none_quiet": "Tidak ada anggota yang diam.",
        "roster_waiting_links": "{n} link menunggu",
        "roster_waiting": "Link menunggu",
        "roster_waiting_note": (
            "{n} link yang disetor anggota belum ada di data (belum ada ekspor, tangkapan atau API yang "
            "memuat postingannya). Daftarnya: `campaign-monitor submissions --state waiting`."
        ),
        "chart_roster_heatmap": "Postingan kampanye per anggota per hari",
        "chart_roster_share": "Postingan dari anggota roster per hari",
        "chart_roster_members": "anggota roster",
        "chart_roster_others": "akun lain",
        "chart_roster_pct": "porsi roster (%)",
        "weekdays": "Sen Sel Rab Kam Jum Sab Min",
        "months": "Jan Feb Mar Apr Mei Jun Jul Agu Sep Okt Nov Des",
    },
    "en": {
        "title": "Daily campaign report",
        "title_day": "Daily campaign report",
        "title_week": "Weekly campaign report",
        "title_campaign": "Whole-campaign report",
        "title_campaign_so_far": "Campaign report since day 1",
        "title_range": "Campaign report for a date range",
        "filter_group": "Group/kecamatan",
        "filtered": "This report is filtered: every number, chart and file counts only {filter}.",
        "range_cut_window": (
            "The asked range ({asked}) reaches outside the campaign, so it was cut to the campaign."
        ),
        "vs_previous_day": "vs the day before",
        "vs_previous_week": "vs the week before",
        "vs_previous_days": "vs the {days} days before",
        "last7": "Last 7 days",
        "vs_7_before": "vs the 7 days before",
        "no_previous": "no earlier period to compare with",
        "views": "Views",
        "views_coverage": "covering {n} of {m} posts (sources that report views)",
        "views_none": "no source reported views",
        "sheet_summary": "Summary",
        "sheet_daily": "Daily",
        "sheet_top": "Top posts",
        "sheet_hashtags": "Hashtags",
        "sheet_roster": "Roster",
        "measure": "Measure",
        "value": "Value",
        "previous_value": "Compared period",
        "change": "Change",
        "change_pct": "Change (%)",
        "compared_period": "Period compared",
        "previous_period": "Compared with",
        "post_id": "Post id",
        "filter": "Filter",
        "no_filter": "none (every campaign post)",
        "pdf_top5": "Top 5 posts",
        "pdf_reminder": "Vote reminder {day}",
        "pdf_roster": "Roster participation",
        "pdf_roster_line": (
            "{active} of {members} members active; {today} posted on {day}; "
            "{share}% of posts from the roster."
        ),
        "reminder_days": "{n} days",
        "all_platforms": "All",
        "pdf_footer": (
            "Made by campaign-monitor. Every number: report.xlsx and index.html in the same folder."
        ),
        "previous_short": "before",
        "range": "Period",
        "generated": "Generated",
        "campaign_day": "Campaign day",
        "day_short": "D",
        "of": "of",
        "summary": "Period summary",
        "last_day": "Last day",
        "vs_day_before": "vs the day before",
        "posts": "Posts",
        "interactions": "Interactions",
        "accounts": "Active accounts",
        "days_left": "Days left",
        "likes": "Likes",
        "comments": "Comments",
        "shares": "Shares",
        "date": "Date",
        "platform": "Platform",
        "author": "Account",
        "text": "Text",
        "link": "Link",
        "open": "open",
        "rank": "#",
        "hashtag": "Hashtag",
        "active_days": "Active days",
        "charts": "Charts",
        "chart_posts": "Campaign posts per day",
        "chart_interactions": "Interactions per day",
        "chart_hashtags": "Hashtags per day",
        "chart_accounts": "Top accounts by interactions",
        "chart_times": "Posting times (local hour)",
        "avg7": "7-day average",
        "cumulative": "Cumulative",
        "all_tags_share": "Carrying all tags (%)",
        "campaign_window": "Campaign window",
        "reminder_sent": "Vote reminder sent",
        "chart_key": "▲ at the foot of a chart: a day the vote reminder was sent. D1, D12 …: campaign day.",
        "hour": "Hour",
        "no_data": "No data yet",
        "top_posts": "Top posts",
        "top_accounts": "Top accounts",
        "coverage": "Data coverage per day",
        "coverage_note": (
            "Sources and files that delivered each day's campaign posts. Days without data are marked."
        ),
        "sources": "Sources",
        "files": "Files / runs",
        "gap": "no data",
        "reminders": "Vote reminders",
        "channel": "Channel",
        "status": "Status",
        "sent_at": "Sent at",
        "no_reminders": "No reminders recorded yet.",
        "downloads": "Download data (CSV)",
        "footnote": (
            "Campaign post: carries at least one tracked hashtag, inside the campaign window, not a repost. "
            "Interactions = likes + comments + shares; unknown metrics (–) count as 0. Days are local days."
        ),
        "roster": "Community roster (KIM and LPM)",
        "roster_note": (
            "Campaign posts from the roster members' accounts (roster file: name, group, kelurahan, "
            "kecamatan and Facebook/Instagram/X/TikTok/Threads accounts). "
            "Find mistyped accounts with `campaign-monitor roster check`."
        ),
        "so_far": "so far (until {time})",
        "range_cut": "The range ends today: the days after it have not happened yet, so there is no data.",
        "days_left_note": "counted from today",
        "coverage_gaps": "Days without data",
        "coverage_no_gaps": "Every day of the range has data.",
        "coverage_all": "Full table ({days} days)",
        "status_sent": "sent",
        "status_failed": "failed",
        "status_missed": "missed",
        "status_sending": "sending",
        "unknown": "unknown",
        "roster_error": "The roster file could not be read, so this report has no roster section.",
        "roster_error_fix": (
            "Fix the roster file (first line: name,group,kelurahan,kecamatan,facebook,instagram,twitter,"
            "tiktok,threads; save it as CSV) and build the report again. "
            "`campaign-monitor roster check` explains the problem."
        ),
        "roster_bad_rows": (
            "{rows} roster rows have problems ({skipped} skipped; the others are counted without their bad "
            "accounts). Run `campaign-monitor roster check` to see and fix them."
        ),
        "roster_members": "Members",
        "roster_active": "Active members",
        "roster_posted_today": "Posted on {day}",
        "roster_share": "Share of posts from the roster",
        "roster_not_posted": "Not yet posted on {day}",
        "roster_quiet": "Quiet for {days}+ days",
        "roster_kecamatan_board": "Kecamatan leaderboard",
        "roster_table": "All members",
        "roster_name": "Name",
        "roster_group": "Group",
        "roster_kecamatan": "Kecamatan",
        "roster_kelurahan": "Kelurahan",
        "roster_last_post": "Last post",
        "roster_days_quiet": "Days quiet",
        "roster_never": "never",
        "roster_all_posted": "Every member posted on {day}.",
        "roster_none_quiet": "No member has gone quiet.",
        "roster_waiting_links": "{n} links waiting",
        "roster_waiting": "Links waiting",
        "roster_waiting_note": (
            "{n} links that members submitted are not in the data yet (no export, capture or API has "
            "brought their post). The list: `campaign-monitor submissions --state waiting`."
        ),
        "chart_roster_heatmap": "Campaign posts per member per day",
        "chart_roster_share": "Campaign posts from roster members per day",
        "chart_roster_members": "roster members",
        "chart_roster_others": "other accounts",
        "chart_roster_pct": "roster share (%)",
        "weekdays": "Mon Tue Wed Thu Fri Sat Sun",
        "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    },
}

# (thousands separator, decimal separator)
NUMBER_SEPARATORS = {"id": (".", ","), "en": (",", ".")}


def labels_for(language: str) -> dict[str, str]:
    """The label dict of a language (config validates the language; unknown falls back to English)."""
    return LABELS.get(language, LABELS["en"])


def format_number(value: float, language: str, decimals: int = 0) -> str:
    """1234 -> '1.234' (id) or '1,234' (en); decimals use the language's decimal mark."""
    thousands, decimal = NUMBER_SEPARATORS.get(language, NUMBER_SEPARATORS["en"])
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def format_signed(value: float, language: str) -> str:
    """A change with its sign: +12, -3, ±0."""
    if value == 0:
        return "±0"
    return ("+" if value > 0 else "-") + format_number(abs(value), language)


def format_percent(value: float, language: str) -> str:
    """A signed change in percent with one decimal: +12,5% (id) / +12.5% (en)."""
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    return f"{sign}{format_number(abs(value), language, decimals=1)}%"


def format_day(day: dt.date, language: str, year: bool = True) -> str:
    """'Sab 1 Okt 2022' / 'Sat 1 Oct 2022' ('Sab 1 Okt' without the year): the weekday helps the team
    read a day at a glance."""
    labels = labels_for(language)
    weekday = labels["weekdays"].split()[day.weekday()]
    month = labels["months"].split()[day.month - 1]
    return f"{weekday} {day.day} {month}" + (f" {day.year}" if year else "")


def format_short_day(day: dt.date, language: str) -> str:
    """'1 Okt' / '1 Oct': chart tick labels."""
    return f"{day.day} {labels_for(language)['months'].split()[day.month - 1]}"
