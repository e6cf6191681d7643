"""The currencies of a loan portfolio: an FX table read and checked, balances in one reporting currency.

Each loan is in its `currency` (ISO 4217; facts/loan.schema.json gives the default, CNY, for a loan
that does not say). Amounts in two currencies are never added: a portfolio in one currency is
reported in it; a portfolio in more than one is refused (E530) unless an FX table converts every
balance into the table's reporting currency. An FX table is YAML (or JSON):

    reporting: CNY                     # the currency totals are reported in
    rates:                             # 1 unit of `currency` = `rate` units of the reporting currency
      - {currency: USD, rate: 7.1234, as_of: 2026-06-30}

or CSV, a header naming the columns (any order) `currency,reporting,rate,as_of` and one rate per
row, every row with the same reporting currency. A currency is three capital letters; each has
one rate, a decimal > 0; the reporting currency has none (it is 1). A rate that converts a loan is
dated on or before the portfolio's `as_of` and at most `fx_max_age_days` before it — a parameter
of the classification rulebook (policy, not code; a rulebook without it cannot convert, E537).
Rates no loan needs are read and checked, not dated against the portfolio.

A converted balance is the exact product balance × rate rounded half-up to the cent
(`pingji.numbers.cents`); totals are sums of the converted balances. The rules see each loan's
facts as written (its own balance and currency); what pingji adds up is converted.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pingji.decisions.model import DecisionBook
from pingji.diagnostics import Diagnostic, Location, error, sort_key
from pingji.errors import FactsError
from pingji.lang.facts import read_facts
from pingji.lang.source import read_bytes
from pingji.numbers import cents, money, to_decimal

__all__ = ["MAX_AGE", "Conversion", "Currencies", "FxTable", "Rate", "convert", "read_fx"]

MAX_AGE = "fx_max_age_days"  # the classification rulebook's parameter: the oldest rate accepted, in days
_CODE = re.compile(r"[A-Z]{3}")
_KEYS = ("reporting", "rates")
_RATE_KEYS = ("currency", "rate", "as_of")
_COLUMNS = ("currency", "reporting", "rate", "as_of")


@dataclass(frozen=True)
class Rate:
    """1 `currency` = `rate` units of the reporting currency, as of a date; where it is written."""

    currency: str
    rate: Decimal
    as_of: _dt.date
    loc: Location  # the rate's currency
    date_loc: Location  # its as_of

    def to_dict(self) -> dict[str, str]:
        return {"currency": self.currency, "rate": str(self.rate), "as_of": self.as_of.isoformat()}


@dataclass(frozen=True)
class FxTable:
    """An FX table read and checked (`read_fx`): the reporting currency and one rate per other currency."""

    file: str
    reporting: str
    rates: tuple[Rate, ...]

    def rate(self, currency: str) -> Rate | None:
        return next((r for r in self.rates if r.currency == currency), None)


@dataclass(frozen=True)
class _Entry:
    """One rate as written, before it is checked; `at` locates each of its fields."""

    values: Mapping[str, Any]
    at: Mapping[str, Location]


def _text(v: Any) -> str:
    """A value as an error message quotes it: 'usd', 7.1, true, null."""
    if v is None:
        return "null"
    return repr(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


def _read_yaml(path: str | os.PathLike[str], diags: list[Diagnostic]) -> tuple[Any, Location, list[_Entry]]:
    doc = read_facts(path)
    data, loc = doc.data, doc.loc
    if not isinstance(data, Mapping):
        raise FactsError([error("E531", "an FX table is a mapping {reporting: CUR, rates: [...]}", loc(()))])
    for key in data:
        if key not in _KEYS:
            diags.append(error("E531", f"unknown key '{key}' (an FX table has reporting and rates)", loc((key,))))
    if "reporting" not in data:
        diags.append(error("E531", "reporting is required: the currency the totals are reported in", loc(())))
    rates = data.get("rates")
    entries: list[_Entry] = []
    if not isinstance(rates, list) or not rates:
        diags.append(error("E531", "rates must be a non-empty list of {currency, rate, as_of}",
                           loc(("rates",) if "rates" in data else ())))
        rates = []
    for i, r in enumerate(rates):
        here = ("rates", i)
        if not isinstance(r, Mapping):
            diags.append(error("E531", f"rates[{i}] must be a mapping {{currency, rate, as_of}}", loc(here)))
            continue
        for key in r:
            if key not in _RATE_KEYS:
                diags.append(error("E531", f"rates[{i}]: unknown key '{key}' (a rate has currency, rate and as_of)",
                                   loc((*here, key))))
        lacking = [k for k in _RATE_KEYS if k not in r]
        if lacking:
            diags.append(error("E531", f"rates[{i}]: {' and '.join(lacking)} required", loc(here)))
            continue
        entries.append(_Entry(r, {k: loc((*here, k)) for k in _RATE_KEYS}))
    return data.get("reporting"), loc(("reporting",) if "reporting" in data else ()), entries


def _read_csv(path: str | os.PathLike[str], diags: list[Diagnostic]) -> tuple[Any, Location, list[_Entry]]:
    name = os.fspath(path)
    raw = read_bytes(path, name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FactsError([error("E001", f"not UTF-8 text (byte {exc.start}: {exc.reason})", Location(name))]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise FactsError([error("E531", f"not CSV: {exc}", Location(name, reader.line_num))]) from None
    if not rows:
        raise FactsError([error("E531", f"an empty FX table: a header {','.join(_COLUMNS)}, then one rate per row",
                                Location(name))])
    head_line, header = rows[0]
    header = [h.strip() for h in header]
    lacking = [c for c in _COLUMNS if c not in header]
    if lacking:
        raise FactsError([error("E531", f"the header lacks {', '.join(lacking)} (an FX table's columns are "
                                        f"{','.join(_COLUMNS)})", Location(name, head_line, 1))])
    if len(rows) == 1:
        raise FactsError([error("E531", "an FX table with no rates: one row per currency after the header",
                                Location(name, head_line, 1))])
    entries: list[_Entry] = []
    reporting: Any = None
    reporting_at = Location(name, rows[1][0], 1)
    for line, row in rows[1:]:
        here = Location(name, line, 1)
        if len(row) != len(header):
            diags.append(error("E531", f"{len(row)} cells; the header has {len(header)}", here))
            continue
        values = {h: c.strip() for h, c in zip(header, row)}
        if reporting is None:
            reporting, reporting_at = values["reporting"], here
        elif values["reporting"] != reporting:
            diags.append(error("E531", f"reporting currency {values['reporting']!r}; the first row's is {reporting!r} "
                                       f"(one table, one reporting currency)", here))
            continue
        entries.append(_Entry(values, dict.fromkeys(_RATE_KEYS, here)))
    return reporting, reporting_at, entries


def _rate_value(v: Any) -> Decimal | None:
    """A rate as an exact decimal, or None when it is not a finite number."""
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        d = to_decimal(v)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def read_fx(path: str | os.PathLike[str]) -> FxTable:
    """Read an FX table (YAML/JSON, or CSV by its `.csv` suffix); FactsError listing every problem, located.

    Refused: a file that is not the format above (E531), a currency that is not three capital
    letters, is given twice or is the reporting currency (E532), a rate that is not a number
    greater than 0 (E533), a date that is not YYYY-MM-DD (E534).
    """
    diags: list[Diagnostic] = []
    is_csv = Path(path).suffix.lower() == ".csv"
    reporting, reporting_at, entries = (_read_csv if is_csv else _read_yaml)(path, diags)
    if reporting is not None and not (isinstance(reporting, str) and _CODE.fullmatch(reporting)):
        diags.append(error("E532", f"reporting currency {_text(reporting)} is not a currency code (three capital "
                                   f"letters, ISO 4217)", reporting_at))
    seen: dict[str, Location] = {}
    rates: list[Rate] = []
    for e in entries:
        cur, value, day = e.values["currency"], e.values["rate"], e.values["as_of"]
        ok = True
        if not (isinstance(cur, str) and _CODE.fullmatch(cur)):
            diags.append(error("E532", f"currency {_text(cur)} is not a currency code (three capital letters, ISO 4217)",
                               e.at["currency"]))
            ok = False
        elif cur == reporting:
            diags.append(error("E532", f"{cur} is the reporting currency: it has no rate (it is 1)", e.at["currency"]))
            ok = False
        elif cur in seen:
            diags.append(error("E532", f"{cur} has two rates (the first at line {seen[cur].line})", e.at["currency"]))
            ok = False
        else:
            seen[cur] = e.at["currency"]
        rate = _rate_value(value)
        if rate is None or rate <= 0:
            diags.append(error("E533", f"rate {_text(value)} is not a number greater than 0",
                               e.at["rate"]))
            ok = False
        try:
            when = _dt.date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            when = None
        if when is None:
            diags.append(error("E534", f"as_of {_text(day)} is not a date (YYYY-MM-DD)", e.at["as_of"]))
            ok = False
        if ok:
            assert rate is not None and when is not None
            rates.append(Rate(cur, rate, when, e.at["currency"], e.at["as_of"]))
    if diags:
        raise FactsError(sorted(diags, key=sort_key))
    return FxTable(reporting_at.file, str(reporting), tuple(rates))


@dataclass(frozen=True)
class Conversion:
    """A loan's balance converted: as written in its currency, the rate, and the result (to the cent)."""

    currency: str
    amount: Decimal
    rate: Rate
    converted: Decimal

    def to_dict(self) -> dict[str, str]:
        return {"currency": self.currency, "balance": str(self.amount), "rate": str(self.rate.rate),
                "as_of": self.rate.as_of.isoformat()}


