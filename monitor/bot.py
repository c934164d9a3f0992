"""The Telegram link-submission bot that `run` polls ([submissions.telegram]).

One pass: send the answers a previous pass stored but could not send, then `getUpdates` from the
stored offset (long polling: the first call waits up to poll_seconds, the next ones return at once)
until no update is left. Each update is handled in ONE transaction: its links are recorded
(monitor.submissions), the answer is stored as a pending `bot_replies` row, and the offset moves past
it. Only then is the answer sent. So a crash or restart at any moment neither loses an update (the
offset had not moved) nor handles one twice (it had, together with the submissions), and an answer
is sent at most once.

The bot only ever answers a message, in the chat it came from: private chats, and the groups listed
in config (other groups are ignored, with a log line naming their id so a coordinator can add them).
Members are recognised by the roster's `telegram` column (username or numeric id); anyone else gets a
polite answer and their links are recorded as refused. Answers are plain text (no markup, no link
previews) in the campaign language.

Rate limits: a 429's `retry_after` up to max_wait_seconds is waited for (through an injectable sleep);
longer ends the pass as rate_limited, with everything so far committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests
from sqlalchemy import Connection, Engine, insert, select, update

from collectors.http import make_session, redact
from collectors.links import SubmittedMessage, expand_short_link, is_short_link, links_in
from collectors.telegram import SOURCE, BotApi, BotRateLimited, BotTokenError, entity_links
from monitor.campaign import CampaignCalendar
from monitor.config import Config
from monitor.errors import SourceError
from monitor.models import BotOffset, BotReply, CollectionRun
from monitor.roster import Roster, RosterFileError, RosterMissing, load_roster
from monitor.store import finish_run, start_run, utcnow
from monitor.submissions import (
    DUPLICATE,
    NOT_ON_ROSTER,
    OTHER_CAMPAIGN,
    Expand,
    Outcome,
    record_messages,
    resolve_all,
)

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 3  # a reply that failed to go out this often (network) is given up
MAX_PAGES = 1000  # a safety stop for one pass
REPEAT_QUIET = dt.timedelta(hours=1)  # the same failure is recorded again after this long


@dataclass
class BotResult:
    status: str = "ok"  # ok | partial | failed | rate_limited | skipped
    updates: int = 0
    pages: int = 0
    links: int = 0
    replies_sent: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped")


def bot_name(token: str) -> str:
    """The bot's key in bot_offsets: its numeric id (the part of the token before ':', which Telegram
    shows publicly as the bot's user id), never the secret part."""
    head = token.split(":", 1)[0]
    return (
        f"telegram:{head}"
        if head.isdigit()
        else "telegram:" + hashlib.sha256(token.encode()).hexdigest()[:16]
    )


def load_offset(conn: Connection, bot: str) -> int | None:
    return conn.execute(select(BotOffset.next_offset).where(BotOffset.bot == bot)).scalar()


