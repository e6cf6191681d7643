"""A loaded YAML (or JSON) document: its plain data and where every value came from (see
pingji.lang.source, which loads it)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pingji.diagnostics import Location

__all__ = ["Document", "Key", "Path"]

Key = str | int
Path = tuple[Key, ...]


@dataclass(frozen=True)
class Document:
    """A loaded YAML document: its plain data and the source location of every node in it."""

    file: str
    data: Any
    marks: Mapping[Path, Location]
    key_marks: Mapping[Path, Location]
    text: str = field(default="", repr=False, compare=False)

    def scalar_locator(self, path: Sequence[Key], value: str) -> Callable[[int], Location]:
        """Maps an offset inside the string value at `path` to where that character stands in the file.

        Plain, quoted and block scalars all work: the value's characters are matched, in order, to
        the source text from the scalar's start, skipping the quotes, block indicators, line breaks
        and indentation YAML folded away.
        """
        start = self.loc(path)
        line_starts = self._line_starts
        if not self.text or start.line < 1 or start.line > len(line_starts):
            return lambda offset: Location(start.file, start.line, start.col + offset)
        i = line_starts[start.line - 1] + start.col - 1
        raw = self.text
        if i < len(raw) and raw[i] in "\"'":
            i += 1
        elif i < len(raw) and raw[i] in "|>":
            nl = raw.find("\n", i)
            i = len(raw) if nl < 0 else nl + 1
        positions: list[int] = []
        for ch in value:
            j = i
            while j < len(raw) and raw[j] != ch and not (ch == " " and raw[j] in "\n\t"):
                if raw[j] not in " \t\r\n\\\"'":
                    break
                j += 1
            if j < len(raw) and (raw[j] == ch or ch == " "):
                i = j
            positions.append(i)
            i += 1
        end = i

        def locate(offset: int) -> Location:
            idx = positions[offset] if 0 <= offset < len(positions) else end
            line = bisect.bisect_right(line_starts, idx) - 1
            return Location(start.file, line + 1, idx - line_starts[line] + 1)

        return locate

    @cached_property
    def _line_starts(self) -> list[int]:
        """Where each line of the text starts, found once: a rulebook of 20,000 metrics asks for a
        locator 20,000 times (splitting the text for each took a minute; issue 12.8)."""
        starts = [0]
        i = self.text.find("\n")
        while i >= 0:
            starts.append(i + 1)
            i = self.text.find("\n", i + 1)
        return starts

    def loc(self, path: Sequence[Key]) -> Location:
        """Location of the value at `path`, or of its nearest ancestor that has one.

        The empty path (and any path with no located ancestor) is the start of the document.
        """
        p = tuple(path)
        while p:
            found = self.marks.get(p)
            if found is not None:
                return found
            p = p[:-1]
        return Location(self.file, 1, 1)

    def key_loc(self, path: Sequence[Key]) -> Location:
        """Location of the mapping key of the entry at `path` if known, else `loc(path)`."""
        found = self.key_marks.get(tuple(path))
        return found if found is not None else self.loc(path)
