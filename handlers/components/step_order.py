"""A guided conversation's step order: which step is next, which came before, what is missing.

/new and the promotion editor share it (docs/architecture.md, "Conversations and shared
components"); each names its steps and says which apply to the answers so far and which
are answered. While an existing draft is edited, every answer leads back to the preview,
or to the first step a change has left unanswered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PREVIEW = "preview"

Answers = dict[str, Any]


@dataclass(frozen=True)
class StepOrder:
    steps: tuple[str, ...]
    applies: Callable[[str, Answers], bool]
    filled: Callable[[str, Answers], bool]

    def missing(self, data: Answers) -> str | None:
        """The first step that still needs an answer, or None when everything is answered."""
        for step in self.steps:
            if self.applies(step, data) and not self.filled(step, data):
                return step
        return None

    def next_step(self, current: str, data: Answers) -> str:
        """The step after `current`: in order; when editing, the first unanswered or the
        preview."""
        if not data.get("editing") and current in self.steps:
            for step in self.steps[self.steps.index(current) + 1 :]:
                if self.applies(step, data):
                    return step
        return self.missing(data) or PREVIEW

    def previous_step(self, current: str, data: Answers) -> str | None:
        """The step before `current` (the preview when editing a complete draft)."""
        if data.get("editing") and self.missing(data) is None:
            return PREVIEW
        if current not in self.steps:
            return None
        for step in reversed(self.steps[: self.steps.index(current)]):
            if self.applies(step, data):
                return step
        return None
