"""The version of pingji, stamped on every stored evaluation (kept equal to pyproject.toml's by a test)."""

from __future__ import annotations

__version__ = "0.1.0"
