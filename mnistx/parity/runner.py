"""`mnistx parity`: one child per backend on the same weights and inputs; the parent compares.

The parent never imports keras or a backend: mnistx/prepare.py checks the model, inputs and loss
(one probe child), then the children (`mnistx _child parity DIR`, KERAS_BACKEND set) write
.npz/.json files that the parent compares and reports.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path


from mnistx import children, devices, runs, spawn, warmstart
from mnistx.config import BACKENDS, INFERENCE_BACKENDS, ParityConfig
from mnistx.errors import MnistxError
from mnistx.parity import checks as C
from mnistx.parity import data_parallel, locator, report, tf32
from mnistx.parity.workfiles import failed_marker, load_result
from mnistx.prepare import prepare


def _saliency_figure(results: dict):
    from mnistx.introspect.saliency import saliency_grid

    have = {b: r for b, r in results.items() if "saliency_images" in r}
    if not have:
        return None
    first = next(iter(have.values()))
    maps = {b: r["saliency"].max(-1) if r["saliency"].ndim == 4 else r["saliency"] for b, r in have.items()}
    return saliency_grid(first["saliency_images"], maps, first["saliency_labels"])


def retrace(results: dict, infos: dict, verdict: dict, child_cfg: children.ParityChild, workdir: Path,
            n_eval: int, progress, outputs_tier) -> dict | None:
    """When outputs differ beyond their tier in samples the per-layer trace did not cover (it
    covers the first --activation-images), trace the samples that differ most, once more per
    backend, and put those records in place of the first (in results and infos). Returns what was
    chosen and why, with done=False when a child failed (the first trace is kept then)."""
    cfg = child_cfg.settings
    traced = min(cfg.n_activation_images, n_eval)
    pick = locator.worst_samples(results, verdict["checks"], outputs_tier, cfg.n_activation_images, traced)
    if not pick:
        return None
    where = workdir / "retrace"
    where.mkdir(exist_ok=True)
    children.write(where, dataclasses.replace(child_cfg, trace_indices=tuple(pick["indices"])))
    pick["why"] = (f"outputs differ beyond their tier in {pick['beyond']} samples ({', '.join(pick['pairs'])}), "
                   f"not all among the first {traced} traced: the {len(pick['indices'])} that differ most")
    progress(f"  {pick['why']}; tracing every layer on those again")
    done = spawn.run_children({b: children.argv("parity", where) for b in results},
                              where / "logs", cfg.timeout_s, cfg.parallel, progress)
    pick["done"] = all(r.ok for r in done.values())
    if pick["done"]:
        for b in results:
            arrays, info = load_result(where, b)
            results[b] = {k: v for k, v in results[b].items() if not k.startswith(("act_", "src_"))} | arrays
            infos[b].update(layers=info["layers"], sources=info["sources"])
    return pick


def checkpoint_pass(infos: dict, child_cfg: children.ParityChild, workdir: Path, progress) -> None:
    """--sequential: each child loaded the checkpoints saved before it ran; load the rest now, one
    child per backend that ran before another (the last one already loaded every checkpoint)."""
    order = child_cfg.backends
    todo = [b for b in order[:-1] if b in infos]
    if not todo:
        return
    where = workdir / "checkpoint-pass"
    where.mkdir(exist_ok=True)
    children.write(where, dataclasses.replace(child_cfg, checkpoint_pass_of=str(workdir)))
    progress(f"  loading the checkpoints saved after {', '.join(todo)} ran (--sequential)")
    done = spawn.run_children({b: children.argv("parity", where) for b in todo},
                              where / "logs", child_cfg.settings.timeout_s, False, progress)
    loaded, failed = children.collect(done, lambda b: runs.read_json(where / f"{b}.json")["checkpoints"], todo)
    for b in todo:
        infos[b]["checkpoints"].update(loaded.get(b) or {o: {"error": f"the checkpoint pass {failed[b]}"}
                                                         for o in order[order.index(b) + 1:]})


def check_config(cfg: ParityConfig) -> None:
    spawn.check_backends(cfg.backends)
    if cfg.n_images < 1 or cfg.steps < 1 or cfg.batch_size < 1 or cfg.n_activation_images < 1:
        raise MnistxError("--images, --steps, --batch-size and --activation-images must be at least 1")
    devices.check(cfg.devices, batch_sizes=[cfg.batch_size])
    if cfg.devices > 1 and not any(b in BACKENDS for b in cfg.backends):
        raise MnistxError(f"--devices trains data-parallel: name at least one of {', '.join(BACKENDS)}")


def run_parity(cfg: ParityConfig, out_dir, data_path=None, run_dir=None, progress=print, probed=None,
               early=None) -> dict:
    """Check inputs, run the children, compare, write the report into out_dir; returns the summary.
    probed: an earlier probe's folder that may serve this job (prepare.reuse_probe); early: its
    children, started by the caller (warmstart.start; those it does not use are ended)."""
    out_dir = Path(out_dir)
    check_config(cfg)
    model = cfg.model
    if run_dir is not None:  # the run's own model spec, with the run's trained weights
        run_dir = runs.check_run_dir(run_dir)
        model = runs.read_json(run_dir / "meta.json").get("model") or str((run_dir / "model.keras").resolve())
    # inference-only backends last, numpy the very last: pairs read "<backend> vs numpy"
    present = sorted((b for b in cfg.backends if spawn.installed(b)),
                     key=lambda b: (b in INFERENCE_BACKENDS, b == C.ORACLE))
    not_compared = {b: f"skipped: not installed ({spawn.install_hint(b)})"
                    for b in cfg.backends if b not in present}
    start = time.perf_counter()
    progress(f"mnistx parity: {model} on {', '.join(present) or 'no installed backend'} -> {out_dir}")
    job = prepare(model, out_dir / "work", present or cfg.backends, data_path, cfg.inputs, cfg.n_images,
                  cfg.steps * cfg.batch_size, cfg.seed, cfg.int_high, cfg.loss, cfg.timeout_s, progress,
                  cfg.seq_len, cfg.image_size, cfg.edge_cases, cfg.plant_layer, probed=probed,
                  warm=None if early else warmstart.plan("parity", present, model, cfg.parallel))
    workdir = job.workdir
    if run_dir is not None:
        import shutil

        shutil.copyfile(run_dir / "model.weights.h5", job.reference)
    child_cfg = children.ParityChild(cfg, job.shared(), tuple(present), {
        tf32.tier_key(t): t for t in (cfg.tolerances.checkpoint, tf32.resolve(cfg.tolerances).checkpoint)})
    children.write(workdir, child_cfg)
    progress(f"  {len(job.inputs.eval_y)} evaluation samples, {cfg.steps} training steps of batch "
             f"{cfg.batch_size}; children side by side: {cfg.parallel}")
    jobs = {b: children.argv("parity", workdir) for b in present}
    done = spawn.run_children(jobs, workdir / "logs", cfg.timeout_s, cfg.parallel, progress,
                              on_done=lambda r: r.ok or failed_marker(workdir, r.backend).touch(),
                              warm=job.warm or early)
    loaded, failures = children.collect(done, lambda b: load_result(workdir, b), present)  # in the order asked for
    results, infos = {b: r for b, (r, _) in loaded.items()}, {b: i for b, (_, i) in loaded.items()}
    not_compared.update(failures)
    if not cfg.parallel:
        checkpoint_pass(infos, child_cfg, workdir, progress)
    verdict, drift = tf32.judge(results, infos, cfg.tolerances, cfg.tf32, C.run_checks)  # TF32: its own tier
    judging = tf32.resolve(cfg.tolerances) if (drift or {}).get("active") else cfg.tolerances  # one set, everywhere
    traced = retrace(results, infos, verdict, child_cfg, workdir, len(job.inputs.eval_y), progress,
                     judging.outputs)
    if traced and traced.get("done"):  # the layers again, on the samples whose outputs differ most
        verdict, drift = tf32.judge(results, infos, cfg.tolerances, cfg.tf32, C.run_checks)
    first = next(iter(infos.values()), {})
    dp_section, dp_failures = None, {}
    if cfg.devices > 1:  # the trajectory again on N devices, after the single-device children
        dp, dp_infos, dp_failures = data_parallel.children(child_cfg, workdir, present, progress)
        not_compared.update(dp_failures)
        dp_checks, dp_curves = data_parallel.judge(results, dp, cfg.devices, judging)
        verdict["checks"] += dp_checks
        verdict["curves"].update(dp_curves)
        verdict["passed"] = verdict["passed"] and all(c["passed"] for c in dp_checks)
        dp_section = data_parallel.section(cfg.devices, dp_infos, [r["class"] for r in first.get("layers", [])])
    failed = [*failures, *dp_failures]  # each fails the verdict, a data-parallel child too
    summary = {
        "model": job.spec.text, "model_name": job.info["name"], "model_info": job.info,
        "reference": str(run_dir / "model.weights.h5") if run_dir else f"seeded in {job.info['backend']}",
        "compared": list(results), "inputs": job.inputs.source, "loss": job.loss,
        "inputs_described": job.info["inputs_described"], "outputs_note": job.info.get("outputs_note"),
        "n_images": len(job.inputs.eval_y), "n_activation_images": cfg.n_activation_images,
        "steps": cfg.steps, "batch_size": cfg.batch_size, "tf32": cfg.tf32, "plant": cfg.plant,
        "planted": next((i["planted"] for i in infos.values() if i.get("planted")), None),
        "randomness_disabled": first.get("randomness_disabled", []), "optimizer": first.get("optimizer"),
        "traced_samples": traced or {"indices": list(range(min(cfg.n_activation_images, len(job.inputs.eval_y)))),
                                     "why": "the first samples (no output outside them differs beyond its tier)"},
        "activations_scope": ("every leaf layer, nested models flattened" if job.info["graph"] else
                              "every layer the subclassed model's call() runs; tensors computed "
                              "between layers are compared as the next layer's inputs"),
        "tolerances": judging.as_dict(), **verdict, "tf32_drift": drift, "data_parallel": dp_section,
        "passed": verdict["passed"] and not failed and len(results) >= 2,
        "failed_children": failed,
        "not_compared": not_compared, "environments": infos,
        "wall_seconds": time.perf_counter() - start, "config": dataclasses.asdict(child_cfg)}
    if len(results) < 2:
        summary["not_compared"]["(all)"] = "fewer than two backends produced results: nothing to compare"
    summary["files"] = report.write(summary, out_dir, _saliency_figure(results))
    runs.prune_work(out_dir / "work")  # inputs, weights, arrays: logs and JSON stay
    return summary
