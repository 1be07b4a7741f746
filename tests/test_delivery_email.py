"""Email deliveries end to end: a real SMTP server (aiosmtpd with AUTH) receives them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from pydantic import SecretStr

from bot.delivery.base import ChannelDown
from bot.delivery.email_message import build_email, wire_bytes
from bot.delivery.email_sender import check_unsubscribe_token, open_connection, unsubscribe_token
from bot.smtp import SmtpConfig
from tests.conftest import ADMIN, RunningBot
from tests.delivery_smtp import sink
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
from tests.smtp_servers import HOST, USER, make_certificate, smtp_server


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
        mailing = await create_mailing(db, channels=["email"], image_path=image)
        assert await engine_of(bot).launch(mailing.id)
        assert await wait_status(db, mailing.id, "completed") == "completed"
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 7)}
        # One pool: a handful of connections for six messages, not one each.
        assert server.recorder.connections <= engine_of(bot).pool_size
    message = next(m.message for m in server.received if m.rcpt_tos == [email_of(1)])
    assert message["Subject"] == "Анна, у вас бонусы"
    assert str(message["From"]) == f"Ресторан «Пхали» <{SENDER}>"
    assert "Анна Иванова" in str(message["To"])
    assert message["Date"] and message["Message-ID"]
    assert (
        message["List-Unsubscribe"].strip().startswith(f"<mailto:{SENDER}?subject=unsubscribe%20")
    )
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "Здравствуйте, Анна!" in plain.get_content()
    assert "unsubscribe" in plain.get_content()
    html_text = html.get_content()
    assert "<b>Анна</b>" in html_text
    image_parts = [p for p in message.walk() if p.get_content_maintype() == "image"]
    assert len(image_parts) == 1
    cid = str(image_parts[0]["Content-ID"]).strip("<>")
    assert f"cid:{cid}" in html_text
    rows = {r["address"]: r for r in await journal(db, mailing.id) if r["channel"] == "email"}
    assert rows[email_of(1)]["external_id"] == message["Message-ID"]
    assert rows[email_of(1)]["sent_at"]
    skipped = [r for r in await journal(db, mailing.id) if r["status"] == "skipped"]
    assert [r["error_code"] for r in skipped] == ["no_email"]


async def test_a_greylisted_address_is_retried_and_gets_the_email_once(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 4))
    async with sink(defer_once={email_of(2)}) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=["email"])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, "completed")
        assert server.recorder.deferred[email_of(2)] == 1
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 4)}
    assert await journal_counts(db, mailing.id) == {("email", "sent"): 3}


async def test_a_refused_mailbox_fails_its_row_and_is_marked_bounced(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 4))
    async with sink(refused_recipients=frozenset({email_of(3)})) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=["email"])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, "completed")
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert rows[email_of(3)]["status"] == "failed"
    assert rows[email_of(3)]["error_code"] == "bounced"
    assert "550" in rows[email_of(3)]["error"]
    status = await db.fetchval("SELECT email_status FROM guests WHERE email = ?", (email_of(3),))
    assert status == "bounced"
    # The next mailing skips the bounced address and says why.
    second = await create_mailing(db, channels=["email"], name="Второе")
    async with sink() as server:
        await use_smtp(db, data_dir, server)
        await engine_of(bot).launch(second.id)
        await wait_status(db, second.id, "completed")
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
        mailing = await create_mailing(db, channels=["email"])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, "completed")
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 31)}
        assert server.recorder.connections > engine_of(bot).pool_size  # it did reconnect
    assert await journal_counts(db, mailing.id) == {("email", "sent"): 30}


async def test_a_line_dropped_after_the_message_was_handed_over_is_unknown_not_resent(
    bot: RunningBot, data_dir: Path
) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 5))
    async with sink(drop_after_data={email_of(2)}) as server:
        await use_smtp(db, data_dir, server)
        mailing = await create_mailing(db, channels=["email"])
        await engine_of(bot).launch(mailing.id)
        await wait_status(db, mailing.id, "completed")
        # The server took it, the answer was lost: it must not go out a second time.
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 5)}
    rows = {r["address"]: r for r in await journal(db, mailing.id)}
    assert rows[email_of(2)]["status"] == "unknown"
    assert rows[email_of(2)]["error_code"] == "no_answer"
    assert await journal_counts(db, mailing.id) == {("email", "sent"): 3, ("email", "unknown"): 1}


def test_an_unsubscribe_token_names_its_guest_and_cannot_be_forged() -> None:
    token = unsubscribe_token(42, b"key")
    assert check_unsubscribe_token(token, b"key") == 42
    assert check_unsubscribe_token(token, b"other key") is None
    assert check_unsubscribe_token(token.replace("42-", "43-"), b"key") is None
    assert check_unsubscribe_token("garbage", b"key") is None


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
        mailing = await create_mailing(db, channels=["email"])
        await engine.launch(mailing.id)
        assert await wait_status(db, mailing.id, "paused") == "paused"
        await bot.settle()
        notice = next(t for t in bot.api.sent_texts(ADMIN) if "paused after" in t)
        assert "Email" in notice and "3 failures in a row" in notice
        # Nothing was lost: every row waits, pending.
        assert await journal_counts(db, mailing.id) == {("email", "pending"): 10}
        await server.start()
        await bot.press(ADMIN, "Resume")
        await wait_status(db, mailing.id, "completed")
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
        mailing = await create_mailing(db, channels=["email"])
        await engine.launch(mailing.id)
        await wait_status(db, mailing.id, "completed")
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
        both = await create_mailing(db, channels=["telegram", "email"], name="Обе")
        await engine_of(bot).launch(both.id)
        await wait_status(db, both.id, "completed")
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in range(1, 6)}
        counts = await journal_counts(db, both.id)
        assert counts[("telegram", "sent")] == 3
        assert counts[("telegram", "failed")] == 1  # guest 2 blocked the bot
        assert counts[("telegram", "skipped")] == 1  # guest 5 has no Telegram
        status = await db.fetchval(
            "SELECT tg_status FROM guests WHERE tg_chat_id = ?", (chat_of(2),)
        )
        assert status == "blocked"

        await bot.settle()  # the summary of the first mailing is out
        bot.api.block_chat(chat_of(3))
        server.recorder.received.clear()
        sent_before = len([c for c in bot.api.calls_of("sendMessage") if c.ok])
        first = await create_mailing(
            db, channels=["telegram", "email"], send_mode="priority", name="Сначала Telegram"
        )
        await engine_of(bot).launch(first.id)
        await wait_status(db, first.id, "completed")
        await bot.settle()
        # Telegram first: 1 and 4 by Telegram; 3 blocked now, so email; 2 is known
        # blocked (skipped on Telegram) and 5 has no Telegram: both by email.
        assert server.recorder.per_recipient() == {email_of(i): 1 for i in (2, 3, 5)}
        sent_now = len([c for c in bot.api.calls_of("sendMessage") if c.ok]) - sent_before
        assert sent_now == 2 + 2  # two guests, plus the progress message and the summary
        rows = await journal(db, first.id)
        by_guest = {(r["phone"], r["channel"]): (r["status"], r["error_code"]) for r in rows}
        assert by_guest[("+79000000003", "telegram")] == ("failed", "blocked")
        assert by_guest[("+79000000003", "email")] == ("sent", None)
        assert by_guest[("+79000000002", "telegram")] == ("skipped", "blocked")
        assert ("+79000000001", "email") not in by_guest
    assert await status_of(db, first.id) == "completed"


async def test_email_not_set_up_pauses_the_channel_at_once(bot: RunningBot) -> None:
    assert bot.app is not None
    db = bot.app.db
    await add_guests(db, range(1, 3))
    mailing = await create_mailing(db, channels=["email"])
    await engine_of(bot).launch(mailing.id)
    await wait_status(db, mailing.id, "paused")
    await wait_until(
        lambda: any("not set up" in t for t in bot.api.sent_texts(ADMIN)), what="the notice"
    )
    assert await journal_counts(db, mailing.id) == {("email", "pending"): 2}


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
