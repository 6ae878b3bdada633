"""`mnistx info`: which backends are installed, their versions and devices (one child each)."""

from __future__ import annotations

import json
import subprocess

from mnistx import children, spawn
from mnistx.config import ALL_BACKENDS, BACKENDS


def backend_row(backend: str, timeout_s: float = 180.0) -> dict:
    """Installed version, and the child's backends.describe() (device, threads, versions)."""
    row = {"backend": backend, "installed": spawn.installed(backend), "version": spawn.version(backend)}
    if not row["installed"]:
        return {**row, "error": f"not installed: {spawn.install_hint(backend)}"}
    try:
        out = subprocess.run(children.argv("info"), env=spawn.child_env(backend),
                             capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {**row, "error": f"the info child timed out after {timeout_s:.0f} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {**row, "error": f"import failed: {tail}"}
    return {**row, **json.loads(lines[-1])}


def describe_child() -> None:
    """In the child (`mnistx _child info`): this backend's describe() as one JSON line."""
    from mnistx import backends

    print(json.dumps(backends.describe()))


def backend_rows(backends=ALL_BACKENDS) -> list[dict]:
    return [{**backend_row(b), "trains": b in BACKENDS} for b in backends]


def format_table(rows: list[dict]) -> str:
    lines = [f"{'backend':11s} {'version':12s} {'keras':8s} {'trains':7s} device"]
    for r in rows:
        detail = r.get("error") or r.get("device", "")
        keras_v = r.get("versions", {}).get("keras", "-")
        kind = "yes" if r.get("trains", True) else "no"  # numpy, openvino: inference only
        lines.append(f"{r['backend']:11s} {r['version'] or '-':12s} {keras_v:8s} {kind:7s} {detail}")
    return "\n".join(lines)
