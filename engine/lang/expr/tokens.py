"""The tokenizer of expressions: text → tokens, stopping at the first bad character.

Forbidden Python constructs (`**`, `lambda`, `=`, `&&`, single quotes, ...) become a `bad`
token carrying the error (E301 syntax, E306 forbidden, E307 number out of range) and a hint.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_LITERAL", "Token", "clip", "describe_char", "tokenize"]

MAX_LITERAL = 1e15

_KEYWORDS = frozenset({"and", "or", "not", "true", "false"})
_PY_KEYWORDS = frozenset({
    "if", "else", "elif", "for", "while", "in", "is", "import", "from", "lambda", "def", "class",
    "return", "yield", "with", "as", "global", "nonlocal", "del", "pass", "raise", "try", "except",
    "finally", "assert", "async", "await", "break", "continue",
})
_PY_CONSTANTS = {
    "True": "'True' is not allowed (did you mean 'true'?)",
    "False": "'False' is not allowed (did you mean 'false'?)",
    "None": "'None' is not allowed (test for an absent value with missing(x))",
}
_OPS2 = frozenset({"==", "!=", "<=", ">="})
_FORBIDDEN2 = {
    "**": "'**' is not allowed",
    "//": "'//' is not allowed",
    "&&": "'&&' is not allowed (did you mean 'and'?)",
    "||": "'||' is not allowed (did you mean 'or'?)",
    ":=": "':=' is not allowed",
    "<>": "'<>' is not allowed (did you mean '!='?)",
    "<<": "'<<' is not allowed",
    ">>": "'>>' is not allowed",
}
_FORBIDDEN1 = {
    "=": "'=' is not allowed (did you mean '=='?)",
    "!": "'!' is not allowed (did you mean 'not'?)",
    "&": "'&' is not allowed (did you mean 'and'?)",
    "|": "'|' is not allowed (did you mean 'or'?)",
    "%": "'%' is not allowed",
    "@": "'@' is not allowed",
    "^": "'^' is not allowed",
    "~": "'~' is not allowed",
    ";": "';' is not allowed",
    ":": "':' is not allowed",
    "`": "'`' is not allowed",
    "{": "'{' is not allowed",
    "}": "'}' is not allowed",
    "'": "single-quoted strings are not allowed (use double quotes)",
}
_DIGITS = "0123456789"
_SPACE = " \t\r\n"


@dataclass(slots=True)
class Token:
    """One token; `bad` tokens carry the error to raise (`code`, `message`)."""

    kind: str  # num str name kw op ( ) , [ ] . bad eof
    text: str
    start: int
    value: Any = None
    # names: the array prefix, the path inside an item, and the first problem (offset, code, message)
    array: str | None = None
    item_path: str = ""
    problem: tuple[int, str, str] | None = None
    # bad tokens: the error to raise
    code: str = ""
    message: str = ""


def _ident_start(c: str) -> bool:
    return c == "_" or c.isalpha()


def _ident_char(c: str) -> bool:
    return c == "_" or c.isalpha() or c in _DIGITS


def describe_char(c: str) -> str:
    """'unexpected X' for an error message, with the character's name and a full-width hint."""
    if c.isprintable() and not c.isspace():
        text = f"unexpected '{c}'"
    else:
        text = f"unexpected character U+{ord(c):04X}"
        name = unicodedata.name(c, "")
        if name:
            text += f" ({name})"
    norm = unicodedata.normalize("NFKC", c)
    if norm != c and len(norm) == 1 and norm.isascii() and norm.isprintable() and not norm.isspace():
        text += f" (a full-width character; did you mean '{norm}'?)"
    return text


