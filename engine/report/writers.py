"""Writers: the Markdown document being written in one language, and the self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from pingji.report.formats import DASH
from pingji.report.labels import NOTES, SECTIONS, WORDS, Pair

_CN_NUMERALS = "一二三四五六七八九十"


class MarkdownDoc:
    """Markdown blocks in one language; every helper takes already-escaped cell text."""

    def __init__(self, lang: str):
        self.lang = lang
        self.blocks: list[str] = []
        self.section_no = 0
        self.sub_no = 0

    def t(self, pair: Pair) -> str:
        return pair[0] if self.lang == "zh" else pair[1]

    def w(self, key: str) -> str:
        return self.t(WORDS[key])

    def note(self, key: str) -> str:
        return self.t(NOTES[key])

    def pick(self, texts: Any, fallback: str = "") -> str:
        """The text in this language from a {zh, en} mapping, else the other one, else fallback."""
        if isinstance(texts, Mapping):
            other = "en" if self.lang == "zh" else "zh"
            for key in (self.lang, other):
                if texts.get(key):
                    return str(texts[key])
            return fallback
        return str(texts) if texts else fallback

    def heading_text(self, key: str) -> str:
        zh, en = SECTIONS[key]
        return f"{zh} ({en})" if self.lang == "zh" else en

    def title(self, key: str) -> None:
        self.blocks.append(f"# {self.heading_text(key)}")

    def section(self, key: str) -> None:
        self.section_no += 1
        self.sub_no = 0
        n = self.section_no
        if self.lang == "zh":
            number = _CN_NUMERALS[n - 1] if n <= len(_CN_NUMERALS) else str(n)
            self.blocks.append(f"## {number}、{self.heading_text(key)}")
        else:
            self.blocks.append(f"## {n}. {self.heading_text(key)}")

    def appendix(self, key: str) -> None:
        self.blocks.append(f"## {self.heading_text(key)}")

    def subsection(self, key: str) -> None:
        self.sub_no += 1
        self.blocks.append(f"### {self.section_no}.{self.sub_no} {self.heading_text(key)}")

    def para(self, text: str) -> None:
        self.blocks.append(text)

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append("\n".join(f"- {item}" for item in items))

    def table(self, headers: list[str], rows: list[list[str]], align: str = "") -> None:
        """A GFM table; `align` has one letter per column: l(eft) or r(ight)."""
        width = len(headers)
        seps = [("---:" if align[i:i + 1] == "r" else "---") for i in range(width)]
        lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(seps) + " |"]
        for row in rows:
            if len(row) != width:  # pragma: no cover - a programming error in this module
                raise ValueError(f"table row has {len(row)} cells; the header has {width}")
            lines.append("| " + " | ".join(cell if cell.strip() else DASH for cell in row) + " |")
        self.blocks.append("\n".join(lines))

    def kv(self, rows: list[tuple[str, str]]) -> None:
        self.table([self.w("item"), self.w("value")], [[k, v] for k, v in rows])

    def text(self) -> str:
        return "\n\n".join(self.blocks) + "\n"


_CSS = """
:root { color-scheme: light; }
body {
  font-family: "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC",
    "WenQuanYi Micro Hei", "Heiti SC", SimSun, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; line-height: 1.55; color: #111; background: #fff; margin: 0;
}
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px; }
h1 { font-size: 1.6em; border-bottom: 2px solid #333; padding-bottom: .3em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #999; padding-bottom: .2em; margin-top: 1.8em; }
h3 { font-size: 1.05em; margin-top: 1.3em; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid #bbb; padding: 4px 7px; vertical-align: top; text-align: left; }
th { background: #eee; }
td { overflow-wrap: anywhere; }
tr:nth-child(even) td { background: #fafafa; }
code { font-family: "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "Noto Sans Mono CJK SC", monospace;
  font-size: .9em; background: #f3f3f3; padding: 0 .2em; border-radius: 2px; }
em { color: #555; }
@page { size: A4; margin: 15mm 12mm; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 8.5pt; }
  thead { display: table-header-group; }
  tr, td, th { break-inside: avoid; page-break-inside: avoid; }
  tr:nth-child(even) td { background: none; }
  code { background: none; }
}
""".strip()


def html_page(body: str, title: str, lang: str) -> str:
    """One self-contained HTML5 page around a body made by `markdown`: inline CSS, no scripts."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>\n{_CSS}\n</style>\n"
        "</head>\n"
        "<body>\n"
        '<main class="report">\n'
        f"{body}\n"
        "</main>\n"
        "</body>\n"
        "</html>\n"
    )