def save_offset(conn: Connection, bot: str, offset: int) -> None:
    now = utcnow()
    changed = conn.execute(
        update(BotOffset).where(BotOffset.bot == bot).values(next_offset=offset, updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(insert(BotOffset).values(bot=bot, next_offset=offset, updated_at=now))


@dataclass
class Bot:
    """One bot pass at a time; tests inject `sleep`, `session_factory` and `roster_loader`."""

    config: Config
    engine: Engine
    calendar: CampaignCalendar
    sleep: Callable[[float], None] = time.sleep
    session_factory: Callable[[], requests.Session] = field(default=make_session)
    roster_loader: Callable[[], Roster] | None = None
    expand: Expand | None = None
    _expand: Expand | None = field(default=None, init=False, repr=False)

    def run_pass(self, poll_seconds: int | None = None, max_pages: int = MAX_PAGES) -> BotResult:
        """One pass (see the module doc). Never raises for API trouble: the result says what
        happened and a `telegram_bot` run row records it when anything was done or went wrong."""
        cfg = self.config.submissions.telegram
        token = os.environ.get(cfg.token_env, "").strip()
        result = BotResult()
        if not token:
            result.status, result.error = (
                "failed",
                f"{SOURCE}: the environment variable {cfg.token_env} is not set: put the bot token from "
                "@BotFather there (see docs/roster.md)",
            )
            self._record(result, token)
            return result
        try:
            roster = (self.roster_loader or (lambda: load_roster(self.config.roster.path)))()
        except (RosterMissing, RosterFileError, OSError) as exc:
            # Without the roster nobody is a member: leave the messages queued until it is back.
            result.status, result.error = "failed", f"{SOURCE}: the bot needs the roster: {exc}"
            self._record(result, token)
            return result
        bot = bot_name(token)
        poll = cfg.poll_seconds if poll_seconds is None else poll_seconds
        try:
            with self.session_factory() as session:
                api = BotApi(session, cfg.api_base, token, cfg.token_env)
                follow = self.config.submissions.follow_short_links
                self._expand = self.expand or (partial(expand_short_link, session) if follow else None)
                result.replies_sent += self._send_pending(api, bot)
                for page in range(max_pages):
                    wait = poll if page == 0 else 0  # later calls only drain what is queued
                    updates: list[dict[str, Any]] = self._call(partial(self._get_updates, api, bot, wait))
                    if not updates:
                        break
                    result.pages += 1
                    for item in updates:
                        result.links += self._handle(bot, item, roster)
                        result.updates += 1
                        result.replies_sent += self._send_pending(api, bot)
        except BotRateLimited as exc:
            result.status, result.error = "rate_limited", str(exc)
        except BotTokenError as exc:
            result.status, result.error = "failed", str(exc)
        except SourceError as exc:
            result.status = "partial" if result.updates else "failed"
            result.error = str(exc)
        result.error = redact(result.error, [token]) if result.error else None
        self._record(result, token)
        return result

    # --- the pieces

    def _get_updates(self, api: BotApi, bot: str, wait: int) -> list[dict[str, Any]]:
        return api.get_updates(self._offset(bot), wait)

    def _offset(self, bot: str) -> int | None:
        with self.engine.connect() as conn:
            return load_offset(conn, bot)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Call the API; a rate limit that ends soon enough is waited for once, then tried again."""
        limit = self.config.submissions.telegram.max_wait_seconds
        for _ in range(3):
            try:
                return fn()
            except BotRateLimited as exc:
                if exc.retry_after > limit:
                    raise
                log.info("%s: rate limited, waiting %.0f s as Telegram asks", SOURCE, exc.retry_after)
                self.sleep(exc.retry_after)
        return fn()

    def _handle(self, bot: str, item: dict[str, Any], roster: Roster) -> int:
        """Record one update and its answer, and move the offset past it, in one transaction."""
        update_id = item.get("update_id")
        if not isinstance(update_id, int):
            raise SourceError("getUpdates answered an update without update_id")
        message = item.get("message") or item.get("edited_message")
        edited = "message" not in item
        incoming = self._incoming(message) if isinstance(message, dict) else None
        links = 0
        # Short links may need HTTP: resolved before the transaction opens.
        resolved = resolve_all([incoming[2]], self._expand) if incoming is not None else {}
        with self.engine.begin() as conn:
            if incoming is not None:
                chat_id, message_id, submitted, private = incoming
                answer: str | None = None
                if submitted.links:
                    summary = record_messages(
                        self.engine, self.config, roster, [submitted], conn=conn, resolved=resolved
                    )
                    links = summary.new
                    news = [o for o in summary.outcomes if o.state != "known"]
                    if news or not edited:
                        answer = compose_reply(self.config, self.calendar, submitted, summary.outcomes)
                elif private and not edited:
                    answer = compose_help(self.config, submitted, roster)
                if answer is not None:
                    conn.execute(
                        insert(BotReply).values(
                            bot=bot,
                            update_id=update_id,
                            chat_id=chat_id,
                            message_id=message_id,
                            text=answer,
                            status="pending",
                            attempts=0,
                            created_at=utcnow(),
                        )
                    )
            save_offset(conn, bot, update_id + 1)
        return links

    def _incoming(self, message: dict[str, Any]) -> tuple[int, int, SubmittedMessage, bool] | None:
        """(chat id, message id, the message as a submission, private?) for a message the bot reads."""
        chat, sender = message.get("chat"), message.get("from")
        message_id = message.get("message_id")
        if not isinstance(chat, dict) or not isinstance(sender, dict) or not isinstance(message_id, int):
            return None  # channel posts, anonymous group admins
        if sender.get("is_bot"):
            return None
        chat_id, kind = chat.get("id"), chat.get("type")
        if not isinstance(chat_id, int):
            return None
        if (
            isinstance(message.get("migrate_to_chat_id"), int)
            and chat_id in self.config.submissions.telegram.groups
        ):
            log.warning(
                "%s: group %s became a supergroup with id %s: put that id in [submissions.telegram] groups",
                SOURCE,
                chat_id,
                message["migrate_to_chat_id"],
            )
        private = kind == "private"
        if not private and chat_id not in self.config.submissions.telegram.groups:
            if kind in ("group", "supergroup"):
                log.info(
                    "%s: a message from group %s (id %s), not in [submissions.telegram] groups; ignored",
                    SOURCE,
                    chat.get("title", "?"),
                    chat_id,
                )
            return None
        text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
        text = text if isinstance(text, str) else ""
        links = list(dict.fromkeys([*entity_links(message), *links_in(text)]))
        user_id = sender.get("id")
        username = sender.get("username")
        keys = [f"id:{user_id}"]
        if isinstance(username, str) and username:
            keys.append(f"user:{username.casefold()}")
        name = " ".join(str(sender.get(k, "")) for k in ("first_name", "last_name") if sender.get(k))
        shown = f"@{username}" if username else f"{name or 'Telegram user'} (id {user_id})"
        date = message.get("date")
        when = dt.datetime.fromtimestamp(date, dt.UTC) if isinstance(date, int) else utcnow()
        submitted = SubmittedMessage(
            origin=f"{chat_id}:{message_id}",
            via="telegram",
            sender=shown,
            submitted_at=when,
            text=text,
            links=tuple(links),
            sender_keys=tuple(keys),
        )
        return chat_id, message_id, submitted, private

    def _send_pending(self, api: BotApi, bot: str) -> int:
        """Send the stored answers not sent yet, oldest first. Returns how many went out."""
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(BotReply.id, BotReply.chat_id, BotReply.message_id, BotReply.text, BotReply.attempts)
                .where(BotReply.bot == bot, BotReply.status == "pending")
                .order_by(BotReply.id)
            ).all()
        sent = 0
        for reply in pending:
            status, error = "sent", None
            try:
                self._call(partial(api.send_message, reply.chat_id, reply.text, reply.message_id))
                sent += 1
            except BotRateLimited:
                raise  # the answer stays pending; the next pass sends it
            except BotTokenError:
                raise
            except SourceError as exc:
                status, error = "failed", str(exc)
                status_code = getattr(exc, "status", None)
                if status_code is None and reply.attempts + 1 < MAX_SEND_ATTEMPTS:
                    status = "pending"  # no answer at all (network): try again next pass
                log.warning("%s: could not answer chat %s: %s", SOURCE, reply.chat_id, error)
            with self.engine.begin() as conn:
                conn.execute(
                    update(BotReply)
                    .where(BotReply.id == reply.id)
                    .values(status=status, attempts=reply.attempts + 1, error=error)
                )
        return sent

    def _record(self, result: BotResult, token: str) -> None:
        """A run row for a pass that did something or failed; quiet passes (every few seconds) are
        only logged at debug level."""
        if result.status == "ok" and not result.updates and not result.replies_sent:
            log.debug("%s: no new messages", SOURCE)
            return
        cfg = self.config.submissions.telegram
        error = redact(result.error, [token]) if result.error else None
        if not result.ok and self._same_failure_lately(result.status, error):
            log.debug("%s: %s again (%s)", SOURCE, result.status, error)
            return
        run_id = start_run(self.engine, SOURCE, cfg.api_base)
        with self.engine.begin() as conn:
            conn.execute(
                update(CollectionRun)
                .where(CollectionRun.id == run_id)
                .values(rows_read=result.updates, rows_new=result.links)
            )
        finish_run(self.engine, run_id, result.status, error, pages=result.pages)
        level = logging.INFO if result.ok else logging.WARNING
        log.log(
            level,
            "%s: %s, %d updates, %d links recorded, %d answers sent%s",
            SOURCE,
            result.status,
            result.updates,
            result.links,
            result.replies_sent,
            f" ({result.error})" if result.error else "",
        )

    def _same_failure_lately(self, status: str, error: str | None) -> bool:
        """The last pass failed the same way less than REPEAT_QUIET ago: a bot that cannot reach
        Telegram (or has no token) every 15 seconds records that once an hour, not 240 times."""
        with self.engine.connect() as conn:
            last = conn.execute(
                select(CollectionRun.status, CollectionRun.error, CollectionRun.started_at)
                .where(CollectionRun.source == SOURCE)
                .order_by(CollectionRun.id.desc())
                .limit(1)
            ).first()
        return (
            last is not None
            and (last.status, last.error) == (status, error)
            and utcnow() - last.started_at < REPEAT_QUIET
        )


# ---------------------------------------------------------------------------------------------------------
# Answers, in the campaign language

TEXTS = {
    "id": {
        "thanks": "Terima kasih, {name}!",
        "recorded": "✅ {platform} tercatat untuk hari kampanye ke-{day} ({date}).",
        "recorded_outside": "✅ {platform} tercatat ({date}, di luar masa kampanye).",
        "seen": "Postingannya sudah ada di data.",
        "waiting": "Postingannya belum ada di data; akan dihitung begitu muncul.",
        "again": "ℹ️ {platform}: link ini sudah tercatat sebelumnya.",
        "not_a_post": "❌ {link} bukan link postingan Facebook, Instagram, X, TikTok atau Threads.",
        "short": (
            "❌ {link} adalah link pendek tanpa nomor postingan: buka link itu, lalu kirim alamat lengkapnya."
        ),
        "duplicate": "❌ {platform}: postingan ini sudah disetor oleh anggota lain.",
        "other_campaign": "❌ {platform}: tagarnya tagar kampanye kota lain, bukan kampanye ini.",
        "not_member": (
            "Mohon maaf, akun Telegram Anda ({who}) belum terdaftar di roster kampanye {campaign}, "
            "jadi link Anda belum bisa dihitung. Silakan hubungi koordinator KIM agar akun Telegram "
            "Anda dicatat."
        ),
        "help": (
            "Halo! Kirimkan link postingan kampanye Anda (Facebook, Instagram, X, TikTok atau Threads) "
            "di sini, satu atau beberapa link sekaligus."
        ),
    },
    "en": {
        "thanks": "Thank you, {name}!",
        "recorded": "✅ {platform} recorded for campaign day {day} ({date}).",
        "recorded_outside": "✅ {platform} recorded ({date}, outside the campaign).",
        "seen": "The post is already in the data.",
        "waiting": "The post is not in the data yet; it counts as soon as it arrives.",
        "again": "ℹ️ {platform}: this link was already recorded.",
        "not_a_post": "❌ {link} is not a link to a Facebook, Instagram, X, TikTok or Threads post.",
        "short": "❌ {link} is a short link without the post's id: open it, then send the full address.",
        "duplicate": "❌ {platform}: another member already submitted this post.",
        "other_campaign": "❌ {platform}: its hashtags are another city's campaign, not this one.",
        "not_member": (
            "Sorry, your Telegram account ({who}) is not on the roster of {campaign} yet, so your links "
            "cannot be counted. Please ask your KIM coordinator to add your Telegram account."
        ),
        "help": (
            "Hello! Send the links of your campaign posts (Facebook, Instagram, X, TikTok or Threads) here, "
            "one or several at once."
        ),
    },
}


def compose_reply(
    config: Config, calendar: CampaignCalendar, message: SubmittedMessage, outcomes: Sequence[Outcome]
) -> str:
    """What the bot answers: what it recorded (platform, campaign day) or why it refused each link."""
    t = TEXTS[config.campaign.language]
    if outcomes and all((o.reason or "").startswith(NOT_ON_ROSTER) for o in outcomes):
        return t["not_member"].format(who=message.sender, campaign=config.campaign.name)
    member = next((o.member for o in outcomes if o.member), None)
    lines = [t["thanks"].format(name=member)] if member else []
    day = message.submitted_at.astimezone(config.campaign.tz).date()
    for o in outcomes:
        platform = o.post.title if o.post else ""
        if o.state in ("seen", "waiting"):
            key = "recorded" if calendar.contains(day) else "recorded_outside"
            number = calendar.day_number(day) if calendar.contains(day) else 0
            lines.append(
                t[key].format(platform=platform, day=number, date=day.isoformat()) + " " + t[o.state]
            )
        elif o.state in ("repeated", "known"):
            lines.append(t["again"].format(platform=platform or o.link))
        elif o.reason and o.reason.startswith(DUPLICATE):
            lines.append(t["duplicate"].format(platform=platform))
        elif o.reason and o.reason.startswith(OTHER_CAMPAIGN):
            lines.append(t["other_campaign"].format(platform=platform))
        else:
            key = "short" if is_short_link(o.link) else "not_a_post"
            lines.append(t[key].format(link=o.link[:200]))
    return "\n".join(lines)


def compose_help(config: Config, message: SubmittedMessage, roster: Roster) -> str:
    """The answer to a private message without a link."""
    return TEXTS[config.campaign.language]["help"]
