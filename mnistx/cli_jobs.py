"""Subcommands that span backends (parity, bench, compare): parsers and handlers."""

from __future__ import annotations

JOB_COMMANDS: dict = {}


def add_job_parsers(sub) -> None:
    """Added as each cross-backend job lands."""
