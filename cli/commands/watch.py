"""Early warnings: signals between two snapshots of a customer, re-ratings due (`monitor`) and the portfolio report (`portfolio`)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
