"""A guest stops emails with the link every email carries: it opens the bot and is done."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.unsubscribe import UnsubscribeTokens
from storage.guests import GuestRecord, GuestRepository
from tests.conftest import GUEST, STRANGER, RunningBot

KEY = b"k" * 32
INVALID = (
    "This unsubscribe link is not valid. Please open it again from the email, "
    "or reply to the email and ask us to unsubscribe you."
)


def repo(bot: RunningBot) -> GuestRepository:
    assert bot.app is not None
    return GuestRepository(bot.app.db)


def tokens(bot: RunningBot) -> UnsubscribeTokens:
    assert bot.app is not None
    found = bot.app.services.unsubscribe_tokens
    assert isinstance(found, UnsubscribeTokens)
    return found


@given(st.integers(min_value=1, max_value=2**53))
def test_a_token_names_its_guest_and_fits_a_start_payload(guest_id: int) -> None:
    signer = UnsubscribeTokens(KEY)
    payload = signer.payload(guest_id)
    assert len(payload) <= 64 and all(c.isalnum() or c in "-_" for c in payload)
    assert signer.guest_of_payload(payload) == guest_id
    # Another key, or another guest's number with this signature, is refused.
    assert UnsubscribeTokens(b"x" * 32).guest_of_payload(payload) is None
    forged = payload.replace(f"-{guest_id}-", f"-{guest_id + 1}-", 1)
    assert signer.guest_of_payload(forged) is None


@given(st.text(max_size=80))
def test_any_payload_is_either_a_valid_token_or_refused(payload: str) -> None:
    signer = UnsubscribeTokens(KEY)
    guest = signer.guest_of_payload(payload)
    assert guest is None or signer.payload(guest) == payload.strip()


async def test_the_link_unsubscribes_the_guests_email_and_nothing_else(bot: RunningBot) -> None:
    await repo(bot).upsert_many(
        [
            GuestRecord(phone="+79161234567", email="anna@example.com"),
            GuestRecord(phone="+79161234568", email="boris@example.com"),
        ]
    )
    anna = await repo(bot).by_phone("+79161234567")
    assert anna is not None and anna.email_status == "active"
    # A stranger in Telegram (the link works for whoever holds the email).
    reply = await bot.say(STRANGER, f"/start {tokens(bot).payload(anna.id)}")
    text = reply.plain_text or ""
    assert "a***@example.com will get no more emails" in text
    assert "anna@example.com" not in text
    after = await repo(bot).get(anna.id)
    assert after is not None and after.email_status == "unsubscribed"
    assert after.tg_status == "none"  # Telegram was not touched
    boris = await repo(bot).by_phone("+79161234568")
    assert boris is not None and boris.email_status == "active"
    # Opening it again says the same, changes nothing.
    again = await bot.say(STRANGER, f"/start {tokens(bot).payload(anna.id)}")
    assert "will get no more emails" in (again.plain_text or "")
    # A re-import of the same address does not subscribe her again.
    await repo(bot).upsert_many([GuestRecord(phone="+79161234567", email="anna@example.com")])
    still = await repo(bot).get(anna.id)
    assert still is not None and still.email_status == "unsubscribed"


async def test_a_forged_link_changes_nothing(bot: RunningBot) -> None:
    await repo(bot).upsert_many([GuestRecord(phone="+79161234567", email="anna@example.com")])
    anna = await repo(bot).by_phone("+79161234567")
    assert anna is not None
    real = tokens(bot).payload(anna.id)
    forged = real[:-1] + ("0" if real[-1] != "0" else "1")
    # Her own number with a wrong signature, a signature cut short, another's signature.
    other = tokens(bot).payload(anna.id + 1).rsplit("-", 1)[1]
    for payload in (forged, f"unsub-{anna.id}-0000", real[:-1], f"unsub-{anna.id}-{other}"):
        reply = await bot.say(GUEST, f"/start {payload}")
        assert reply.plain_text == INVALID, (payload, reply.plain_text)
        after = await repo(bot).get(anna.id)
        assert after is not None and after.email_status == "active", payload
    # A plain /start still offers the Telegram subscription.
    reply = await bot.say(GUEST, "/start")
    assert "share your phone number" in (reply.plain_text or "")
