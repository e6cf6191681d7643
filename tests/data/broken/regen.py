"""Print what `pingji.check()` reports for the broken-rulebook cases, for a human to review.

Run from anywhere; file names are shown relative to the repository root, as the golden files
expect::

    python3 tests/data/broken/regen.py                      # every case
    python3 tests/data/broken/regen.py 20-band-gap          # some cases (stems or paths)
    python3 tests/data/broken/regen.py --diff               # only the cases that differ from
                                                            # their .expected file, with a diff

Nothing is written: read the output, judge it (right code, line:col on the offending token,
a clear message), and only then save it as `<case>.expected`, e.g.::

    python3 tests/data/broken/regen.py --bare 20-band-gap > tests/data/broken/20-band-gap.expected
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def output(case: Path) -> str:
    import pingji

    rel = case.relative_to(ROOT)
    return "".join(f"{d}\n" for d in pingji.check(rel))


def main(argv: list[str]) -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    bare = "--bare" in argv
    diff = "--diff" in argv
    names = [a for a in argv if not a.startswith("--")]
    cases = sorted(HERE.glob("*.yaml"))
    if names:
        cases = [c for c in cases if c.stem in names or str(c.relative_to(ROOT)) in names or c.name in names]
    for case in cases:
        got = output(case)
        if diff:
            golden = case.with_suffix(".expected")
            want = golden.read_text(encoding="utf-8") if golden.exists() else ""
            if got != want:
                sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                           str(golden.relative_to(ROOT)), "check()"))
            continue
        if bare:
            sys.stdout.write(got)
        else:
            sys.stdout.write(f"== {case.stem}\n{got}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
