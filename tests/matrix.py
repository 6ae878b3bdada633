"""Run the test suite once per backend (KERAS_BACKEND, KERAS_HOME=backends/<name>) and sum up.

    python tests/matrix.py [--backends tensorflow,jax,torch] [pytest args...]

Exit code 0 only when every backend's run passed. The last line reads
`matrix: N passed, N failed, N skipped` over all backends.
"""

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("tensorflow", "jax", "torch")


def run_backend(backend: str, pytest_args: list[str]) -> dict:
    junit = Path(tempfile.mkdtemp()) / f"{backend}.xml"
    env = dict(os.environ, KERAS_BACKEND=backend, KERAS_HOME=str(ROOT / "backends" / backend))
    print(f"=== {backend} ===", flush=True)
    start = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            f"--junitxml={junit}", *pytest_args], cwd=ROOT, env=env)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        for suite in ET.parse(junit).getroot().iter("testsuite"):
            for k in counts:
                counts[k] += int(suite.get(k, 0))
    failed = counts["failures"] + counts["errors"]
    return {"backend": backend, "code": code, "seconds": time.perf_counter() - start,
            "passed": counts["tests"] - failed - counts["skipped"], "failed": failed,
            "skipped": counts["skipped"]}


def main(argv: list[str]) -> int:
    backends = BACKENDS
    if argv[:1] == ["--backends"]:
        backends, argv = tuple(argv[1].split(",")), argv[2:]
    results = [run_backend(b, argv) for b in backends]
    print("\n=== matrix ===")
    for r in results:
        status = "ok" if r["code"] == 0 else f"FAILED (pytest exit {r['code']})"
        print(f"{r['backend']:11s} {r['passed']:4d} passed {r['failed']:3d} failed {r['skipped']:3d} "
              f"skipped  {r['seconds']:6.0f} s  {status}")
    total = {k: sum(r[k] for r in results) for k in ("passed", "failed", "skipped")}
    print(f"matrix: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    return 0 if all(r["code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
