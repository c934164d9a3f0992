"""collectors.links: a post link as a member sent it -> platform and post key, or a clear refusal."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from collectors.http import make_session
from collectors.links import (
    LinkRefused,
    PostLink,
    expand_short_link,
    is_platform_link,
    is_short_link,
    links_in,
    resolve_link,
)


@pytest.mark.parametrize(
    ("link", "platform", "key", "url"),
    [
        # Facebook: /posts/, permalink, story_fbid, video, reel, pfbid, the mobile site
        (
            "https://www.facebook.com/KIM.Mayangan/posts/1234567890123?mibextid=abc",
            "facebook",
            "1234567890123",
            "https://www.facebook.com/1234567890123",
        ),
        (
            "https://m.facebook.com/story.php?story_fbid=998877665544&id=100012345678901&rdid=x",
            "facebook",
            "998877665544",
            "https://www.facebook.com/998877665544",
        ),
        (
            "https://web.facebook.com/groups/kimprob/permalink/5566778899/",
            "facebook",
            "5566778899",
            "https://www.facebook.com/5566778899",
        ),
        (
            "https://www.facebook.com/watch/?v=445566778899",
            "facebook",
            "445566778899",
            "https://www.facebook.com/445566778899",
        ),
        (
            "https://www.facebook.com/reel/1122334455667788",
            "facebook",
            "1122334455667788",
            "https://www.facebook.com/1122334455667788",
        ),
        (
            "https://www.facebook.com/kim.mayangan/posts/pfbid02abcDEF123xyz",
            "facebook",
            "pfbid02abcDEF123xyz",
            "https://www.facebook.com/pfbid02abcDEF123xyz",
        ),
        # Instagram: /p/, /reel/, /reels/, /<user>/p/, share tracking stripped
        (
            "https://www.instagram.com/p/DExample001/?igsh=ZXhhbXBsZTAx",
            "instagram",
            "DExample001",
            "https://www.instagram.com/p/DExample001/",
        ),
        (
            "https://www.instagram.com/reel/DSYNTHig002/?igsh=MTc4bWZ6cGx5Z2x5Yw==",
            "instagram",
            "DSYNTHig002",
            "https://www.instagram.com/p/DSYNTHig002/",
        ),
        (
            "instagram.com/reels/CxYz123AbC",
            "instagram",
            "CxYz123AbC",
            "https://www.instagram.com/p/CxYz123AbC/",
        ),
        (
            "https://www.instagram.com/kim_mayangan/p/CabcDEF1234/?img_index=2",
            "instagram",
            "CabcDEF1234",
            "https://www.instagram.com/p/CabcDEF1234/",
        ),
        # X: x.com, twitter.com, mobile, ?s=&t= tracking
        (
            "https://x.com/example_kim/status/1960000000000000001?s=46&t=AbCdEfGhIjKl",
            "twitter",
            "1960000000000000001",
            "https://x.com/i/web/status/1960000000000000001",
        ),
        (
            "https://mobile.twitter.com/KimMayangan/status/1575000000000000002",
            "twitter",
            "1575000000000000002",
            "https://x.com/i/web/status/1575000000000000002",
        ),
        # TikTok: /@user/video/, /photo/, the mobile /v/<id>.html
        (
            "https://www.tiktok.com/@example_kim/video/7540000000000000002?is_from_webapp=1&sender_device=pc",
            "tiktok",
            "7540000000000000002",
            "https://www.tiktok.com/@example_kim/video/7540000000000000002",
        ),
        (
            "https://www.tiktok.com/@kim.mayangan/photo/7540000000000000009",
            "tiktok",
            "7540000000000000009",
            "https://www.tiktok.com/@kim.mayangan/video/7540000000000000009",
        ),
        (
            "https://m.tiktok.com/v/7540000000000000004.html",
            "tiktok",
            "7540000000000000004",
            "https://www.tiktok.com/@/video/7540000000000000004",
        ),
        # Threads: threads.com and the older threads.net
        (
            "https://www.threads.com/@example_kim/post/DSYNTH0001a",
            "threads",
            "DSYNTH0001a",
            "https://www.threads.com/@example_kim/post/DSYNTH0001a",
        ),
        (
            "https://www.threads.net/@example_kim/post/DSYNTH0001a/?xmt=AQGz",
            "threads",
            "DSYNTH0001a",
            "https://www.threads.com/@example_kim/post/DSYNTH0001a",
        ),
    ],
)
def test_post_links_resolve_to_their_key_without_tracking(
    link: str, platform: str, key: str, url: str
) -> None:
    assert resolve_link(link) == PostLink(platform, key, url)


@pytest.mark.parametrize(
    ("link", "why"),
    [
        ("https://www.instagram.com/kim_mayangan/", "profile"),
        ("https://www.instagram.com/stories/kim_mayangan/3000000000000000000/", "story"),
        ("https://x.com/KimMayangan", "/status/"),
        ("https://www.facebook.com/KIM.Mayangan/", "page link"),
        ("https://www.tiktok.com/@example_kim", "/video/"),
        ("https://www.threads.com/@example_kim", "/post/"),
        ("https://maps.google.com/?q=-7.75,113.2", "not Facebook, Instagram, X, TikTok or Threads"),
        ("ftp://example.org/post", "not a web link"),
    ],
)
def test_links_that_name_no_post_are_refused_with_the_reason(link: str, why: str) -> None:
    with pytest.raises(LinkRefused, match=why):
        resolve_link(link)


@pytest.mark.parametrize(
    "link",
    [
        "https://vt.tiktok.com/ZSABCDEFG/",
        "https://vm.tiktok.com/ZMexample/",
        "https://www.tiktok.com/t/ZTexample/",
        "https://fb.watch/abcDEF123/",
        "https://www.facebook.com/share/p/1AbCdEfGhI/",
        "https://www.facebook.com/share/v/1AbCdEfGhI/",
        "https://t.co/AbCdEf123",
    ],
)
def test_short_links_are_refused_without_a_way_to_follow_them(link: str) -> None:
    assert is_short_link(link)
    with pytest.raises(LinkRefused, match="no post id in it: open it and send the full link"):
        resolve_link(link)


def test_a_short_link_is_followed_to_its_post(httpserver: HTTPServer) -> None:
    """expand_short_link follows real redirects (here from a local server standing in for vt.tiktok.com)."""
    target = "https://www.tiktok.com/@example_kim/video/7540000000000000002?_r=1&u_code=xyz"
    httpserver.expect_request("/ZSABCDEFG/").respond_with_response(
        Response(
            status=301, headers={"Location": httpserver.url_for("/@example_kim/video/7540000000000000002")}
        )
    )
    httpserver.expect_request("/@example_kim/video/7540000000000000002").respond_with_data("ok")
    with make_session(retries=0) as session:
        final = expand_short_link(session, httpserver.url_for("/ZSABCDEFG/"))
    assert final.endswith("/@example_kim/video/7540000000000000002")

    seen: list[str] = []

    def expand(url: str) -> str:
        seen.append(url)
        return target

    assert resolve_link("https://vt.tiktok.com/ZSABCDEFG/", expand) == PostLink(
        "tiktok", "7540000000000000002", "https://www.tiktok.com/@example_kim/video/7540000000000000002"
    )
    assert seen == ["https://vt.tiktok.com/ZSABCDEFG/"]


def test_a_short_link_that_cannot_be_opened_is_refused_with_the_reason() -> None:
    def broken(url: str) -> str:
        raise ConnectionError("no route")

    with pytest.raises(LinkRefused, match=r"could not be opened \(ConnectionError\); send the full link"):
        resolve_link("https://fb.watch/abcDEF123/", broken)
    with pytest.raises(LinkRefused, match="did not lead to a post"):
        resolve_link("https://fb.watch/abcDEF123/", lambda url: "https://www.facebook.com/share/r/xyz/")


def test_links_in_a_cell_or_message() -> None:
    cell = (
        "https://www.instagram.com/reel/DSYNTHig002/?igsh=MTc4bWZ6cGx5Z2x5Yw==\n"
        "https://vt.tiktok.com/ZSABCDEFG/, "
        "https://x.com/a/status/1 (https://www.threads.com/@a/post/B). www.facebook.com/a/posts/9."
    )
    assert links_in(cell) == [
        "https://www.instagram.com/reel/DSYNTHig002/?igsh=MTc4bWZ6cGx5Z2x5Yw==",
        "https://vt.tiktok.com/ZSABCDEFG/",
        "https://x.com/a/status/1",
        "https://www.threads.com/@a/post/B",
        "https://www.facebook.com/a/posts/9",
    ]
    # WhatsApp's edit marker and bidi marks are not part of a link
    assert links_in("https://www.facebook.com/share/p/1ExampleAb/ \u200e<This message was edited>") == [
        "https://www.facebook.com/share/p/1ExampleAb/"
    ]
    assert is_platform_link("https://vt.tiktok.com/x/") and not is_platform_link("https://github.com/x")
