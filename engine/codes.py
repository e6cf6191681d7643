"""The registry of diagnostic and error codes: every code pingji prints, its title, the exit code of the
command that fails with it, and its anchor in docs/errors.md (generated from this table by
`python -m pingji.cli.docs`; a test fails when a code in the source is missing here or the page drifts).

Codes are stable: a code is never reused for another meaning. E0xx reading files, E1xx rating rulebooks,
E2xx decision rulebooks, W2xx warnings, E3xx expressions, E5xx facts, E6xx runs, E7xx selection,
back-testing and diff, E8xx the store and overrides, E9xx batches.
"""

from __future__ import annotations

from dataclasses import dataclass

USAGE = 2  # exit code of a usage error (what an option names cannot be used)
FAILURE = 1


@dataclass(frozen=True)
class Code:
    """One registered code."""

    code: str
    title: str
    area: str
    exit: int = FAILURE

    @property
    def anchor(self) -> str:
        """The anchor of the code's row in docs/errors.md."""
        return self.code.lower()

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("W") else "error"


_TABLE: tuple[Code, ...] = (
    Code("E000", "an error with no more specific code",
         "Reading YAML and JSON files"),
    Code("E001", "file cannot be read / not UTF-8",
         "Reading YAML and JSON files"),
    Code("E002", "file larger than the size limit",
         "Reading YAML and JSON files"),
    Code("E003", "YAML syntax error (incl. tabs used for indentation)",
         "Reading YAML and JSON files"),
    Code("E004", "duplicate key",
         "Reading YAML and JSON files"),
    Code("E005", "anchors/aliases refused (too many, or alias expansion too large)",
         "Reading YAML and JSON files"),
    Code("E006", "unsupported YAML tag / not a mapping at top level",
         "Reading YAML and JSON files"),
    Code("E100", "schema: required property missing",
         "Rating rulebooks"),
    Code("E101", "schema: wrong type or value",
         "Rating rulebooks"),
    Code("E102", "unknown fact name",
         "Rating rulebooks"),
    Code("E103", "unknown metric",
         "Rating rulebooks"),
    Code("E104", "unknown group",
         "Rating rulebooks"),
    Code("E105", "unknown property",
         "Rating rulebooks"),
    Code("E106", "unknown grade",
         "Rating rulebooks"),
    Code("E110", "metric cycle",
         "Rating rulebooks"),
    Code("E111", "a metric has the name of a fact (it would hide the fact)",
         "Rating rulebooks"),
    Code("E112", "a metric is undefined for every input (e.g. it divides by a constant 0)",
         "Rating rulebooks"),
    Code("E120", "band gap",
         "Rating rulebooks"),
    Code("E121", "band overlap",
         "Rating rulebooks"),
    Code("E122", "band with from ≥ to",
         "Rating rulebooks"),
    Code("E123", "interpolation needs `[at_from, at_to]` points (or step needs a number)",
         "Rating rulebooks"),
    Code("E124", "points outside 0–100",
         "Rating rulebooks"),
    Code("E125", "metric factor lacks `undefined`",
         "Rating rulebooks"),
    Code("E126", "a category that is not of its fact's type",
         "Rating rulebooks"),
    Code("E127", "a categorical factor's fact is not text or yes/no",
         "Rating rulebooks"),
    Code("E130", "group weights do not add up to 100",
         "Rating rulebooks"),
    Code("E131", "factor weights of a group do not add up to 100",
         "Rating rulebooks"),
    Code("E132", "group has no factors",
         "Rating rulebooks"),
    Code("E133", "rulebook has no groups or factors",
         "Rating rulebooks"),
    Code("E140", "grade cut-offs not strictly decreasing / last grade has a `from`",
         "Rating rulebooks"),
    Code("E141", "PD not increasing from best to worst grade, or outside 0–1",
         "Rating rulebooks"),
    Code("E142", "master scale grade maps to an unknown coarse grade",
         "Rating rulebooks"),
    Code("E150", "override can never fire",
         "Rating rulebooks"),
    Code("E151", "overrides contradict (a cap worse than a floor that can fire together)",
         "Rating rulebooks"),
    Code("E152", "duplicate override id",
         "Rating rulebooks"),
    Code("E160", "`extends` target not found",
         "Rating rulebooks"),
    Code("E161", "`extends` cycle",
         "Rating rulebooks"),
    Code("E162", "`remove` names an item the parent does not have",
         "Rating rulebooks"),
    Code("E170", "example facts do not match the facts schema",
         "Rating rulebooks"),
    Code("E171", "example expectation failed",
         "Rating rulebooks"),
    Code("E180", "facts schema not found",
         "Rating rulebooks"),
    Code("E181", "the facts schema a rulebook names is not a usable JSON Schema (not JSON, not an object, or invalid)",
         "Rating rulebooks"),
    Code("E190", "rulebook exceeds an engine limit",
         "Rating rulebooks"),
    Code("W200", "non-monotonic bands against the declared direction",
         "Rating rulebooks"),
    Code("W201", "override has no effect (notch 0, a cap at the best grade, a floor at the worst)",
         "Rating rulebooks"),
    Code("W202", "factor has no `direction` and its bands are not monotonic",
         "Rating rulebooks"),
    Code("W203", "`report:` names a grade, group, metric or credit fact the rulebook does not have",
         "Rating rulebooks"),
    Code("E210", "decision rulebook: a rule or example names an unknown output",
         "Decision rulebooks"),
    Code("W210", "output with no default that no rule decides",
         "Decision rulebooks"),
    Code("E211", "decision rulebook: a value that is not a level of its output, or an output whose type, levels and `combine` do not fit",
         "Decision rulebooks"),
    Code("E212", "decision rule can never fire",
         "Decision rulebooks"),
    Code("E213", "parameter outside its allowed range (or `min` above `max`)",
         "Decision rulebooks"),
    Code("E214", "output `default` is not one of its levels / not a number / given for a list",
         "Decision rulebooks"),
    Code("E215", "duplicate rule id, or a parameter or metric named like a fact",
         "Decision rulebooks"),
    Code("E216", "a rulebook of the wrong kind for the command (e.g. a policy rulebook given to `classify`)",
         "Decision rulebooks"),
    Code("E217", "a decision rulebook lacks an output the command reads (e.g. `provisions` needs specific_rate, general_rate, pd, lgd and stage)",
         "Decision rulebooks"),
    Code("E300", "an expression or condition is refused",
         "Expressions and conditions"),
    Code("E301", "expression syntax error",
         "Expressions and conditions"),
    Code("E302", "unknown function in an expression",
         "Expressions and conditions"),
    Code("E303", "wrong number of arguments to a function",
         "Expressions and conditions"),
    Code("E304", "type error in an expression (e.g. a number compared with a text)",
         "Expressions and conditions"),
    Code("E305", "expression too long or nested too deep",
         "Expressions and conditions"),
    Code("E306", "forbidden construct in an expression (`**`, `lambda`, `_names`, indexing, lists)",
         "Expressions and conditions"),
    Code("E307", "number out of range in an expression (finite, at most 1e15)",
         "Expressions and conditions"),
    Code("E500", "facts cannot be read or do not match their schema",
         "Facts, loans and snapshots"),
    Code("E501", "facts do not match their schema (each problem located in the facts file)",
         "Facts, loans and snapshots"),
    Code("E502", "a number in the facts is NaN or infinite",
         "Facts, loans and snapshots"),
    Code("E503", "an assessment names a level the factor does not have",
         "Facts, loans and snapshots"),
    Code("E504", "a categorical factor's fact has a value it does not list, and the factor has no `other` score (located at the factor's `categories`)",
         "Facts, loans and snapshots"),
    Code("E510", "a LOANS file is not `{as_of, loans: [...]}`, or too large",
         "Facts, loans and snapshots"),
    Code("E511", "a date in the future: `as_of` after today, a drawdown or restructuring after `as_of`; a maturity before the drawdown",
         "Facts, loans and snapshots"),
    Code("E512", "a loan id appears twice",
         "Facts, loans and snapshots"),
    Code("E513", "a provisioning rate, PD or LGD came out undefined (an input it needs is missing, or no rule decided it)",
         "Facts, loans and snapshots"),
    Code("E520", "a snapshot to monitor has no `as_of`",
         "Facts, loans and snapshots"),
    Code("E521", "a snapshot is dated before the earlier snapshot it is compared with, after `--as-of`, or after today",
         "Facts, loans and snapshots"),
    Code("E522", "`--previous` is another customer",
         "Facts, loans and snapshots"),
    Code("E523", "two snapshots of one customer in one `monitor` run",
         "Facts, loans and snapshots"),
    Code("E600", "something went wrong while a rulebook ran",
         "Running a rulebook"),
    Code("E524", "snapshots were asked for (`--snapshots`) and none was found there",
         "Facts, loans and snapshots"),
    Code("E601", "a rule's action failed (the rulebook line is named)",
         "Running a rulebook"),
    Code("E602", "rules keep firing: the rulebook loops",
         "Running a rulebook"),
    Code("E603", "the run ended without a result (a factor unscored, an output undecided)",
         "Running a rulebook"),
    Code("E604", "a rule concluded NaN or an infinity",
         "Running a rulebook"),
    Code("E605", "durable-rules refused the facts",
         "Running a rulebook"),
    Code("E700", "no rulebook has that id, or none applies to the customer (type and industry)",
         "Rulebook selection and back-testing"),
    Code("E701", "`validate`: the OUTCOMES file cannot be read (missing, a directory, not UTF-8, not CSV)",
         "Rulebook selection and back-testing"),
    Code("E702", "`validate`: the OUTCOMES header lacks `customer_id` or `defaulted`",
         "Rulebook selection and back-testing"),
    Code("E703", "`validate`: the OUTCOMES file is empty or has no rows",
         "Rulebook selection and back-testing"),
    Code("E704", "`validate`: `defaulted` is not a boolean (true/false, yes/no, 1/0)",
         "Rulebook selection and back-testing"),
    Code("E705", "`validate`: a customer id is empty or appears twice (the first line is named)",
         "Rulebook selection and back-testing"),
    Code("E706", "`validate`: `default_date` is not YYYY-MM-DD, or is given for a customer that did not default",
         "Rulebook selection and back-testing"),
    Code("E707", "`validate`: an OUTCOMES row has more cells than the header",
         "Rulebook selection and back-testing"),
    Code("E710", "`validate`: no ratings in the store on or before `--as-of`",
         "Rulebook selection and back-testing"),
    Code("E711", "`validate`: no ratings by the `--rulebook` asked for",
         "Rulebook selection and back-testing"),
    Code("E712", "`validate`: no rated customer has an outcome (the ids match none in the store)",
         "Rulebook selection and back-testing"),
    Code("E713", "`validate --policy`: the rulebook does not decide every judgement of a back-test",
         "Rulebook selection and back-testing"),
    Code("E720", "`diff`: `--db` and `--input` both given (the customers come from one of them)",
         "Rulebook changes (`pingji diff`)", USAGE),
    Code("E721", "`diff`: nothing to re-rate: no customer in the store rated by OLD's rulebook id, or an empty input",
         "Rulebook changes (`pingji diff`)"),
    Code("E722", "`diff`: OLD or NEW is not a rating rulebook",
         "Rulebook changes (`pingji diff`)"),
    Code("E740", "a rulebooks folder (`--rulebooks`, `PINGJI_RULEBOOKS`) does not exist or is not a folder",
         "Rulebook selection and back-testing", USAGE),
    Code("E741", "a YAML file in a rulebooks folder has a `rulebook:` that is not an id",
         "Rulebook selection and back-testing"),
    Code("E742", "two rulebooks in the rulebooks folders have the same id (both files are named)",
         "Rulebook selection and back-testing"),
    Code("E743", "two of the user's rulebooks apply equally to a customer (both files are named)",
         "Rulebook selection and back-testing"),
    Code("E744", "no facts schema for a snapshot's customer type: no rating rulebook applies to it and no stored evaluation names one",
         "Rulebook selection and back-testing"),
    Code("E800", "the store cannot be used: not SQLite, corrupt, another program's database, a newer schema, locked",
         "The store and expert overrides"),
    Code("E801", "no evaluation / customer with that id in the store",
         "The store and expert overrides"),
    Code("E810", "expert override refused: unknown grade, no change, beyond the allowance without a second person",
         "The store and expert overrides"),
    Code("E900", "a batch input cannot be read at all: missing, unsupported kind, no or bad CSV header, not UTF-8",
         "Batches"),
    Code("E901", "a JSONL line is not JSON (`batch`, `monitor`, `classify`, `provisions`)",
         "Batches"),
    Code("E902", "a CSV row has more cells than the header, or is malformed",
         "Batches"),
    Code("E903", "a record or snapshot is not an object of facts",
         "Batches"),
    Code("E904", "a batch input has no records: nothing to rate (no batch is stored)",
         "Batches"),
    Code("E910", "`batch --scheduler`: the Dask cluster cannot be used (no `distributed`: `pip install 'pingji[dask]'`; no answer within `--scheduler-timeout`; no workers; a worker running another pingji); nothing is stored",
         "Batches", USAGE),
    Code("E911", "`batch --scheduler`: the Dask cluster failed during the batch (workers kept dying, the scheduler went away); what was stored is kept: run again to resume",
         "Batches"),
    Code("E999", "an unexpected error while rating one record (the batch goes on)",
         "Batches"),
)

CODES: dict[str, Code] = {c.code: c for c in _TABLE}


def lookup(code: str) -> Code:
    """The registered code; KeyError for a code nobody registered (a test keeps the source in line)."""
    return CODES[code]


def exit_code(code: str | None) -> int:
    """The exit code of a command failing with `code` (1 for an unknown or missing code)."""
    c = CODES.get(code or "")
    return c.exit if c else FAILURE


def markdown() -> str:
    """docs/errors.md: every code with its title and exit code, by area."""
    out = ["# Error and diagnostic codes", "",
           "Generated from `pingji.codes` by `python -m pingji.cli.docs`; a test fails when it drifts.",
           "Errors print as `file:line:col: error[CODE]: message` (warnings `warning[CODE]`); a command",
           "failing with an error exits with the code's exit status.", ""]
    area = None
    for c in _TABLE:
        if c.area != area:
            area = c.area
            out += ["", f"## {area}", "", "| code | meaning | exit |", "|---|---|---|"]
        out.append(f'| <a id="{c.anchor}"></a>{c.code} | {c.title} | {c.exit if c.severity == "error" else "—"} |')
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"
