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
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import durable_rules_engine as _dre

from pingji.diagnostics import Location, error
from pingji.errors import EngineLimitError, EvaluationError
from pingji.runtime.limits import MAX_FIRINGS, MAX_LIVE_SESSIONS, MAX_WAVES
from pingji.runtime.spec import SESSION_BODY, SESSION_PATTERN, SESSION_RULE, RuleSpec

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

    def run(self, inputs: list[Any], act: Callable[[RuleSpec, list[Any]], list[Any]] | None,
            rules: dict[str, RuleSpec] | None = None, *,
            actions: Mapping[str, Callable[[Any, list[Any]], list[Any]]] | None = None, ctx: Any = None) -> int:
        """Assert `inputs`, fire rules to quiescence calling `act(spec, matched_facts) -> new facts`.

        A fact is `(record, body)`: `body` its JSON members (without `id` and `sid`), `record`
        whatever the caller wants its actions to get back for it in `matched_facts` (the facts a
        firing matched, as the engine names them by id); or a JSON-able dict, both at once.

        Instead of `act`, `actions` may map every rule name to `action(ctx, matched_facts) -> new
        facts` (one call per firing instead of two; `rules` still names the rule when one fails).

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
                return self._run(sid, inputs, act, rules or self.compiled.rules, actions, ctx)
            finally:
                _dre.delete_state(self.handle, sid)
                self.live -= 1

    def _run(self, sid: str, inputs: list[Any], act: Callable[[RuleSpec, list[Any]], list[Any]] | None,
             rules: dict[str, RuleSpec], actions: Mapping[str, Callable[[Any, list[Any]], list[Any]]] | None,
             ctx: Any) -> int:
        dispatch: Any = actions
        call: Any = ctx
        if actions is None:
            assert act is not None
            dispatch, call = _SpecActions(rules), act
        table: dict[str, Any] = {}  # fact id (as the engine writes it) -> the caller's record
        next_id = 0
        fired = 0
        failure: BaseException | None = None
        failed_rule: str | None = None
        activated: set[tuple[str, ...]] = set()
        or_rules = self.or_rules
        handle = self.handle
        findall = _ID_RE.findall
        complete = _dre.complete_and_start_action
        head = f',"sid":"{sid}",'
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
                    key = str(next_id)
                    if type(fact) is tuple:  # (record, its JSON members): encoded by whoever made it
                        fact, body = fact
                    else:
                        body = _dumps(fact)[1:-1]
                    table[key] = fact
                    parts.append('{"id":' + key + head + body + "}")
            except ValueError as exc:  # NaN or an infinity concluded by an action
                raise EvaluationError(f"a rule concluded a value the engine cannot take: {exc}", None, "E604") from None
            try:
                _code, state = _dre.assert_facts(handle, "[" + ",".join(parts) + "]")
            except _dre.error as exc:
                self._drain()
                raise EvaluationError(f"durable-rules refused the facts: {exc}", None, "E605") from None
            # _code 1 only says some fact matched nothing; the others may have.
            concluded: list[Any] = []
            try:
                result = _dre.start_action_for_state(handle, state)
                message = result[1] if result else None
                while message:
                    name = message[2:message.index('"', 2)]
                    if failure is None and name != SESSION_RULE:
                        # durable-rules activates a rule once per branch of an `$or` that holds; a rule
                        # fires once per set of facts it matched.
                        ids = findall(message)
                        if name in or_rules:
                            once = (name, *ids)
                            if once in activated:
                                message = complete(handle, state)
                                continue
                            activated.add(once)
                        fired += 1
                        try:
                            concluded.extend(dispatch[name](call, [table[i] for i in ids]))
                            if fired > MAX_FIRINGS:
                                raise EvaluationError(f"more than {MAX_FIRINGS} rules fired; the rulebook loops",
                                                      rules[name].at, "E602")
                        except BaseException as exc:  # noqa: BLE001 - surfaced below, after draining
                            failure, failed_rule = exc, name
                    # Drain the agenda even after a failure: deleting a session with actions pending crashes.
                    message = complete(handle, state)
            except _dre.error as exc:  # the C engine failed starting or completing an action
                self._drain()
                raise EvaluationError(f"durable-rules failed while firing the rules: {exc}", None, "E605") from None
            if failure is not None:
                break
            wave = concluded
        else:
            raise EvaluationError(f"rules still firing after {MAX_WAVES} waves; the rulebook loops", None, "E602")
        if failure is not None:
            if isinstance(failure, EvaluationError) or not isinstance(failure, Exception):
                raise failure  # KeyboardInterrupt, SystemExit: the user's, never a rule's failure (issue 11.6)
            assert failed_rule is not None
            spec = rules[failed_rule]
            raise EvaluationError(
                f"rule '{spec.name}' ({spec.at.short()}) failed in its action: "
                f"{type(failure).__name__}: {failure}", spec.at, "E601") from failure
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


class _SpecActions:
    """`actions` for a caller that gave `act(spec, matched)`: `actions[name](act, matched)`."""

    __slots__ = ("rules",)

    def __init__(self, rules: dict[str, RuleSpec]):
        self.rules = rules

    def __getitem__(self, name: str) -> Callable[[Any, list[Any]], list[Any]]:
        spec = self.rules[name]
        return lambda act, matched: act(spec, matched)  # type: ignore[no-any-return]


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
