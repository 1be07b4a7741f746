"""Email deliveries end to end: a real SMTP server (aiosmtpd with AUTH) receives them."""

from __future__ import annotations

import html as html_lib
import io
import re
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from pydantic import SecretStr

from bot.delivery.base import ChannelDown
from bot.delivery.email_message import build_email, html_of_plain, wire_bytes
from bot.delivery.email_sender import open_connection
from bot.delivery.smtp_pipelining import Step, pipelines, send_message
from bot.smtp import SmtpConfig
from storage.statuses import Channel, DeliveryStatus, MailingStatus, SendMode
from tests.conftest import ADMIN, STRANGER, RunningBot
from tests.delivery_smtp import Sink, sink
from tests.delivery_world import (
    SENDER,
    add_guests,
    chat_of,
    create_mailing,
    email_of,
    engine_of,
    journal,
    journal_counts,
    status_of,
    use_smtp,
    wait_status,
    wait_until,
)
from tests.smtp_servers import HOST, PASSWORD, USER, make_certificate, smtp_server


def _jpeg(path: Path) -> str:
    """A small real JPEG under DATA_DIR/media; its path relative to DATA_DIR."""
    path.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    (path / "spring.jpg").write_bytes(out.getvalue())
    return "media/spring.jpg"


async def test_every_guest_gets_one_personal_email_with_both_parts_and_honest_headers(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 7))
    await add_guests(db, [7], email=False)
    image = _jpeg(data_dir / "media")
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=[Channel.EMAIL], image_path=image)
        assert await engine_of(bot).launch(mailing.id)
        assert await wait_status(db, mailing.id, MailingStatus.COMPLETED) == MailingStatus.COMPLETED
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 7)}
        # One pool: a handful of connections for six messages, not one each.
        assert server.recorder.connections <= engine_of(bot).pool_size
    message = next(m.message for m in server.received if m.rcpt_tos == [email_of(1)])
    assert message["Subject"] == "Анна, у вас бонусы"
    assert str(message["From"]) == f"Ресторан «Пхали» <{SENDER}>"
    assert "Анна Иванова" in str(message["To"])
    assert message["Date"] and message["Message-ID"]
    # The mail client's Unsubscribe emails the sender's mailbox (read by the bot); one tap
    # on the other link, in the header and the footer, opens the bot.
    unsubscribe = " ".join(message["List-Unsubscribe"].split())
    assert unsubscribe.startswith(f"<mailto:{SENDER}?subject=unsubscribe-")
    assert ">, <https://t.me/probonus_test_bot?start=unsub-" in unsubscribe
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "Здравствуйте, Анна!" in plain.get_content()
    # In the mailing's language (ru).
    assert "Чтобы отписаться, откройте https://t.me/probonus_test_bot?start=unsub-" in (
        plain.get_content()
    )
    html_text = html.get_content()
    assert "<b>Анна</b>" in html_text
    # The link works: opened in Telegram, it stops emails to this guest and no other.
    payload = unsubscribe.split("?start=", 1)[1].split(">", 1)[0]
    reply = await bot.say(STRANGER, f"/start {payload}")
    assert "will get no more emails" in (reply.plain_text or "")
    found = await db.fetchall("SELECT email, email_status FROM guests WHERE email IS NOT NULL")
    statuses = {str(row[0]): str(row[1]) for row in found}
    assert statuses[email_of(1)] == "unsubscribed"
    assert [e for e, s in statuses.items() if s == "unsubscribed"] == [email_of(1)]
    image_parts = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert len(image_parts) == 1
    cid = str(image_parts[0]["Content-ID"]).strip("<>")
    assert f"cid:{cid}" in html_text
    rows = {r["address"]: r for r in await journal(db, mailing.id) if r["channel"] == Channel.EMAIL}
    assert rows[email_of(1)]["external_id"] == message["Message-ID"]
    assert rows[email_of(1)]["sent_at"]
    skipped = [r for r in await journal(db, mailing.id) if r["status"] == DeliveryStatus.SKIPPED]
    assert [r["error_code"] for r in skipped] == ["no_email"]


async def test_a_greylisted_address_is_retried_and_gets_the_email_once(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 4))
    async with sink(defer_once={email_of(2)}) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=[Channel.EMAIL])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, MailingStatus.COMPLETED)
        assert server.recorder.deferred[email_of(2)] == 1
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 4)}
    assert await journal_counts(db, mailing.id) == {(Channel.EMAIL, DeliveryStatus.SENT): 3}


