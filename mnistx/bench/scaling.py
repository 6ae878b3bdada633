"""`mnistx bench --devices N`: data-parallel scaling. Each training backend trains the same model
with its own engine (mnistx/backends/distribute/) on 1 and on N devices, the per-device batch held
fixed (the global batch grows with N), and the parent reports samples/s, speed-up and efficiency.

This is the parent side (run_scaling, efficiency_rows, markdown); the child that times the fits,
one per (backend, devices), is scaling_worker.py.

scaling.json ("mnistx.scaling/1"): config, host, results: backend -> "n" -> {engine, devices,
processes, versions, jit_compile, rows: [{per_device_batch, global_batch, step_seconds (stats),
samples_per_s}]} | {error}; rows: [{backend, per_device_batch, n, samples_per_s, speedup, efficiency}].
"""

from __future__ import annotations

import time
from pathlib import Path

from mnistx import children, devices, runs, spawn
from mnistx.bench.stats import spread_text
from mnistx.config import BACKENDS, BenchConfig

SCHEMA = "mnistx.scaling/1"
# untimed fits first: the first traces and compiles; on JAX with one device the second compiled
# again (measured: 110, 50, then 1.6 ms/step), which made one repeat in five 20x slower
WARMUP_FITS = 2


def efficiency_rows(results: dict, n: int) -> list[dict]:
    """samples/s on 1 and n devices per (backend, per-device batch); speedup = N-device over
    1-device samples/s, efficiency = speedup / n (1.0: perfect weak scaling)."""
    rows = []
    for b, by_n in results.items():
        one, many = by_n.get("1", {}), by_n.get(str(n), {})
        base = {r["per_device_batch"]: r for r in one.get("rows", [])}
        for r in many.get("rows", []):
            ref = base.get(r["per_device_batch"])
            speedup = r["samples_per_s"] / ref["samples_per_s"] if ref else None
            rows.append({"backend": b, "per_device_batch": r["per_device_batch"], "n": n,
                         "samples_per_s_1": ref["samples_per_s"] if ref else None,
                         "samples_per_s_n": r["samples_per_s"], "speedup": speedup,
                         "efficiency": speedup / n if speedup else None})
    return rows


def markdown(summary: dict) -> str:
    n, res = summary["devices"], summary["results"]
    lines = [f"# Data-parallel scaling: {summary['model']}, 1 vs {n} devices ({summary['host']['date_utc']})", "",
             "Per-device batch fixed, global batch = per-device x devices. Each timed repeat: one fit over "
             f"{summary['config']['scaling_steps']} global batches, synced; median (p5-p95) of "
             f"{summary['config']['scaling_repeats']} repeats after {WARMUP_FITS} untimed fits (tracing, "
             "compilation). Efficiency = (samples/s on N) / (N x samples/s on 1).", "",
             "| backend | engine | devices | jit_compile | per-device batch | ms/step on 1 | ms/step on N | "
             "samples/s on 1 | samples/s on N | speed-up | efficiency |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        one, many = res[r["backend"]].get("1", {}), res[r["backend"]][str(n)]
        step = {k: next(x["step_seconds"] for x in v.get("rows", []) if x["per_device_batch"] == r["per_device_batch"])
                for k, v in ((1, one), (n, many)) if v.get("rows")}
        fmt = lambda v, f: "-" if v is None else f.format(v)  # noqa: E731
        lines.append(f"| {r['backend']} | {many['engine']} | {', '.join(many['devices'])} | {many['jit_compile']} | "
                     f"{r['per_device_batch']} | {spread_text(step[1], 1e3) if 1 in step else '-'} | "
                     f"{spread_text(step[n], 1e3)} | {fmt(r['samples_per_s_1'], '{:,.0f}')} | "
                     f"{r['samples_per_s_n']:,.0f} | {fmt(r['speedup'], '{:.2f}x')} | {fmt(r['efficiency'], '{:.0%}')} |")
    for b, by_n in res.items():
        for k, v in by_n.items():
            if "error" in v:
                lines.append(f"\n**{b} on {k} device(s)**: {v['error']}")
    envs = [v for by_n in res.values() for v in by_n.values() if "versions" in v]
    versions = {k: v for e in envs for k, v in e["versions"].items()}
    lines += ["", f"Device: {envs[0]['device'] if envs else '?'}; versions: "
              + ", ".join(f"{k} {v}" for k, v in versions.items())]
    return "\n".join(lines) + "\n"


def run_scaling(cfg: BenchConfig, out_dir, jobs: list, workdir: Path, progress=print) -> dict:
    """Children for n = 1 and n = cfg.devices per installed training backend; writes
    scaling.json and scaling.md into out_dir; returns the summary."""
    n = cfg.devices
    trainers = [b for b in cfg.backends if b in BACKENDS and spawn.installed(b)]  # run_bench checked: not empty
    import dataclasses

    children.write(workdir, children.BenchChild(cfg, tuple(jobs[:1])))
    start, results = time.perf_counter(), {}
    for k in sorted({1, n}):
        argvs, envs = devices.launch_all(trainers, k, children.argv("bench-scaling", workdir))
        progress(f"  scaling: {k} device(s) on {', '.join(trainers)}, one backend at a time")
        done = spawn.run_children(argvs, workdir / f"logs-x{k}", cfg.timeout_s, parallel=False,
                                  progress=progress, env_extra=devices.visible(cfg.device), env_each=envs,
                                  compile_cache=False)
        loaded, failed = children.collect(done, lambda b: runs.read_json(workdir / f"{b}-x{k}.json"), trainers)
        for b in trainers:
            results.setdefault(b, {})[str(k)] = loaded.get(b) or {"error": failed[b], "log_tail": done[b].tail(8)}
    summary = {"schema": SCHEMA, "model": jobs[0].label, "devices": n, "config": dataclasses.asdict(cfg),
               "host": runs.environment(), "results": results, "rows": efficiency_rows(results, n),
               "wall_seconds": time.perf_counter() - start}
    out_dir = Path(out_dir)
    summary["files"] = {"json": str(runs.write_json(out_dir / "scaling.json", summary)),
                        "markdown": str(runs.write_text(out_dir / "scaling.md", markdown(summary)))}
    return summary
