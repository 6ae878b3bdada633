"""`mnistx atlas SPEC... --out DIR`: parity and `bench --quick` over a list of models, one table.

Parent only (no Keras): each model goes through run_parity (synthetic inputs; with edge_cases a
second time with --edge-cases) and run_bench (quick), each in its own folder under DIR/<label>/;
a model that cannot be used is a row with its one-line reason, never the end of the atlas.
Writes atlas.json, atlas.md and atlas.html (the Markdown rendered: the same content).
Row: model, family, weights, inputs, parity verdict, max output / activation / gradient /
trajectory differences over every pair, first divergence with its cause, s/step per backend and
mode, wall time.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass, replace
from pathlib import Path

from mnistx import modelspec, runs
from mnistx.atlas_report import DIFFS
from mnistx.config import BACKENDS, BenchConfig, ParityConfig
from mnistx.errors import MnistxError



@dataclass(frozen=True)
class AtlasConfig:
    backends: tuple[str, ...] = BACKENDS
    images: int = 256  # evaluation samples per parity run
    steps: int = 10  # trajectory steps
    parity: bool = True  # parity on synthetic inputs per model
    edge_cases: bool = True  # a second parity run with left padding, a fully masked row, max length
    bench: bool = True  # bench --quick per model
    bench_samples: int = 256  # samples per timed epoch
    timeout_s: float = 900.0


def families(spec: modelspec.ModelSpec) -> dict:
    """FAMILIES = {function: (family, what)} from a builder file (benchmarks/atlas_models.py),
    read without importing it; {} when the file has none."""
    if spec.kind != "file":
        return {}
    for node in ast.parse(Path(spec.target).read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FAMILIES" for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return {}
    return {}


def _max(checks: list[dict], name: str) -> float | None:
    vals = [c["max_abs_diff"] for c in checks if c["check"] == name and " vs " in c["pair"]]
    return max(vals) if vals else None


def parity_row(s: dict) -> dict:
    """What the atlas keeps of one parity summary."""
    failing = [c for c in s["checks"] if not c["passed"]]
    first = next(iter(s.get("first_divergence", {}).items()), None)
    return {"passed": s["passed"], "checks": len(s["checks"]), "failing": len(failing),
            "diffs": {k: _max(s["checks"], k) for k in DIFFS},
            "first_divergence": f"{first[0]}: {first[1]['text']}" if first else None,
            "not_compared": s.get("not_compared") or {}, "seconds": s["wall_seconds"]}


def bench_row(s: dict) -> dict:
    """backend -> mode -> median s/step at batch 32 (or why not)."""
    out = {}
    for b, res in s["backends"].items():
        if "error" in res:
            out[b] = {"error": res["error"]}
            continue
        for mres in res.get("models", {}).values():
            for mode, r in mres["modes"].items():
                if "error" in r or "not_supported" in r:
                    out.setdefault(b, {})[mode] = {"error": r.get("error") or r["not_supported"]}
                else:
                    step = r["steps"].get("32") or next(iter(r["steps"].values()), {})
                    out.setdefault(b, {})[mode] = {"s_per_step": step.get("median"),
                                                   "jit_compile": r["settings"]["jit_compile"]}
    return out


def one_model(text: str, out_dir: Path, cfg: AtlasConfig, progress) -> dict:
    from mnistx.bench.runner import run_bench
    from mnistx.parity.runner import run_parity

    start = time.perf_counter()
    spec = modelspec.parse(text)
    label = spec.function or spec.label
    fam = families(spec).get(spec.function, ("", ""))
    row = {"model": text, "label": label, "family": fam[0], "what": fam[1]}
    pcfg = ParityConfig(model=text, backends=cfg.backends, n_images=cfg.images, steps=cfg.steps,
                        n_activation_images=16, inputs="synthetic", timeout_s=cfg.timeout_s)
    runs_to_do = ([("parity", pcfg)] if cfg.parity else []) + \
        ([("edge_cases", replace(pcfg, edge_cases=True))] if cfg.edge_cases else [])
    for key, pc in runs_to_do:
        try:
            s = run_parity(pc, out_dir / label / key, progress=progress)
        except MnistxError as exc:
            row[key] = {"error": str(exc)}
            continue
        row[key] = parity_row(s)
        info = s["model_info"]
        row.update(weights=info["params"], model_class=info["class"])
        row.setdefault("environments", {b: {k: e.get(k) for k in ("versions", "device")}
                                        for b, e in s.get("environments", {}).items()})
        row.setdefault("inputs", s.get("inputs_described"))
        if key == "edge_cases":
            row["edge_inputs"] = s.get("inputs_described")
    if cfg.bench:
        bcfg = BenchConfig.quick(models=(text,), backends=cfg.backends, inputs="synthetic",
                                 epoch_samples=cfg.bench_samples, eval_samples=cfg.bench_samples,
                                 timeout_s=cfg.timeout_s)
        try:
            row["bench"] = bench_row(run_bench(bcfg, out_dir / label / "bench", quick=True, progress=progress))
        except MnistxError as exc:
            row["bench"] = {"error": str(exc)}
    row["seconds"] = time.perf_counter() - start
    return row


def merge(*summaries: dict) -> dict:
    """One atlas from several runs over the same models (e.g. parity here, bench there): for each
    model label, the later summary's parity, edge-case and bench results where it has them."""
    rows: dict[str, dict] = {}
    for s in summaries:
        for r in s["rows"]:
            old = rows.setdefault(r["label"], {})
            rows[r["label"]] = {**old, **{k: v for k, v in r.items() if v is not None}}
            rows[r["label"]]["seconds"] = old.get("seconds", 0.0) + r["seconds"]
    last = summaries[-1]
    return {**last, "rows": list(rows.values()), "wall_seconds": sum(s["wall_seconds"] for s in summaries),
            "merged_from": [s["host"]["date_utc"] for s in summaries]}


def run_atlas(models: list[str], out_dir, cfg: AtlasConfig = AtlasConfig(), progress=print) -> dict:
    """Every model, one after another (timings need the machine alone); atlas.{json,md,html}."""
    from mnistx import spawn
    from mnistx.atlas_report import write

    if not models:
        raise MnistxError("mnistx atlas needs at least one model spec")
    if not (cfg.parity or cfg.edge_cases or cfg.bench):
        raise MnistxError("--no-parity, --no-edge-cases and --no-bench together leave nothing to run")
    specs = [modelspec.parse(m) for m in models]  # every spec checked before any child starts
    spawn.check_backends(cfg.backends, "atlas")
    out_dir, start, rows = Path(out_dir), time.perf_counter(), []
    for i, (text, spec) in enumerate(zip(models, specs)):
        elapsed = time.perf_counter() - start
        eta = f", about {elapsed / i * (len(models) - i) / 60:.0f} min left" if i else ""
        progress(f"mnistx atlas: model {i + 1}/{len(models)}: {spec.text}{eta}")
        rows.append(one_model(text, out_dir, cfg, progress))
        said = [f"{k} {'PASS' if r.get('passed') else 'FAIL' if 'passed' in r else 'ERROR'}"
                for k, r in ((k, rows[-1].get(k) or {}) for k in ("parity", "edge_cases") if k in rows[-1])]
        progress(f"mnistx atlas: {rows[-1]['label']}: {', '.join(said) or 'bench only'}; {rows[-1]['seconds']:.0f} s")
        summary = {"schema": "mnistx.atlas/1", "config": cfg.__dict__, "host": runs.environment(),
                   "rows": rows, "wall_seconds": time.perf_counter() - start}
        summary["files"] = write(summary, out_dir)  # after each model: a partial atlas is kept
    return summary