async def test_a_refused_mailbox_fails_its_row_and_is_marked_bounced(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 4))
    async with sink(refused_recipients=frozenset({email_of(3)})) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=[Channel.EMAIL])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, MailingStatus.COMPLETED)
        assert server.recorder.pipelined == server.recorder.mails == 3
        # The refusal came in a pipelined group; RSET, and the line went on serving.
        assert server.recorder.connections <= engine_of(bot).pool_size
        assert server.recorder.per_recipient() == {email_of(1): 1, email_of(2): 1}
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert rows[email_of(3)]["status"] == DeliveryStatus.FAILED
    assert rows[email_of(3)]["error_code"] == "bounced"
    assert "550" in rows[email_of(3)]["error"]
    status = await db.fetchval("SELECT email_status FROM guests WHERE email = ?", (email_of(3),))
    assert status == "bounced"
    # The next mailing skips the bounced address and says why.
    second = await create_mailing(db, channels=[Channel.EMAIL], name="Второе")
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        await engine_of(bot).launch(second.id)
        await wait_status(db, second.id, MailingStatus.COMPLETED)
    rows = {r["phone"]: r for r in await journal(db, second.id)}
    assert rows["+79000000003"]["error_code"] == "bounced"


async def test_a_connection_dropped_mid_mailing_is_reopened_and_nobody_gets_two(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 31))
    async with sink(drop_at_mails={5, 6, 17}) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=[Channel.EMAIL])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, MailingStatus.COMPLETED)
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 31)}
        assert server.recorder.connections > engine_of(bot).pool_size  # it did reconnect
    assert await journal_counts(db, mailing.id) == {(Channel.EMAIL, DeliveryStatus.SENT): 30}


async def test_a_line_dropped_after_the_message_was_handed_over_is_unknown_not_resent(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 5))
    async with sink(drop_after_data={email_of(2)}) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=[Channel.EMAIL])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, MailingStatus.COMPLETED)
        # The server took it, the answer was lost: it must not go out a second time.
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 5)}
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert rows[email_of(2)]["status"] == DeliveryStatus.UNKNOWN
    assert rows[email_of(2)]["error_code"] == "no_answer"
    assert await journal_counts(db, mailing.id) == {
        (Channel.EMAIL, DeliveryStatus.SENT): 3,
        (Channel.EMAIL, DeliveryStatus.UNKNOWN): 1,
    }


async def test_smtp_server_down_pauses_email_tells_the_admin_and_resume_finishes(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    engine = engine_of(bot)
    engine.failure_limit = 3
    await add_guests(db, range(1, 11))
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        await server.stop()
        mailing = await create_mailing(db, channels=[Channel.EMAIL])
        await engine.launch(mailing.id)
        assert await wait_status(db, mailing.id, MailingStatus.PAUSED) == MailingStatus.PAUSED
        await bot.expect(ADMIN, "paused after", 0, timeout=10)
        notice = next(t for t in bot.api.sent_texts(ADMIN) if "paused after" in t)
        assert "Email" in notice and "3 failures in a row" in notice
        # Nothing was lost: every row waits, pending.
        assert await journal_counts(db, mailing.id) == {(Channel.EMAIL, DeliveryStatus.PENDING): 10}
        await server.start()
        await bot.press(ADMIN, "Resume")
        await wait_status(db, mailing.id, MailingStatus.COMPLETED)
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 11)}


