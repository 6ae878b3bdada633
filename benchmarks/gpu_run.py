"""One prepared run for a GPU machine: `mnistx bench` and `mnistx parity` (TF32 off, then on)
for every backend found there, into one folder with gpu.json and gpu.md.

    python benchmarks/gpu_run.py [--device gpu|cpu] [--quick] [--out DIR] [--backends a,b]

A backend whose framework is missing there (TensorFlow on the lent machine) is reported as
"not available on this machine", never as a failure. `--device cpu` runs the same path on CPU
(tested in CI). Called by benchmarks/gpu.sh, which installs carried wheels first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mnistx import runs, spawn  # noqa: E402
from mnistx.config import BACKENDS, BenchConfig, ParityConfig  # noqa: E402
from mnistx.errors import MnistxError  # noqa: E402


def nvidia_smi() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run(device: str, out: Path, quick: bool, backends, data=None, progress=print) -> dict:
    from mnistx.bench.runner import run_bench
    from mnistx.parity.runner import run_parity

    gpu = nvidia_smi()
    if device == "gpu" and not gpu:
        raise MnistxError("--device gpu but nvidia-smi finds no GPU; use --device cpu")
    present = [b for b in backends if spawn.installed(b)]
    missing = {b: "not available on this machine" for b in backends if b not in present}
    if not present:
        raise MnistxError(f"none of {', '.join(backends)} is installed here")
    bc = (BenchConfig.quick if quick else BenchConfig)(backends=tuple(present), device=device)
    progress(f"gpu_run: device {device} ({gpu or 'no GPU'}); backends {', '.join(present)}; "
             f"missing: {', '.join(missing) or 'none'}")
    bench = run_bench(bc, out / "bench", data, quick, progress)
    parity = {}
    for tf32 in ([False, True] if device == "gpu" else [False]):
        name = f"parity-tf32-{'on' if tf32 else 'off'}"
        parity[name] = run_parity(ParityConfig(backends=tuple(present), tf32=tf32), out / name, data,
                                  progress=progress)
    result = {"date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "device": device,
              "nvidia_smi": gpu, "backends_missing": missing, "bench": bench["files"],
              "goals": bench.get("goals"), "summary": bench["summary"],
              "parity": {k: {"passed": v["passed"], "files": v["files"],
                             "max_probs_diff": max((c["max_abs_diff"] for c in v["checks"] if c["check"] == "outputs"),
                                                   default=None), "tf32_drift": v.get("tf32_drift")}
                   for k, v in parity.items()}}
    runs.write_json(out / "gpu.json", result)
    runs.write_text(out / "gpu.md", markdown(result))
    return result


def markdown(r: dict) -> str:
    lines = [f"# mnistx on {r['nvidia_smi'] or 'CPU'} ({r['device']}), {r['date_utc']}", ""]
    lines += [f"- {b}: {why}" for b, why in r["backends_missing"].items()]
    lines += ["", "| backend | model | mode | epoch s | step ms (b=32) | first call s | jit_compile | x native |",
              "|---|---|---|---|---|---|---|---|"]
    for s in r["summary"]:
        ratio = f"{s['keras_over_native']:.2f}" if s["keras_over_native"] else "-"
        lines.append(f"| {s['backend']} | {s['model']} | {s['mode']} | {s['epoch_s']:.2f} | {s['step32_ms']:.3f} | "
                     f"{s['first_call_s']:.2f} | {s['jit_compile']} | {ratio} |")
    lines += [""] + [f"- {k}: {'PASS' if v['passed'] else 'FAIL'}, max probs diff {v['max_probs_diff']:.2e}"
                     for k, v in r["parity"].items() if v["max_probs_diff"] is not None]
    from mnistx.parity import tf32

    for v in r["parity"].values():
        lines += tf32.markdown(v.get("tf32_drift"))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["gpu", "cpu"], default="gpu")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--data", help="MNIST .npz or IDX folder (default: $MNISTX_DATA, else Keras's download)")
    ap.add_argument("--out", help="default: benchmarks/results/<device>-<date>")
    args = ap.parse_args(argv)
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"{args.device}-{dt.date.today():%Y%m%d}")
    try:
        r = run(args.device, out, args.quick, spawn.check_backends(args.backends.split(",")), args.data)
    except MnistxError as exc:
        print(f"gpu_run: error: {exc}", file=sys.stderr)
        return 2
    print(Path(out / "gpu.md").read_text())
    return 0 if all(v["passed"] for v in r["parity"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