@dataclass(frozen=True)
class Currencies:
    """What a portfolio's amounts are reported in: the reporting currency, the FX table (if any) with
    the rate age allowed, and each loan's conversion (None: the loan is in the reporting currency)."""

    reporting: str
    fx: FxTable | None = None
    max_age_days: int | Decimal | None = None
    conversions: tuple[Conversion | None, ...] = ()

    def used(self) -> list[Rate]:
        """The rates that converted a loan, by currency."""
        return sorted({c.rate.currency: c.rate for c in self.conversions if c}.values(), key=lambda r: r.currency)

    def fx_dict(self) -> dict[str, Any] | None:
        """The FX table as the JSON output shows it (None when there is none): its file, the rates used."""
        if self.fx is None:
            return None
        return {"file": self.fx.file, "reporting": self.fx.reporting,
                "max_age_days": None if self.max_age_days is None else str(self.max_age_days),
                "rates": [r.to_dict() for r in self.used()]}


def _max_age(book: DecisionBook) -> int | Decimal:
    p = next((q for q in book.parameters if q.id == MAX_AGE), None)
    if p is None:
        raise FactsError([error("E537", f"rulebook '{book.id}' has no parameter {MAX_AGE}: converting loans with an "
                                        f"FX table needs the oldest rate it accepts, in days", book.loc)])
    days = to_decimal(p.value)
    return int(days) if days == days.to_integral_value() else days


