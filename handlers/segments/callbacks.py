"""Buttons of /segments: the list and a segment's card, and the builder's steps."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class SegAction(StrEnum):
    """What the list and a segment's card offer."""

    OPEN = "open"
    NEW = "new"
    RENAME = "rename"
    EDIT = "edit"
    DUPLICATE = "dup"
    DELETE = "del"  # asks first
    DELETE_YES = "del_yes"  # the deletion confirmed
    LIST = "list"


class SegCb(CallbackData, prefix="seg"):
    action: SegAction
    segment_id: int = 0


class BuildAction(StrEnum):
    """The builder page and its steps' navigation."""

    ADD = "add"
    OR = "or"
    UNDO = "undo"
    SAVE = "save"
    BACK = "back"
    CANCEL = "cancel"


class BuildCb(CallbackData, prefix="segb"):
    action: BuildAction


class FieldCb(CallbackData, prefix="segf"):
    """A condition's field picked (checked against the builder's list)."""

    field: str


class OpCb(CallbackData, prefix="sego"):
    op: str


class ValueCb(CallbackData, prefix="segv"):
    """A value picked from buttons: sex, month, or whether guests with no date are in."""

    value: str
