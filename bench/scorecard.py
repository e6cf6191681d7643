"""Synthetic rating scorecards and customers for the benchmark, generated deterministically.

`make_spec(n_factors)` draws a scorecard (metrics, factors with 4–6 bands, some interpolated, a few
assessed factors with 2 assessors, 4 groups, an A/B/C scale with PD, 4 overrides) from a fixed
seed; `write_book(spec, folder)` writes it as a real rulebook YAML plus its own facts schema;
`customers(spec, n)` draws `n` customers matching that schema, with missing inputs (absent or
`null`) and zero denominators (undefined metrics) among them.

Every number is chosen so that float and decimal arithmetic agree on it after rounding: band
edges are multiples of 0.05, interpolation slopes are whole points per 0.01 of a metric at
precision 2, points are multiples of 5. The three evaluators can then be compared exactly.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED = 20260101

GROUPS: tuple[tuple[str, int, str, str], ...] = (
    ("solvency", 30, "偿债能力", "Solvency"),
    ("profitability", 25, "盈利能力", "Profitability"),
    ("liquidity", 20, "流动性", "Liquidity"),
    ("qualitative", 25, "定性评价", "Qualitative"),
)

SCALE: tuple[tuple[str, float | None, float, str, str], ...] = (
    ("A", 65.0, 0.005, "优质", "Good"),
    ("B", 45.0, 0.03, "一般", "Fair"),
    ("C", None, 0.15, "不良", "Poor"),
)

LEVEL_TABLES = (
    {5: 100, 4: 80, 3: 55, 2: 25, 1: 0},
    {5: 100, 4: 75, 3: 50, 2: 25, 1: 0},
    {5: 100, 4: 85, 3: 60, 2: 30, 1: 0},
)
AGGREGATES = ("median", "mean", "worst")
ASSESSORS = ("analyst", "reviewer")

# durable-rules limits enforced by engine/compile.py (MAX_CONDITIONS / MAX_RULES)
MAX_CONDITIONS = 440


@dataclass
class Band:
    lo: float | None  # inclusive
    hi: float | None  # exclusive
    points: float | tuple[float, float]


@dataclass
class MetricFactor:
    id: str
    group: str
    weight: int
    num: str  # fact path of the numerator, e.g. "fin.n01"
    den: str
    precision: int | None  # None: the book's default (4)
    method: str  # step | interpolate
    direction: str
    bands: list[Band]
    undefined: int
    missing: int
    low: float  # range the synthetic data draws ratios from
    high: float

    @property
    def metric(self) -> str:
        return self.id

    @property
    def digits(self) -> int:
        return 4 if self.precision is None else self.precision


@dataclass
class AssessedFactor:
    id: str
    group: str
    weight: int
    aggregate: str
    levels: dict[int, int]
    missing: int


@dataclass
class OverrideSpec:
    id: str
    when: str  # the rulebook text
    terms: list[tuple[str, str, Any]]  # (fact path or metric id, op, constant), all must hold
    action: str  # grade | cap | floor | notch
    value: str | int
    reason_zh: str
    reason_en: str


@dataclass
class Spec:
    name: str
    n_factors: int
    factors: list[MetricFactor | AssessedFactor]
    overrides: list[OverrideSpec]
    groups: tuple[tuple[str, int, str, str], ...] = GROUPS
    scale: tuple[tuple[str, float | None, float, str, str], ...] = SCALE
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def metric_factors(self) -> list[MetricFactor]:
        return [f for f in self.factors if isinstance(f, MetricFactor)]

    @property
    def assessed_factors(self) -> list[AssessedFactor]:
        return [f for f in self.factors if isinstance(f, AssessedFactor)]

    def conditions(self) -> int:
        """The number of durable-rules conditions the compiled book will have (see engine/compile.py)."""
        n = 0
        for f in self.factors:
            n += (len(f.bands) + 2) if isinstance(f, MetricFactor) else (len(f.levels) + 2)
        n += len(self.factors)  # group joins: one pattern per member
        n += len(self.groups)  # total join
        n += len(self.scale) + 2 * len(self.overrides) + 1 + len(self.scale)
        return n


def _weights(k: int) -> list[int]:
    """k weights, multiples of 5, adding up to 100."""
    base = (100 // k) // 5 * 5
    extra = (100 - base * k) // 5
    return [base + 5 if i < extra else base for i in range(k)]


def _metric_factor(j: int, fid: str, group: str, weight: int, rng: random.Random,
                   n_bands: int) -> MetricFactor:
    interpolate = j % 3 == 1
    decreasing = j % 4 == 1
    # band edges in hundredths so that they are exact decimals
    if interpolate:
        widths = [rng.choice((25, 50, 100)) if j != 1 else 25 for _ in range(n_bands - 2)]
        precision: int | None = 2
    else:
        widths = [rng.choice((5, 10, 20, 25, 50)) for _ in range(n_bands - 2)]
        precision = 2 if j % 2 == 0 else None
    start = rng.choice((-20, 0, 10, 20, 40, 50, 100))
    if j == 1:  # the leverage factor the thin-equity cap looks at: >= 1 for about one customer in nine
        start = 20
    cuts = [start]
    for w in widths:
        cuts.append(cuts[-1] + w)
    edges = [c / 100 for c in cuts]  # n_bands - 1 edges
    # points at each edge, increasing, multiples of 5, from >= 0 to 100
    inner = sorted(rng.sample(range(5, 100, 5), len(edges) - 1))
    low_pts = rng.choice((0, 0, 5, 10))
    q = sorted(rng.sample(range(10, 100, 5), len(edges) - 1)) + [100]  # interpolation: points at each edge
    bands: list[Band] = []
    if interpolate:
        # q has one value per edge; below the first edge clamps to q[0] (or less), above the last to 100
        bands.append(Band(None, edges[0], float(low_pts if low_pts < q[0] else q[0])))
        for k in range(len(edges) - 1):
            bands.append(Band(edges[k], edges[k + 1], (float(q[k]), float(q[k + 1]))))
        bands.append(Band(edges[-1], None, 100.0))
    else:
        pts = [low_pts] + inner + [100]
        bands.append(Band(None, edges[0], float(pts[0])))
        for k in range(len(edges) - 1):
            bands.append(Band(edges[k], edges[k + 1], float(pts[k + 1])))
        bands.append(Band(edges[-1], None, 100.0))
    if decreasing:  # the same edges, points mirrored: a lower value scores better
        mirrored = [b.points for b in reversed(bands)]
        for b, p in zip(bands, mirrored):
            b.points = (p[1], p[0]) if isinstance(p, tuple) else p
    span = edges[-1] - edges[0]
    pad = max(span / 3, 0.1)
    low, high = edges[0] - pad, edges[-1] + pad
    if j == 1:
        low, high = 0.1, 1.12
    return MetricFactor(
        id=fid, group=group, weight=weight, num=f"fin.n{j + 1:02d}", den=f"fin.d{j + 1:02d}",
        precision=precision, method="interpolate" if interpolate else "step",
        direction="decreasing" if decreasing else "increasing", bands=bands,
        undefined=rng.choice((0, 10, 20)), missing=rng.choice((0, 10, 20, 30)), low=low, high=high)


def make_spec(n_factors: int, seed: int = SEED) -> Spec:
    rng = random.Random(seed * 1000 + n_factors)
    n_groups = len(GROUPS)
    per_group = n_factors // n_groups
    assert per_group * n_groups == n_factors, "the factor count must be a multiple of 4"
    n_assessed = min(per_group, max(3, n_factors // 8))
    factors: list[MetricFactor | AssessedFactor] = []
    j = 0
    a = 0
    for gi, (gid, _w, _zh, _en) in enumerate(GROUPS):
        weights = _weights(per_group)
        for k in range(per_group):
            last_group = gi == n_groups - 1
            if last_group and k < n_assessed:
                levels = LEVEL_TABLES[a % len(LEVEL_TABLES)]
                factors.append(AssessedFactor(f"q{a + 1:02d}", gid, weights[k],
                                              AGGREGATES[a % len(AGGREGATES)], dict(levels),
                                              rng.choice((20, 30))))
                a += 1
            else:
                n_bands = rng.choice((4, 5, 6))
                factors.append(_metric_factor(j, f"r{j + 1:02d}", gid, weights[k], rng, n_bands))
                j += 1
    overrides = [
        OverrideSpec("overdue_90", "credit.days_past_due > 90", [("credit.days_past_due", ">", 90)],
                     "grade", "C", "逾期超过90天", "more than 90 days past due"),
        OverrideSpec("thin_equity", "r02 >= 1", [("r02", ">=", 1)], "cap", "B",
                     "资不抵债", "liabilities exceed assets"),
        OverrideSpec("guarantee", "credit.strong_guarantee == true",
                     [("credit.strong_guarantee", "==", True)], "notch", 1, "强担保", "strong guarantee"),
        OverrideSpec("watchlist", "credit.watchlist == true and credit.days_past_due > 30",
                     [("credit.watchlist", "==", True), ("credit.days_past_due", ">", 30)], "notch", -1,
                     "关注名单且逾期超过30天", "on the watch list and more than 30 days past due"),
    ]
    spec = Spec(f"bench{n_factors}", n_factors, factors, overrides)
    # keep under the engine's condition limit: drop bands from the widest factors if needed
    while spec.conditions() > MAX_CONDITIONS:  # pragma: no cover - not reached with the seeds used
        widest = max(spec.metric_factors, key=lambda f: len(f.bands))
        if len(widest.bands) <= 4:
            raise ValueError("scorecard too large for the engine")
        merged = widest.bands[-2]
        top = 100.0 if widest.direction == "increasing" else widest.bands[-1].points
        widest.bands[-2:] = [Band(merged.lo, None, top)]
    return spec


# -- writing the rulebook -------------------------------------------------------------------------

def _j(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _pts(p: float | tuple[float, float]) -> str:
    if isinstance(p, tuple):
        return f"[{_num(p[0])}, {_num(p[1])}]"
    return _num(p)


def book_yaml(spec: Spec) -> str:
    out = [
        f"# Generated by bench/scorecard.py ({spec.n_factors} factors, seed {SEED}): do not edit by hand.",
        f"rulebook: {spec.name}",
        "kind: rating",
        f"title: {{zh: 基准评级{spec.n_factors}, en: Benchmark scorecard with {spec.n_factors} factors}}",
        'version: "1"',
        "owner: bench",
        'effective: "2026-01-01"',
        f"facts: {spec.name}.schema.json",
        "applies_to: {customer_type: corporate}",
        "precision: 4",
        "",
        "metrics:",
    ]
    for f in spec.metric_factors:
        out.append(f"  {f.id}:")
        out.append(f"    title: {{zh: 比率{f.id[1:]}, en: Ratio {f.id[1:]}}}")
        out.append(f"    expr: {f.num} / {f.den}")
        if f.precision is not None:
            out.append(f"    precision: {f.precision}")
    out += ["", "groups:"]
    for gid, w, zh, en in spec.groups:
        out.append(f"  {gid}: {{title: {{zh: {zh}, en: {en}}}, weight: {w}}}")
    out += ["", "factors:"]
    for f in spec.factors:
        out.append(f"  {f.id}:")
        out.append(f"    group: {f.group}")
        out.append(f"    weight: {f.weight}")
        if isinstance(f, MetricFactor):
            out.append(f"    metric: {f.metric}")
            if f.method != "step":
                out.append(f"    method: {f.method}")
            out.append(f"    direction: {f.direction}")
            out.append("    bands:")
            for b in f.bands:
                parts = []
                if b.lo is not None:
                    parts.append(f"from: {_num(b.lo)}")
                if b.hi is not None:
                    parts.append(f"to: {_num(b.hi)}")
                parts.append(f"points: {_pts(b.points)}")
                out.append(f"      - {{{', '.join(parts)}}}")
            out.append(f"    undefined: {f.undefined}")
            out.append(f"    missing: {f.missing}")
        else:
            out.append(f"    assessed: {f.id}")
            out.append(f"    aggregate: {f.aggregate}")
            out.append("    levels: {" + ", ".join(f"{k}: {v}" for k, v in f.levels.items()) + "}")
            out.append(f"    missing: {f.missing}")
    out += ["", "scale:", "  grades:"]
    for grade, lo, pd, zh, en in spec.scale:
        frm = f", from: {_num(lo)}" if lo is not None else ""
        out.append(f"    - {{grade: {grade}{frm}, pd: {pd}, title: {{zh: {zh}, en: {en}}}}}")
    out += ["", "overrides:"]
    for o in spec.overrides:
        out.append(f"  - id: {o.id}")
        out.append(f"    when: {_j(o.when)}")
        out.append(f"    then: {{{o.action}: {o.value}}}")
        out.append(f"    reason: {{zh: {o.reason_zh}, en: {_j(o.reason_en)}}}")
    return "\n".join(out) + "\n"


def facts_schema(spec: Spec) -> dict[str, Any]:
    fin: dict[str, Any] = {}
    for f in spec.metric_factors:
        for path in (f.num, f.den):
            fin[path.split(".", 1)[1]] = {"type": ["number", "null"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Benchmark customer facts ({spec.n_factors} factors)",
        "type": "object",
        "additionalProperties": False,
        "required": ["id"],
        "properties": {
            "customer_type": {"const": "corporate"},
            "id": {"type": "string"},
            "fin": {"type": "object", "additionalProperties": False, "properties": fin},
            "credit": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "days_past_due": {"type": ["integer", "null"], "minimum": 0},
                    "strong_guarantee": {"type": ["boolean", "null"]},
                    "watchlist": {"type": ["boolean", "null"]},
                },
            },
            "assessments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["factor", "level"],
                    "properties": {
                        "factor": {"type": "string"},
                        "level": {"type": "integer", "minimum": 1, "maximum": 5},
                        "assessor": {"type": "string"},
                    },
                },
            },
        },
    }


def write_book(spec: Spec, folder: str | Path) -> Path:
    """Write `<name>.yaml` and `<name>.schema.json` into `folder`; returns the rulebook path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    schema = json.dumps(facts_schema(spec), indent=2) + "\n"
    (folder / f"{spec.name}.schema.json").write_text(schema, encoding="utf-8")
    path = folder / f"{spec.name}.yaml"
    path.write_text(book_yaml(spec), encoding="utf-8")
    return path