async def test_starttls_with_a_login_works_with_a_trusted_certificate(
    bot: RunningBot, data_dir: Path, tmp_path: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    cert = make_certificate(tmp_path / "cert")
    engine = engine_of(bot)
    assert engine.mailing_settings is not None
    engine.mailing_settings.tls_context = cert.client_context()
    await add_guests(db, range(1, 4))
    async with sink(cert=cert) as server:
        await use_smtp(db, data_dir, server, security="starttls", host="localhost")
        mailing = await create_mailing(db, channels=[Channel.EMAIL])
        await engine.launch(mailing.id)
        await wait_status(db, mailing.id, MailingStatus.COMPLETED)
        assert len(server.received) == 3


async def test_all_mode_sends_on_both_channels_and_priority_falls_back_when_blocked(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 5))
    await add_guests(db, [5], telegram=False)
    bot.api.block_chat(chat_of(2))
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        both = await create_mailing(db, channels=[Channel.TELEGRAM, Channel.EMAIL], name="Обе")
        since = bot.api.mark()
        await engine_of(bot).launch(both.id)
        await wait_status(db, both.id, MailingStatus.COMPLETED)
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 6)}
        counts = await journal_counts(db, both.id)
        assert counts[(Channel.TELEGRAM, DeliveryStatus.SENT)] == 3
        assert counts[(Channel.TELEGRAM, DeliveryStatus.FAILED)] == 1  # guest 2 blocked the bot
        assert counts[(Channel.TELEGRAM, DeliveryStatus.SKIPPED)] == 1  # guest 5 has no Telegram
        status = await db.fetchval(
            "SELECT tg_status FROM guests WHERE tg_chat_id = ?", (chat_of(2),)
        )
        assert status == "blocked"

        await bot.expect(ADMIN, "is complete", since, timeout=15)  # the first summary is out
        await bot.settle()
        bot.api.block_chat(chat_of(3))
        server.recorder.received.clear()
        sent_before = len([c for c in bot.api.calls_of("sendMessage") if c.ok])
        first = await create_mailing(
            db,
            channels=[Channel.TELEGRAM, Channel.EMAIL],
            send_mode=SendMode.PRIORITY,
            name="Сначала Telegram",
        )
        since = bot.api.mark()
        await engine_of(bot).launch(first.id)
        await wait_status(db, first.id, MailingStatus.COMPLETED)
        await bot.expect(ADMIN, "is complete", since, timeout=15)
        await bot.settle()
        # Telegram first: 1 and 4 by Telegram; 3 blocked now, so email; 2 is known
        # blocked (skipped on Telegram) and 5 has no Telegram: both by email.
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in (2, 3, 5)}
        sent_now = len([c for c in bot.api.calls_of("sendMessage") if c.ok]) - sent_before
        assert sent_now == 2 + 2  # two guests, plus the progress message and the summary
        rows = await journal(db, first.id)
        by_guest = {(r["phone"], r["channel"]): (r["status"], r["error_code"]) for r in rows}
        assert by_guest[("+79000000003", Channel.TELEGRAM)] == (DeliveryStatus.FAILED, "blocked")
        assert by_guest[("+79000000003", Channel.EMAIL)] == (DeliveryStatus.SENT, None)
        assert by_guest[("+79000000002", Channel.TELEGRAM)] == (DeliveryStatus.SKIPPED, "blocked")
        assert ("+79000000001", Channel.EMAIL) not in by_guest
    assert await status_of(db, first.id) == MailingStatus.COMPLETED


async def test_email_not_set_up_pauses_the_channel_at_once(bot: RunningBot) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 3))
    mailing = await create_mailing(db, channels=[Channel.EMAIL])
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, MailingStatus.PAUSED)
    await wait_until(
        lambda: any("not set up (/settings)" in t for t in bot.api.sent_texts(ADMIN)),
        what="the notice",
    )
    assert await journal_counts(db, mailing.id) == {(Channel.EMAIL, DeliveryStatus.PENDING): 2}


async def test_a_server_quoting_the_password_back_never_gets_it_into_the_journal(
    tmp_path: Path,
) -> None:
    """A careless server echoes the password in its refusal: the text kept is masked."""
    wrong = "Wr0ng-secret-99!"
    async with smtp_server("plain", echo_password=True) as server:
        cfg = SmtpConfig(
            host=HOST,
            port=server.port,
            security="none",
            sender_email=SENDER,
            username=USER,
            password=SecretStr(wrong),
        )
        with pytest.raises(ChannelDown) as caught:
            await open_connection(cfg)
    assert caught.value.code == "auth_failed"
    assert "535" in caught.value.text and "***" in caught.value.text
    assert all(secret not in caught.value.text for secret in cfg.secrets())


def test_the_engine_writes_out_exactly_the_bytes_the_email_generator_would() -> None:
    for name, image in (("Анна Иванова " * 5, b"\x89PNG" * 500), (None, None)):
        message = build_email(
            sender_email=SENDER,
            sender_name="Ресторан «Пхали»",
            to_email=email_of(1),
            to_name=name,
            subject="Анна, у вас бонусы " * 6,
            html="<p>Здравствуйте!</p>",
            plain="Здравствуйте!\nЖдём вас.",
            image=image,
            image_subtype="png" if image else None,
            image_cid="cid@probonus.test" if image else None,
            unsubscribe_token="1-abc",
            message_id_domain="probonus.test",
        )
        assert wire_bytes(message) == message.as_bytes()


@given(st.text())
def test_a_plain_text_shown_as_html_keeps_every_word_and_adds_only_paragraphs_and_breaks(
    text: str,
) -> None:
    """The settings' test email: its text as HTML, nothing in it read as markup."""
    html = html_of_plain(text)
    words = re.sub(r"</?p>|<br>", " ", html)
    assert "<" not in words and ">" not in words
    assert html_lib.unescape(words).split() == text.split()
    message = build_email(
        sender_email=SENDER,
        sender_name=None,
        to_email=email_of(1),
        to_name=None,
        subject="Test",
        html=html,
        plain=text,
        image=None,
        image_subtype=None,
        image_cid=None,
        unsubscribe_token=None,
        message_id_domain="probonus.test",
    )
    assert wire_bytes(message) == message.as_bytes()


def _plain_config(port: int) -> SmtpConfig:
    """Settings for the test sink without TLS (it offers AUTH anyway)."""
    return SmtpConfig(
        host=HOST,
        port=port,
        security="none",
        sender_email=SENDER,
        username=USER,
        password=SecretStr(PASSWORD),
    )


