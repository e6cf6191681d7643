"""What a grade means downstream: the offer for a rated customer (`price`)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
