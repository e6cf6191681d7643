"""Asset quality after the grade: five-category classification (`classify`) and loan-loss provisions (`provisions`)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