def _raw(index: int) -> bytes:
    """A small message for guest `index`, with a line starting with a dot (dot-stuffing)."""
    message = build_email(
        sender_email=SENDER,
        sender_name=None,
        to_email=email_of(index),
        to_name=None,
        subject="Бонусы",
        html="<p>Здравствуйте!</p>",
        plain="Здравствуйте!\n.\n..две точки",
        image=None,
        image_subtype=None,
        image_cid=None,
        unsubscribe_token="1-abc",
        message_id_domain="probonus.test",
    )
    return wire_bytes(message)


def _count_quits(server: Sink) -> list[str]:
    """The QUITs the server answers on connections opened from now on (aiosmtpd reads
    the handler's hooks when a connection opens); each entry is the peer's address."""
    quits: list[str] = []

    async def handle_quit(smtp: SMTP, session: Session, envelope: Envelope) -> str:
        quits.append(str(session.peer[0] if isinstance(session.peer, tuple) else session.peer))
        return "221 Bye"

    setattr(server.recorder, "handle_QUIT", handle_quit)  # noqa: B010 (not a field of Flaky)
    return quits


async def _send(client: aiosmtplib.SMTP, index: int, sender: str = SENDER) -> Step:
    """send_message() to guest `index`; the step it got to (raises what it raises)."""
    step = Step()
    await send_message(client, sender, email_of(index), _raw(index), step)
    return step


@pytest.mark.parametrize("group_replies", [True, False], ids=["replies-at-once", "one-by-one"])
async def test_pipelined_mail_rcpt_data_go_in_one_write_and_refusals_keep_the_line(
    group_replies: bool,
) -> None:
    refused, stranger = frozenset({email_of(3)}), "stranger@elsewhere.test"
    async with sink(
        refused_recipients=refused,
        refused_senders=frozenset({stranger}),
        defer_once={email_of(4)},
        group_replies=group_replies,
    ) as server:
        quits = _count_quits(server)
        client = await open_connection(_plain_config(server.port))
        assert pipelines(client)
        assert (await _send(client, 1)).name == "data"
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as bounced:
            await _send(client, 3)
        assert bounced.value.code == 550 and "5.1.1" in bounced.value.message
        await client.rset()  # as the sender does after a refusal
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as greylisted:
            await _send(client, 4)
        assert greylisted.value.code == 451
        await client.rset()
        assert (await _send(client, 4)).name == "data"  # the retry goes through
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as sender:
            await _send(client, 5, sender=stranger)
        assert sender.value.code == 553
        await client.rset()
        await _send(client, 2)
        assert (await client.quit()).code == 221  # still in step after all the pipelining
        assert quits == [HOST] and not client.is_connected
        assert server.recorder.connections == 1  # one line for all of it
        assert server.recorder.pipelined == server.recorder.mails == 6
    assert server.recorder.per_recipient() == {email_of(i): 1 for i in (1, 2, 4)}
    body = next(m for m in server.received if m.rcpt_tos == [email_of(1)]).message
    plain = body.get_body(("plain",))
    assert plain is not None
    lines = plain.get_content().splitlines()
    assert lines[lines.index(".") + 1] == "..две точки"  # dot-stuffed and unstuffed intact


async def test_a_server_answering_354_after_a_refused_recipient_gets_a_lone_dot() -> None:
    """RFC 2920 3.1: DATA accepted although no recipient was: end the empty message."""
    refused = frozenset({email_of(2)})
    async with sink(
        refused_recipients=refused, sloppy_recipients=True, group_replies=False
    ) as server:
        client = await open_connection(_plain_config(server.port))
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as caught:
            await _send(client, 2)
        assert caught.value.code == 550
        await client.rset()
        await _send(client, 1)  # the connection is in step
        await client.quit()
        assert server.recorder.connections == 1
    assert server.recorder.per_recipient() == {email_of(1): 1}


async def test_a_server_without_pipelining_gets_one_command_at_a_time(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 6))
    async with sink(pipelining=False, refused_recipients=frozenset({email_of(5)})) as server:
        quits = _count_quits(server)
        client = await open_connection(_plain_config(server.port))
        assert not pipelines(client)
        with pytest.raises(aiosmtplib.SMTPRecipientRefused):
            await _send(client, 5)
        assert (await client.quit()).code == 221
        assert quits == [HOST] and not client.is_connected
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=[Channel.EMAIL])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, MailingStatus.COMPLETED)
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 5)}
        assert server.recorder.pipelined == 0
    counts = await journal_counts(db, mailing.id)
    assert counts == {
        (Channel.EMAIL, DeliveryStatus.SENT): 4,
        (Channel.EMAIL, DeliveryStatus.FAILED): 1,
    }