# -- customers ------------------------------------------------------------------------------------

P_MISSING = 0.03  # an input absent or null
P_ZERO_DEN = 0.02  # a zero denominator: the metric is undefined


def customer(spec: Spec, i: int, seed: int = SEED) -> dict[str, Any]:
    rng = random.Random((seed * 7919 + spec.n_factors) * 10_000_019 + i)
    fin: dict[str, Any] = {}
    for f in spec.metric_factors:
        num_key, den_key = f.num.split(".", 1)[1], f.den.split(".", 1)[1]
        den = round(rng.uniform(1e4, 1e7), 2)
        ratio = rng.uniform(f.low, f.high)
        num = round(den * ratio, 2)
        u = rng.random()
        if u < P_ZERO_DEN:
            den = 0 if u < P_ZERO_DEN / 2 else 0.0
        elif u < P_ZERO_DEN + P_MISSING:
            values = {num_key: num, den_key: den}
            victim = rng.choice((num_key, den_key))
            for key in (num_key, den_key):
                if key != victim:
                    fin[key] = values[key]
                elif rng.random() < 0.5:
                    fin[key] = None  # null; otherwise the key is absent
            continue
        fin[num_key] = num
        fin[den_key] = den
    credit: dict[str, Any] = {}
    u = rng.random()
    if u < 0.03:
        credit["days_past_due"] = None
    elif u < 0.83:
        credit["days_past_due"] = 0
    elif u < 0.95:
        credit["days_past_due"] = rng.randint(1, 90)
    else:
        credit["days_past_due"] = rng.randint(91, 400)
    if rng.random() < 0.12:
        credit["strong_guarantee"] = True
    elif rng.random() < 0.5:
        credit["strong_guarantee"] = False
    if rng.random() < 0.1:
        credit["watchlist"] = True
    assessments = []
    for f in spec.assessed_factors:
        u = rng.random()
        n = 2 if u < 0.86 else (1 if u < 0.93 else 0)
        for k in range(n):
            assessments.append({"factor": f.id, "level": rng.randint(1, 5), "assessor": ASSESSORS[k]})
    rng.shuffle(assessments)
    return {"id": f"c{i:06d}", "customer_type": "corporate", "fin": fin, "credit": credit,
            "assessments": assessments}


def customers(spec: Spec, n: int, seed: int = SEED) -> list[dict[str, Any]]:
    return [customer(spec, i, seed) for i in range(n)]