def _in(loan: Mapping[str, Any], cur: str) -> str:
    return cur if "currency" in loan else f"{cur} (it gives no currency: the default)"


def convert(loans: Sequence[Mapping[str, Any]], where: Sequence[tuple[str, Location]], as_of: str,
            fx: FxTable | None, book: DecisionBook) -> Currencies:
    """Each loan's balance in the reporting currency. `where`: each loan's currency and where it is said.

    Without `fx` the portfolio is in one currency (E530 at the first loan in another); with it,
    every other currency needs a rate (E535) dated within the classification rulebook's
    `fx_max_age_days` on or before `as_of` (E536; E537 when the rulebook has no such parameter).
    """
    if not where:
        raise ValueError("a portfolio with no loans")
    first_cur, first_at = where[0]
    if fx is None:
        for (cur, at), loan in zip(where, loans):
            if cur != first_cur:
                first = loans[0]
                raise FactsError([error("E530", f"loan '{loan['id']}' is in {_in(loan, cur)} but loan '{first['id']}' "
                                                f"(line {first_at.line}) is in {_in(first, first_cur)}: amounts in two "
                                                f"currencies are not added up (give an FX table to convert them into "
                                                f"one reporting currency: --fx FILE)", at)])
        return Currencies(first_cur)
    day = _dt.date.fromisoformat(as_of)
    diags: list[Diagnostic] = []
    max_age: int | Decimal | None = None
    dated: set[str] = set()
    out: list[Conversion | None] = []
    for (cur, at), loan in zip(where, loans):
        if cur == fx.reporting:
            out.append(None)
            continue
        rate = fx.rate(cur)
        if rate is None:
            if cur not in dated:  # the first loan in each currency without a rate
                dated.add(cur)
                have = ", ".join(r.currency for r in fx.rates)
                diags.append(error("E535", f"loan '{loan['id']}' is in {cur}, and the FX table {fx.file} has no rate "
                                           f"for {cur} (it has {have}; reporting currency {fx.reporting})", at))
            out.append(None)
            continue
        if max_age is None:
            max_age = _max_age(book)
        if cur not in dated:
            dated.add(cur)
            age = (day - rate.as_of).days
            if age < 0:
                diags.append(error("E536", f"the {cur} rate is dated {rate.as_of}, after the portfolio's as_of {as_of}",
                                   rate.date_loc))
            elif age > max_age:
                diags.append(error("E536", f"the {cur} rate of {rate.as_of} is {age} days before the portfolio's as_of "
                                           f"{as_of}; rulebook '{book.id}' accepts rates at most {max_age} days old "
                                           f"({MAX_AGE})", rate.date_loc))
        amount = money(loan["balance"])
        out.append(Conversion(cur, amount, rate, cents(amount * rate.rate)))
    if diags:
        raise FactsError(sorted(diags, key=sort_key))
    return Currencies(fx.reporting, fx, max_age, tuple(out))
