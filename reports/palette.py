"""One colour and one display name per platform, for every chart, table and file of the report.

The colours are from the Okabe-Ito palette (distinguishable with every common colour-vision
deficiency); the names are how people write them ("X", not "twitter"). The stored platform codes
(`facebook`, `instagram`, `twitter`, `tiktok`, `threads`) stay in the CSV files, which are the stable
interface; people-facing places (the page, the charts, the workbook, the PDF) show the names.
For paper, each platform also has a grey and a hatch, so a black-and-white print still tells them apart.
"""

from __future__ import annotations

PLATFORM_COLOURS = {
    "facebook": "#0072B2",  # blue
    "instagram": "#CC79A7",  # reddish purple
    "twitter": "#3A3A3A",  # near black
    "tiktok": "#009E73",  # bluish green
    "threads": "#E69F00",  # orange
}
OTHER_COLOUR = "#999999"
PLATFORM_NAMES = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "twitter": "X",
    "tiktok": "TikTok",
    "threads": "Threads",
}
# Where space is short (an account told apart from its namesake on another platform).
PLATFORM_SHORT = {
    "facebook": "FB",
    "instagram": "IG",
    "twitter": "X",
    "tiktok": "TikTok",
    "threads": "Threads",
}
# Black-and-white print: (grey fill, hatch) per platform, in the order above.
PLATFORM_PRINT = {
    "facebook": ("#404040", ""),
    "instagram": ("#BBBBBB", "///"),
    "twitter": ("#FFFFFF", "xx"),
    "tiktok": ("#808080", "..."),
    "threads": ("#E0E0E0", "\\\\\\"),
}
PLATFORM_ORDER = list(PLATFORM_COLOURS)


def platform_colour(platform: str) -> str:
    """The platform's colour in every chart (grey for a platform this release does not know)."""
    return PLATFORM_COLOURS.get(platform, OTHER_COLOUR)


def platform_name(platform: str) -> str:
    """'X', 'Facebook', 'Instagram', 'TikTok', 'Threads'; an unknown code capitalised."""
    return PLATFORM_NAMES.get(platform, platform[:1].upper() + platform[1:])


def platform_short(platform: str) -> str:
    """'FB', 'IG', 'X', ...: the platform in a few letters."""
    return PLATFORM_SHORT.get(platform, platform_name(platform))


def platform_print(platform: str) -> tuple[str, str]:
    """(grey fill, hatch) for a black-and-white print."""
    return PLATFORM_PRINT.get(platform, ("#FFFFFF", "--"))


def platform_sort_key(platform: str) -> tuple[int, str]:
    """Stacking and legend order: the known platforms in a fixed order, then the others by code."""
    return (PLATFORM_ORDER.index(platform) if platform in PLATFORM_ORDER else len(PLATFORM_ORDER), platform)
