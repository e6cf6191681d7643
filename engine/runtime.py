"""The only module that talks to durable-rules.

It drives the C module `durable_rules_engine` directly (not the `durable.lang` host): its own
ruleset handles, one session per evaluation, every action run here in Python so an exception
raised by an action is ours to surface (the Host would swallow it), the agenda always drained
before the session is deleted (deleting with actions pending crashes the process), and the session
deleted afterwards on every path (a ruleset holds at most 1,024 live sessions).

The run is forward chaining in waves: the inputs are asserted; every rule they activate fires in
priority order; what the actions conclude is asserted together as the next wave; until a wave
concludes nothing.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

import durable_rules_engine as _dre

from .compile import SESSION_BODY, SESSION_PATTERN, SESSION_RULE, RuleSpec
from .diagnostics import Location, error
from .errors import EngineLimitError, EvaluationError

MAX_LIVE_SESSIONS = 1000  # the C engine refuses the 1,025th live session of a ruleset
MAX_WAVES = 64  # the chain is at most ~8 waves deep; more means a rule loop
MAX_FIRINGS = 100_000

_ID_RE = re.compile(r'"id":\s?(\d+)')
_registry_lock = threading.Lock()
_names = itertools.count(1)

DURABLE_RULES_VERSION = "2.0.28"


class _Book(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def loc(self) -> Location: ...


class Compiled(Protocol):
    """What the runtime needs of a compiled rulebook (rating: `compile.CompiledRulebook`; decision
    rulebooks: `decision.CompiledDecision`)."""

    @property
    def rulebook(self) -> _Book: ...
    @property
    def ruleset(self) -> dict[str, Any]: ...
    @property
    def rules(self) -> dict[str, RuleSpec]: ...


class Ruleset:
    """One compiled rulebook registered with the C engine (once per process)."""

    def __init__(self, compiled: Compiled):
        self.compiled = compiled
        rb = compiled.rulebook
        with _registry_lock:
            self.name = f"pingji_{rb.id}_{rb.content_hash[:12]}_{next(_names)}"
            self.definition = json.dumps(compiled.ruleset, ensure_ascii=False)
            self.handle = _dre.create_ruleset(self.name, self.definition)
        # Rules with an `$or`: durable-rules activates them once per branch that holds.
        self.or_rules = frozenset(n for n, d in compiled.ruleset.items() if '"$or"' in json.dumps(d))
        self.lock = threading.Lock()
        self.live = 0
        self._sids = itertools.count(1)

    def run(self, inputs: list[Any], act: Callable[[RuleSpec, list[Any]], list[Any]],
            rules: dict[str, RuleSpec] | None = None) -> int:
        """Assert `inputs`, fire rules to quiescence calling `act(spec, matched_facts) -> new facts`.

        A fact is `(record, body)`: `body` its JSON members (without `id` and `sid`), `record`
        whatever the caller wants its actions to get back for it in `matched_facts` (the facts a
        firing matched, as the engine names them by id); or a JSON-able dict, both at once.

        `rules` maps rule names to the caller's specs (the same rulebook version loaded again, e.g.
        from another working directory, names its files differently); by default this ruleset's.
        Returns the number of rules fired. Every fact gets a unique id and this session's sid.
        """
        with self.lock:
            if self.live >= MAX_LIVE_SESSIONS:
                raise EngineLimitError([error(
                    "E190", f"{self.live} sessions are live on ruleset {self.name}; durable-rules crashes past 1,023",
                    self.compiled.rulebook.loc)])
            sid = str(next(self._sids))
            self.live += 1
            try:
                return self._run(sid, inputs, act, rules or self.compiled.rules)
            finally:
                _dre.delete_state(self.handle, sid)
                self.live -= 1

    def _run(self, sid: str, inputs: list[Any], act: Callable[[RuleSpec, list[Any]], list[Any]],
             rules: dict[str, RuleSpec]) -> int:
        table: dict[int, Any] = {}
        next_id = 0
        fired = 0
        failure: BaseException | None = None
        failed_rule: RuleSpec | None = None
        activated: set[tuple[str, ...]] = set()
        # Every session starts with a fact that a rule always matches: deleting a session in which
        # no fact was ever handled crashes the C engine (segfault in delete_state).
        wave: list[Any] = [(SESSION_PATTERN, SESSION_BODY)] + inputs
        for _ in range(MAX_WAVES):
            if not wave:
                break
            parts = []
            try:
                for fact in wave:
                    next_id += 1
                    if type(fact) is tuple:  # (record, its JSON members): encoded by whoever made it
                        fact, body = fact
                    else:
                        body = _dumps(fact)[1:-1]
                    table[next_id] = fact
                    parts.append(f'{{"id":{next_id},"sid":"{sid}",{body}}}')
            except ValueError as exc:  # NaN or an infinity concluded by an action
                raise EvaluationError(f"a rule concluded a value the engine cannot take: {exc}", None, "E604") from None
            text = "[" + ",".join(parts) + "]"
            try:
                _code, state = _dre.assert_facts(self.handle, text)
            except _dre.error as exc:
                self._drain()
                raise EvaluationError(f"durable-rules refused the facts: {exc}", None, "E605") from None
            # _code 1 only says some fact matched nothing; the others may have.
            concluded: list[dict[str, Any]] = []
            result = _dre.start_action_for_state(self.handle, state)
            message = result[1] if result else None
            while message:
                name = message[2:message.index('"', 2)]
                if failure is None and name != SESSION_RULE:
                    # durable-rules activates a rule once per branch of an `$or` that holds; a rule
                    # fires once per set of facts it matched.
                    ids = _ID_RE.findall(message)
                    if name in self.or_rules:
                        key = (name, *ids)
                        if key in activated:
                            message = _dre.complete_and_start_action(self.handle, state)
                            continue
                        activated.add(key)
                    spec = rules[name]
                    fired += 1
                    try:
                        matched = [table[int(i)] for i in ids]
                        concluded.extend(act(spec, matched))
                        if fired > MAX_FIRINGS:
                            raise EvaluationError(f"more than {MAX_FIRINGS} rules fired; the rulebook loops", spec.at,
                                                  "E602")
                    except BaseException as exc:  # noqa: BLE001 - surfaced below, after draining
                        failure, failed_rule = exc, spec
                # Drain the agenda even after a failure: deleting a session with actions pending crashes.
                message = _dre.complete_and_start_action(self.handle, state)
            if failure is not None:
                break
            wave = concluded
        else:
            raise EvaluationError(f"rules still firing after {MAX_WAVES} waves; the rulebook loops", None, "E602")
        if failure is not None:
            if isinstance(failure, EvaluationError):
                raise failure
            assert failed_rule is not None
            raise EvaluationError(
                f"rule '{failed_rule.name}' ({failed_rule.at.short()}) failed in its action: "
                f"{type(failure).__name__}: {failure}", failed_rule.at, "E601") from failure
        return fired

    def _drain(self) -> None:
        """Run out every pending action of this ruleset without executing it (after a C error)."""
        result = _dre.start_action(self.handle)
        while result:
            state = result[2]
            message = _dre.complete_and_start_action(self.handle, state)
            while message:
                message = _dre.complete_and_start_action(self.handle, state)
            result = _dre.start_action(self.handle)


# One C-accelerated encoder call per wave (json.dumps per fact costs more in Python overhead
# than the engine spends matching). NaN and infinities are refused: the engine takes JSON only.
_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


_cache: dict[str, Ruleset] = {}


def ruleset_for(compiled: Compiled) -> Ruleset:
    """The process-wide registered ruleset of a rulebook version (created once per content hash)."""
    key = compiled.rulebook.content_hash
    rs = _cache.get(key)
    if rs is None:
        with _registry_lock:
            rs = _cache.get(key)
        if rs is None:
            rs = Ruleset(compiled)
            _cache[key] = rs
    return rs
