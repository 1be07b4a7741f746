"""The step order /new and the promotion editor share: Next and Back agree, skipped steps
stay skipped both ways, and an edited draft always returns to the preview or a gap."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from handlers.components.step_order import PREVIEW, StepOrder
from handlers.new_mailing.flow import ORDER as NEW_MAILING
from handlers.promos.flow import ORDER as PROMOTION

STEPS = tuple(f"s{i}" for i in range(8))


@st.composite
def orders(draw: st.DrawFn) -> tuple[StepOrder, dict[str, Any]]:
    skipped = draw(st.sets(st.sampled_from(STEPS)))
    answered = draw(st.sets(st.sampled_from(STEPS)))
    order = StepOrder(
        STEPS,
        lambda step, _data: step not in skipped,
        lambda step, _data: step in answered,
    )
    return order, {"editing": draw(st.booleans())}


@given(orders(), st.sampled_from(STEPS))
def test_next_and_back_agree_and_never_land_on_a_skipped_step(
    case: tuple[StepOrder, dict[str, Any]], current: str
) -> None:
    order, data = case
    after = order.next_step(current, data)
    assert after == PREVIEW or order.applies(after, data)
    if data["editing"]:
        assert after == (order.missing(data) or PREVIEW)
        return
    later = [step for step in STEPS[STEPS.index(current) + 1 :] if order.applies(step, data)]
    if later:
        # The next asked step in order, and Back from it returns here.
        assert after == later[0]
        if order.applies(current, data):
            assert order.previous_step(after, data) == current
    else:
        # Past the last step: the first gap left, or the preview.
        assert after == (order.missing(data) or PREVIEW)


@given(orders())
def test_missing_is_the_first_unanswered_step(case: tuple[StepOrder, dict[str, Any]]) -> None:
    order, data = case
    gap = order.missing(data)
    asked = [step for step in STEPS if order.applies(step, data)]
    unanswered = [step for step in asked if not order.filled(step, data)]
    assert gap == (unanswered[0] if unanswered else None)
    # Back from a complete edited draft is the preview.
    if data["editing"] and gap is None:
        assert all(order.previous_step(step, data) == PREVIEW for step in STEPS)


def test_a_mailing_without_email_never_asks_the_subject_or_the_mode() -> None:
    data = {"channels": ["telegram"], "name": "Spring", "segment_id": 1, "day": "2026-12-24"}
    assert NEW_MAILING.next_step("channels", data) == "text"
    assert NEW_MAILING.previous_step("text", data) == "channels"
    both = {**data, "channels": ["telegram", "email"]}
    assert NEW_MAILING.next_step("channels", both) == "mode"
    assert NEW_MAILING.next_step("mode", both) == "subject"
    assert NEW_MAILING.previous_step("text", both) == "subject"


def test_a_promotion_asks_the_days_only_for_a_schedule_that_has_them() -> None:
    assert PROMOTION.next_step("kind", {"kind": "daily"}) == "time"
    assert PROMOTION.next_step("kind", {"kind": "weekly"}) == "param"
    assert PROMOTION.previous_step("time", {"kind": "daily"}) == "kind"
