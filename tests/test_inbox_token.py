"""The token of an unsubscribe email: any guest's round-trips, any changed character is refused."""

from __future__ import annotations

import re
from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from bot.delivery.email_message import build_email
from bot.inbox.reports import UnsubscribeRequest, read_message
from bot.unsubscribe import UnsubscribeTokens

KEY = b"k" * 32
SIGNER = UnsubscribeTokens(KEY)
guest_ids = st.integers(min_value=1, max_value=2**53)


@given(guest_ids, st.sampled_from(["", "Re: ", "RE: Fwd: ", "Отписка: "]))
def test_any_guests_subject_names_that_guest(guest_id: int, prefix: str) -> None:
    subject = SIGNER.subject(guest_id)
    assert re.fullmatch(r"unsubscribe-\d+-[0-9a-f]{20}", subject) and len(subject) <= 52
    assert SIGNER.guest_of_subject(prefix + subject) == guest_id
    assert UnsubscribeTokens(b"x" * 32).guest_of_subject(subject) is None


@given(guest_ids, st.data())
def test_any_change_of_one_character_is_refused(guest_id: int, data: st.DataObject) -> None:
    token = SIGNER.token(guest_id)
    at = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    alphabet = "0123456789abcdefABCDEF-_xz"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != token[at]]))
    changed = token[:at] + replacement + token[at + 1 :]
    assert SIGNER.guest_of_subject(f"unsubscribe-{changed}") is None
    assert SIGNER.guest_of(changed) is None


@given(guest_ids)
def test_the_emails_mailto_carries_the_token_the_mailbox_reader_accepts(guest_id: int) -> None:
    message = build_email(
        sender_email="bonus@restaurant.test",
        sender_name=None,
        to_email="anna@example.test",
        to_name=None,
        subject="Весеннее меню",
        html="<p>Hi</p>",
        plain="Hi",
        image=None,
        image_subtype=None,
        image_cid=None,
        unsubscribe_token=SIGNER.token(guest_id),
        message_id_domain="restaurant.test",
        unsubscribe_link=f"https://t.me/probonus_bot?start={SIGNER.payload(guest_id)}",
    )
    header = " ".join(str(message["List-Unsubscribe"]).split())
    found = re.fullmatch(
        r"<mailto:bonus@restaurant\.test\?subject=([^>]+)>, <https://t\.me/[^>]+>", header
    )
    assert found is not None, header
    reply = f"To: bonus@restaurant.test\r\nSubject: {unquote(found.group(1))}\r\n\r\nplease\r\n"
    assert read_message(reply.encode(), SIGNER) == UnsubscribeRequest(guest_id)
    plain = message.get_body(("plain",))
    assert plain is not None and SIGNER.subject(guest_id) in plain.get_content()
