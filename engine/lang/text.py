"""Bilingual text: the titles and reasons rulebooks write in Chinese and English."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Text", "parse_text"]


@dataclass(frozen=True)
class Text:
    """A title or reason in Chinese and English (either may be empty)."""

    zh: str = ""
    en: str = ""

    def get(self, lang: str = "en") -> str:
        first, second = (self.zh, self.en) if lang == "zh" else (self.en, self.zh)
        return first or second

    def to_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


def parse_text(value: Any) -> Text:
    """A rulebook's text field: `{zh: ..., en: ...}`, or one string for both languages, or nothing."""
    if isinstance(value, Mapping):
        return Text(str(value.get("zh", "")), str(value.get("en", "")))
    if value is None:
        return Text()
    return Text(str(value), str(value))
