"""One prepared run for a GPU machine: bench, the torch CUDA-graph check and parity (TF32 off,
then on) for every backend found there, within a time budget, into a compact results folder.

    python benchmarks/gpu_run.py [--device gpu|cpu] [--quick] [--budget SECONDS] [--out DIR] [--backends a,b]

Stages run in order of importance -- bench, graph check (torch), parity TF32 off, parity TF32 on
(GPU only), the steps_per_execution sweep for keras-tuned (GPU only: JAX, TensorFlow) -- each only when its estimated cost (ESTIMATE_S, per backend, measured) fits what is
left of the budget; a skipped stage is listed with the reason. Every child's timeout is what is
left of the budget. The results folder comes back whole from a lent machine (PACKAGE_LIMITS: at
most 8 files, each under 16 MiB): gpu.md, gpu.json, bench.md, bench.json, parity.md (every
parity run), plots.html (every plot, embedded), work.tar.gz (logs and work files, left out with
a note when too large). A backend whose framework is missing there (TensorFlow on the lent
machine) is reported as "not available on this machine", never as a failure. `--device cpu` runs
the same path on CPU (tested in CI). Called by benchmarks/gpu.sh, which installs carried wheels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnistx import runs, spawn  # noqa: E402
from mnistx.config import BACKENDS, BenchConfig, ParityConfig  # noqa: E402
from mnistx.errors import MnistxError  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from gpu_package import PACKAGE_LIMITS, package  # noqa: E402

# Seconds per backend present, per stage. gpu: the H200 run of 2026-11-28 (quick bench 183 s for
# two backends, full 245 s, parity 50 s TF32 off and 28 s on, run side by side). cpu: this
# project's 2-core CI machine (quick bench ~75 s per backend, parity ~25 s).
ESTIMATE_S = {
    "gpu": {"bench-quick": 95, "bench-full": 125, "graph-check": 30, "parity": 30, "sweep": 60},
    "cpu": {"bench-quick": 90, "bench-full": 400, "graph-check": 40, "parity": 30, "sweep": 300},
}


def nvidia_smi() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class Budget:
    """Seconds left of --budget (None: no limit) and the plan's decisions."""

    def __init__(self, seconds: float | None, device: str, n_backends: int):
        self.seconds, self.start, self.est, self.n = seconds, time.perf_counter(), ESTIMATE_S[device], n_backends
        self.skipped: dict[str, str] = {}

    def left(self) -> float | None:
        return None if self.seconds is None else self.seconds - (time.perf_counter() - self.start)

    def fits(self, stage: str, key: str, per_backend: bool = True) -> bool:
        need = self.est[key] * (self.n if per_backend else 1)
        left = self.left()
        if left is not None and need > left:
            self.skipped[stage] = f"skipped: needs ~{need:.0f} s, {max(left, 0):.0f} s left of the {self.seconds:.0f} s budget"
            return False
        return True

    def timeout(self, default: float) -> float:
        left = self.left()
        return default if left is None else max(30.0, min(default, left))


