"""A loaded YAML (or JSON) document: its plain data and where every value came from (see
pingji.lang.source, which loads it)."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
        lines = self.text.split("\n")
        if not self.text or start.line < 1 or start.line > len(lines):
            return lambda offset: Location(start.file, start.line, start.col + offset)
        line_starts = [0]
        for ln in lines[:-1]:
            line_starts.append(line_starts[-1] + len(ln) + 1)
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
