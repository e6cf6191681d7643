"""Decision rulebooks (classification, provisioning, policy, monitoring) on the same engine: the model.

The frozen dataclasses of a loaded decision rulebook; `load` builds them, `compile` and `run` run them.

A decision rulebook holds rules over one *subject* (a loan, a rated customer, two snapshots of a
customer) that decide named *outputs*:

```yaml
rulebook: five-category-2023
kind: classification            # or provisioning, policy, monitoring
facts: loan                     # the subject's facts schema
parameters: {npl_share_limit: {value: 0.10, min: 0, max: 1}}
metrics:    {overdue_days: {expr: "max(days_past_due.principal, days_past_due.interest)", precision: 0}}
outputs:
  category: {levels: [normal, special_mention, substandard, doubtful, loss], combine: worst, default: normal}
rules:
  - id: overdue-90
    when: overdue_days > 90
    then: {category: substandard}
    reason: {en: More than 90 days overdue}
```

Each rule compiles to a durable-rules rule over one narrow fact that carries the values its
condition compares (the same compilation as rating overrides: `conditions.compile_condition`). Its
action records a trace row and concludes one value per output it names. After every rule matching
the subject has fired, one *decide* rule per output (lower priority, same wave) combines the
conclusions — `worst`/`best` over ordered levels, `max`/`min`/`sum`/`first` over numbers, `all`
for a list — or takes the output's `default`, and asserts the decided value as a fact. The result
names, for every output, the rules that decided it and their `file:line`.

Numbers concluded by rules are exact decimals of their shortest representation, rounded half-up to
the output's `precision` (default 4); a `sum` is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pingji.diagnostics import Location
from pingji.lang import expressions as ex
from pingji.lang.schemacheck import DECISION_KINDS as DECISION_KINDS
from pingji.lang.text import Text
from pingji.rating.model import Metric, by_id

DEFAULT_PRECISION = 4


@dataclass(frozen=True)
class Output:
    id: str
    title: Text
    type: str  # levels, number, list
    levels: tuple[str, ...]
    combine: str
    default: Any  # a level, a Decimal, or None
    precision: int
    non_performing: tuple[str, ...]
    unit: str
    loc: Location
    default_loc: Location

    def rank(self, level: str) -> int:
        return self.levels.index(level)


@dataclass(frozen=True)
class Conclusion:
    output: str
    text: str  # as written
    value: Any  # a level, a Decimal, a string (list item), or an Expr for computed numbers
    loc: Location


@dataclass(frozen=True)
class Rule:
    id: str
    index: int
    title: Text
    when_text: str
    when: ex.Expr | None  # None: always
    then: tuple[Conclusion, ...]
    reason: Text
    cite: str
    loc: Location
    when_loc: Location


@dataclass(frozen=True)
class Parameter:
    id: str
    value: float
    lo: float | None
    hi: float | None
    title: Text
    loc: Location


@dataclass(frozen=True)
class DecisionExample:
    name: str
    facts: Any
    facts_label: str
    expect: dict[str, Any]
    fired: tuple[str, ...] | None
    loc: Location


@dataclass(frozen=True)
class DecisionBook:
    id: str
    kind: str
    title: Text
    version: str
    owner: str
    effective: str
    source: str
    facts_schema_path: str
    facts_schema: dict[str, Any]
    fact_types: dict[str, str]
    precision: int
    parameters: tuple[Parameter, ...]
    metrics: tuple[Metric, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]
    examples: tuple[DecisionExample, ...]
    file: str
    content_hash: str
    loc: Location

    def output(self, oid: str) -> Output:
        return by_id(self.outputs, oid)

    def rule(self, rid: str) -> Rule:
        return by_id(self.rules, rid)