def graph_check(work: Path, data, timeout: float) -> dict:
    """benchmarks/graph_check.py in a torch child: the CUDA-graph loop against the eager loop."""
    out = work / "graph-check.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "graph_check.py"), str(out)] + (["--data", data] if data else [])
    try:
        res = subprocess.run(cmd, env=spawn.child_env("torch"), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    (work / "graph-check.log").write_text(res.stdout + res.stderr)
    return runs.read_json(out) if res.returncode == 0 and out.exists() else {
        "error": (res.stderr.strip().splitlines() or ["failed"])[-1][:300]}


def sweep(work: Path, backend: str, timeout: float) -> list[str]:
    """benchmarks/sweep_steps_per_execution.py in a child: how keras-tuned is chosen on this device."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "sweep_steps_per_execution.py")]
    try:
        res = subprocess.run(cmd, env=spawn.child_env(backend), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        res = subprocess.CompletedProcess(cmd, 124, (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes)
                                          else exc.stdout or "", f"timed out after {timeout:.0f} s")
    (work / f"sweep-{backend}.log").write_text(res.stdout + res.stderr)
    lines = [ln for ln in res.stdout.splitlines() if " spe " in ln]
    return lines if res.returncode == 0 else lines + [f"{backend}: sweep ended early: {res.stderr.strip()[-200:]}"]


def run(device: str, out: Path, quick: bool, backends, data=None, budget: float | None = None, progress=print) -> dict:
    from mnistx.bench.runner import run_bench
    from mnistx.parity.runner import run_parity

    gpu = nvidia_smi()
    if device == "gpu" and not gpu:
        raise MnistxError("--device gpu but nvidia-smi finds no GPU; use --device cpu")
    present = [b for b in backends if spawn.installed(b)]
    missing = {b: "not available on this machine" for b in backends if b not in present}
    if not present:
        raise MnistxError(f"none of {', '.join(backends)} is installed here")
    plan = Budget(budget, device, len(present))
    work = Path(tempfile.mkdtemp(prefix="mnistx-gpu-run-"))
    progress(f"gpu_run: device {device} ({gpu or 'no GPU'}); backends {', '.join(present)}; missing: "
             f"{', '.join(missing) or 'none'}; budget {f'{budget:.0f} s' if budget else 'none'}; work in {work}")
    if not quick and not plan.fits("bench (full)", "bench-full"):
        quick = True  # the full bench does not fit: the quick one may
    bench = None
    if plan.fits("bench", "bench-quick"):
        bc = (BenchConfig.quick if quick else BenchConfig)(backends=tuple(present), device=device,
                                                          timeout_s=plan.timeout(1800.0))
        bench = run_bench(bc, work / "bench", data, quick, progress)
    checked = {}
    if "torch" in present and plan.fits("graph check", "graph-check", per_backend=False):
        progress("gpu_run: torch native loop, CUDA-graph path against the eager loop")
        checked = graph_check(work, data, plan.timeout(600.0))
    parity = {}
    for tf32 in ([False, True] if device == "gpu" else [False]):
        name = f"parity-tf32-{'on' if tf32 else 'off'}"
        if len(present) >= 2 and plan.fits(name, "parity", per_backend=False):
            parity[name] = run_parity(ParityConfig(backends=tuple(present), tf32=tf32, timeout_s=plan.timeout(600.0)),
                                      work / name, data, progress=progress)
    sweeps = {}
    for b in [b for b in present if b in ("jax", "tensorflow")] if device == "gpu" else []:
        if plan.fits(f"sweep {b}", "sweep", per_backend=False):
            progress(f"gpu_run: steps_per_execution sweep on {b}")
            sweeps[b] = sweep(work, b, plan.timeout(600.0))
    result = {"date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "device": device,
              "nvidia_smi": gpu, "backends_missing": missing, "quick": quick, "budget_s": budget,
              "wall_s": time.perf_counter() - plan.start, "skipped": plan.skipped,
              "goals": (bench or {}).get("goals"), "summary": (bench or {}).get("summary", []),
              "graph_check": {k: v for k, v in checked.items() if k != "losses"}, "sweeps": sweeps,
              "parity": {k: {"passed": v["passed"], "tf32_drift": v.get("tf32_drift"),
                             "max_probs_diff": max((c["max_abs_diff"] for c in v["checks"] if c["check"] == "outputs"),
                                                   default=None)} for k, v in parity.items()}}
    result["files"] = package(out, work, result, markdown(result), bench, parity, progress)
    return result


def markdown(r: dict) -> str:
    from mnistx.bench.report import jit_text
    from mnistx.parity import tf32

    where = r["nvidia_smi"] if r["device"] == "gpu" and r["nvidia_smi"] else "CPU"
    lines = [f"# mnistx on {where} ({r['device']}), {r['date_utc']}", "",
             f"Wall {r['wall_s']:.0f} s" + (f" of a {r['budget_s']:.0f} s budget" if r["budget_s"] else "") +
             f"; bench {'quick' if r['quick'] else 'full'}.", ""]
    lines += [f"- {b}: {why}" for b, why in r["backends_missing"].items()]
    lines += [f"- {stage}: {why}" for stage, why in r["skipped"].items()]
    lines += ["", "| backend | model | mode | epoch s | step ms (b=32) | first call s | jit_compile (loop) | x native |",
              "|---|---|---|---|---|---|---|---|"]
    for s in r["summary"]:
        ratio = f"{s['keras_over_native']:.2f}" if s["keras_over_native"] else "-"
        lines.append(f"| {s['backend']} | {s['model']} | {s['mode']} | {s['epoch_s']:.2f} | {s['step32_ms']:.3f} | "
                     f"{s['first_call_s']:.2f} | {jit_text(s)} | {ratio} |")
    g = r.get("graph_check") or {}
    if g:
        lines += ["", "torch native loop, graph check: " + (g["error"] if "error" in g else
                  f"{g['path']} vs eager over {g['steps']} steps: max weight diff {g['max_weight_diff']:.2e}, "
                  f"max loss diff {g['max_loss_diff']:.2e}, {g['seconds']['default']:.2f} s vs "
                  f"{g['seconds']['eager']:.2f} s" + (f"; capture failed: {g['graph_error']}" if g.get("graph_error") else ""))]
    for b, rows in r.get("sweeps", {}).items():
        lines += ["", f"keras-tuned sweep on {b} (steps_per_execution x jit_compile; two timed epochs, s):", "",
                  *[f"    {row}" for row in rows]]
    lines += [""] + [f"- {k}: {'PASS' if v['passed'] else 'FAIL'}, max probs diff {v['max_probs_diff']:.2e}"
                     for k, v in r["parity"].items() if v["max_probs_diff"] is not None]
    for v in r["parity"].values():
        lines += tf32.markdown(v.get("tf32_drift"))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["gpu", "cpu"], default="gpu")
    ap.add_argument("--quick", action="store_true", help="one timed epoch per mode")
    ap.add_argument("--budget", type=float, metavar="SECONDS", help="skip the stages that would not fit "
                    "(e.g. 540 for a 10-minute command, 170 for a 3-minute one; default: no limit)")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--data", help="MNIST .npz or IDX folder (default: $MNISTX_DATA, else Keras's download)")
    ap.add_argument("--out", help="default: benchmarks/results/<device>-<date>")
    args = ap.parse_args(argv)
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"{args.device}-{dt.date.today():%Y%m%d}")
    try:
        if args.budget is not None and args.budget <= 0:
            raise MnistxError("--budget must be a positive number of seconds")
        if out.is_dir() and any(out.iterdir()) and not (out / "gpu.json").exists():
            raise MnistxError(f"--out {out} holds other files; choose an empty folder (or an earlier results folder)")
        r = run(args.device, out, args.quick, spawn.check_backends(args.backends.split(",")), args.data, args.budget)
    except MnistxError as exc:
        print(f"gpu_run: error: {exc}", file=sys.stderr)
        return 2
    print(Path(out / "gpu.md").read_text())
    print(f"results: {out} ({len(r['files'])} files; limits {PACKAGE_LIMITS})")
    return 0 if all(v["passed"] for v in r["parity"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
