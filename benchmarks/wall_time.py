"""Wall time of mnistx commands, two checkouts side by side: each command runs on each checkout in
turn (A, B, A, B, ...), so a load drift on the machine hits both; median and spread per command.

    python benchmarks/wall_time.py --base /tmp/main-before --rounds 3 --out benchmarks/results/wall \\
        compare "parity --model benchmarks/atlas_models.py:llama --inputs synthetic"

Each command is an mnistx command line (without `mnistx`); it runs with the checkout's package first
on PYTHONPATH (its children inherit it: spawn.import_path), from the checkout this script lives in
(so relative model paths resolve the same), with --out set to a fresh folder per run. A run that
exits non-zero is recorded with its code and still timed. Writes wall.json and wall.md into --out,
after every run (an interrupted measurement keeps what it has).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_once(checkout: Path, command: str, scratch: Path) -> dict:
    """One run of `mnistx <command> --out <fresh folder>` on `checkout`: seconds and exit code."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    shutil.rmtree(out)
    argv = [sys.executable, "-m", "mnistx", *shlex.split(command), "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(checkout), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               PYTHONSAFEPATH="1")  # `python -m` would put the working folder (this checkout) first
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": seconds, "code": done.returncode, "last_line": (done.stdout.strip().splitlines() or [""])[-1]}


def commit(checkout: Path) -> str:
    got = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--", "mnistx"],
                           capture_output=True, text=True).stdout.strip()
    return (got.stdout.strip() or "?") + (" + uncommitted changes" if dirty else "")


def table(result: dict) -> str:
    lines = [f"# Wall time, side by side ({result['rounds']} rounds, {result['host']})", "",
             f"A = {result['checkouts']['A']}, B = {result['checkouts']['B']}; each command ran A then B "
             "in every round. Seconds: median (min-max); B / A of the medians; the first round apart "
             "(caches that later rounds find warm: torch's inductor cache, mnistx's JAX compilation cache).", "",
             "| command | A s | B s | B / A | round 1: A / B s | exit codes A / B |", "|---|---|---|---|---|---|"]
    for cmd, runs in result["commands"].items():
        cells = []
        for side in "AB":
            secs = [r["seconds"] for r in runs[side]]
            cells.append(f"{statistics.median(secs):.1f} ({min(secs):.1f}-{max(secs):.1f})" if secs else "-")
        med = {s: statistics.median([r["seconds"] for r in runs[s]]) for s in "AB" if runs[s]}
        ratio = f"{med['B'] / med['A']:.2f}" if len(med) == 2 else "-"
        codes = " / ".join(",".join(str(r["code"]) for r in runs[s]) for s in "AB")
        first = " / ".join(f"{runs[s][0]['seconds']:.1f}" if runs[s] else "-" for s in "AB")
        lines.append(f"| `mnistx {cmd}` | {cells[0]} | {cells[1]} | {ratio} | {first} | {codes} |")
    return "\n".join(lines) + "\n"


def save(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("wall.json", json.dumps(result, indent=1)), ("wall.md", table(result))):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("commands", nargs="+", help="mnistx command lines, each quoted, without `mnistx` and --out")
    ap.add_argument("--base", required=True, help="checkout A (e.g. a `git worktree` of main before the change)")
    ap.add_argument("--new", default=str(ROOT), help="checkout B (default: this one)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="out/wall", help="folder for wall.json and wall.md")
    args = ap.parse_args(argv)
    sides = {"A": Path(args.base).resolve(), "B": Path(args.new).resolve()}
    for side, path in sides.items():
        if not (path / "mnistx" / "__init__.py").exists():
            print(f"wall_time: {path} holds no mnistx package (checkout {side})", file=sys.stderr)
            return 2
    result = {"rounds": args.rounds, "host": f"{platform.node()}, {os.cpu_count()} cores",
              "checkouts": {s: f"{p} at {commit(p)}" for s, p in sides.items()},
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commands": {c: {"A": [], "B": []} for c in args.commands}}
    scratch = Path(tempfile.mkdtemp(prefix="mnistx-wall-"))
    try:
        for k in range(args.rounds):
            for cmd in args.commands:
                for side in "AB":
                    print(f"round {k + 1}/{args.rounds} {side}: mnistx {cmd}", flush=True)
                    r = run_once(sides[side], cmd, scratch)
                    print(f"  {r['seconds']:.1f} s, exit {r['code']}: {r['last_line'][:100]}", flush=True)
                    result["commands"][cmd][side].append(r)
                    save(result, Path(args.out))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