def tokenize(text: str) -> list[Token]:
    """Tokens, ending with `eof` or with one `bad` token (lexing stops at the first error)."""
    toks: list[Token] = []
    n = len(text)
    i = 0

    def bad(at: int, code: str, message: str, shown: str = "") -> list[Token]:
        toks.append(Token("bad", shown or text[at:at + 1], at, code=code, message=message))
        return toks

    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            toks.append(Token("eof", "", n))
            return toks
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c in _DIGITS or (c == "." and nxt in _DIGITS and nxt):
            j = i
            while j < n and text[j] in _DIGITS:
                j += 1
            is_float = False
            if j < n and text[j] == ".":
                is_float = True
                j += 1
                while j < n and text[j] in _DIGITS:
                    j += 1
            if j < n and text[j] in "eE":
                is_float = True
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k] in _DIGITS:
                    j = k
                    while j < n and text[j] in _DIGITS:
                        j += 1
                else:
                    return bad(i, "E301", f"malformed number '{text[i:k]}'", text[i:k])
            if j < n and (_ident_char(text[j]) or text[j] == "."):
                k = j
                while k < n and (_ident_char(text[k]) or text[k] == "."):
                    k += 1
                return bad(i, "E301", f"malformed number '{clip(text[i:k])}'", text[i:k])
            lit = text[i:j]
            value: int | float = float(lit) if is_float else int(lit)
            if abs(value) > MAX_LITERAL or not math.isfinite(value):  # int vs float: no float() of a huge int
                return bad(i, "E307", f"number out of range: {clip(lit)} "
                                      f"(numbers must be finite and at most 1e15 in size)", lit)
            toks.append(Token("num", lit, i, value))
            i = j
        elif c == '"':
            j = i + 1
            buf: list[str] = []
            while True:
                if j >= n:
                    return bad(i, "E301", "unterminated string", text[i:])
                ch = text[j]
                if ch == '"':
                    break
                if ch == "\\":
                    esc = text[j + 1] if j + 1 < n else ""
                    if esc in ('"', "\\") and esc:
                        buf.append(esc)
                        j += 2
                        continue
                    if not esc:
                        return bad(i, "E301", "unterminated string", text[i:])
                    return bad(j, "E301", f"unsupported escape '\\{esc}' in a string (only \\\" and \\\\ are "
                                          f"allowed)", text[j:j + 2])
                buf.append(ch)
                j += 1
            toks.append(Token("str", text[i:j + 1], i, "".join(buf)))
            i = j + 1
        elif _ident_start(c):
            start = i
            segments: list[str] = []
            arrays: list[int] = []
            problems: list[tuple[int, str, str]] = []
            while True:
                j = i
                while j < n and _ident_char(text[j]):
                    j += 1
                seg = text[i:j]
                if seg.startswith("_"):
                    problems.append((i, "E306", "names starting with '_' are not allowed"))
                if text.startswith("[]", j):
                    arrays.append(len(segments))
                    if len(arrays) == 2:
                        problems.append((j, "E306", "nested arrays are not supported "
                                                    "(use one '[]' in a name)"))
                    seg += "[]"
                    j += 2
                segments.append(seg)
                if j < n and text[j] == ".":
                    if j + 1 < n and _ident_start(text[j + 1]):
                        i = j + 1
                        continue
                    if j + 1 >= n:
                        return bad(j + 1, "E301", "unexpected end of expression", "")
                    return bad(j + 1, "E301", f"expected a name after '.', got "
                                              f"{describe_char(text[j + 1]).removeprefix('unexpected ')}")
                i = j
                break
            path = ".".join(segments)
            if len(segments) == 1 and not arrays:
                if path in _KEYWORDS:
                    toks.append(Token("kw", path, start))
                    continue
                if path in _PY_KEYWORDS:
                    return bad(start, "E306", f"'{path}' is not allowed", path)
                if path in _PY_CONSTANTS:
                    return bad(start, "E306", _PY_CONSTANTS[path], path)
            tok = Token("name", path, start)
            if arrays:
                k = arrays[0]
                tok.array = ".".join(segments[:k] + [segments[k][:-2]])
                tok.item_path = ".".join(segments[k + 1:])
            if problems:
                tok.problem = min(problems)
            toks.append(tok)
        else:
            two = text[i:i + 2]
            if two in _OPS2:
                toks.append(Token("op", two, i))
                i += 2
            elif two in _FORBIDDEN2:
                return bad(i, "E306", _FORBIDDEN2[two], two)
            elif c in "+-*/<>":
                toks.append(Token("op", c, i))
                i += 1
            elif c in "(),[].":
                toks.append(Token(c, c, i))
                i += 1
            elif c in _FORBIDDEN1:
                return bad(i, "E306", _FORBIDDEN1[c])
            else:
                return bad(i, "E301", describe_char(c))


def clip(s: str, limit: int = 24) -> str:
    """`s` shortened to `limit` characters for an error message."""
    return s if len(s) <= limit else s[: limit - 3] + "..."
