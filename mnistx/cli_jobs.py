"""Subcommands that span backends (parity, bench, compare): parsers and handlers."""

from __future__ import annotations

import sys
from pathlib import Path

from mnistx.config import BACKENDS
from mnistx.errors import MnistxError


def _backends(text: str) -> tuple[str, ...]:
    """Split only: each job checks the names in the parent (here it would escape as a traceback)."""
    return tuple(b.strip() for b in text.split(",") if b.strip())


def _common(p, what: str, default_text: str | None = None):
    p.add_argument("--backends", type=_backends, default=None if default_text else BACKENDS, metavar="A,B,C",
                   help=f"backends to {what} (default: {default_text or ','.join(BACKENDS)})")
    p.add_argument("--data", metavar="PATH", help="the worksheet's models (mlp, cnn) take MNIST: a Keras-layout "
                   ".npz (x_train, y_train, x_test, y_test) or an IDX folder; your own --model also takes a "
                   ".npz of x + y, or x_<input name> per input (default: $MNISTX_DATA, else Keras's MNIST download)")


MODEL_HELP = ("mlp or cnn (the registry), package.module:function or path/file.py:function returning "
              "a fresh keras.Model, or a saved .keras file (default: %(default)s)")


def _model_args(p):
    p.add_argument("--inputs", choices=["data", "synthetic"], default="data",
                   help="synthetic: a seeded batch from the model's input spec, no data needed "
                        "(default: %(default)s)")
    p.add_argument("--int-high", type=int, metavar="N", help="token ids for synthetic integer inputs are "
                   "drawn from 0..N-1 (default: the first Embedding layer's input_dim)")
    p.add_argument("--loss", metavar="NAME", help="Keras loss name (default: the model's compile() loss, "
                   "else guessed from the labels and printed)")
    p.add_argument("--seq-len", type=int, metavar="L", help="synthetic inputs: length of unknown sequence "
                   "dimensions, capped at the model's position embeddings (default: 16)")
    p.add_argument("--image-size", type=int, metavar="S", help="synthetic inputs: height and width of an "
                   "image input of unknown size (default: 32)")


def _tiers(items) -> dict:
    out = {}
    for item in items or []:
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = tuple(float(v) for v in value.split(","))
        except ValueError:
            raise MnistxError(f"--tier {item}: expected NAME=ATOL[,RTOL], e.g. activations=1e-5,1e-4") from None
        if not 1 <= len(out[name.strip()]) <= 2:
            raise MnistxError(f"--tier {item}: expected NAME=ATOL[,RTOL]")
    return out


def add_job_parsers(sub) -> None:
    from mnistx.config import ParityConfig as P
    from mnistx.config import BenchConfig as B

    p = sub.add_parser("parity", help="check that the backends compute the same thing (exit 1 if not)")
    _common(p, "compare; add numpy for a plain-NumPy forward pass as the reference (inference only: "
               "forward, per-layer and checkpoint checks)")
    p.add_argument("--model", default=P.model, help=MODEL_HELP)
    _model_args(p)
    p.add_argument("--run", metavar="RUN_DIR", help="take the model and weights from a run directory")
    p.add_argument("--images", type=int, default=P.n_images, help="evaluation samples (default: %(default)s)")
    p.add_argument("--activation-images", type=int, default=P.n_activation_images,
                   help="samples for per-layer activations and gradients (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=P.batch_size, help="trajectory batch (default: %(default)s)")
    p.add_argument("--tier", action="append", metavar="NAME=ATOL[,RTOL]",
                   help="override one tolerance tier, e.g. activations=1e-5,1e-4 (repeatable)")
    p.add_argument("--optimizer", choices=["auto", "adam", "sgd"], default=P.optimizer,
                   help="trajectory optimizer: auto = the model's compiled one, else Adam for mlp/cnn, "
                        "else SGD (Adam turns float noise in tiny gradients into +-lr steps; see "
                        "docs/portability.md) (default: %(default)s)")
    p.add_argument("--plant-layer", metavar="LAYER", help="with --plant: the layer (path) to change "
                   "(default: the middle layer with weights)")
    p.add_argument("--steps", type=int, default=P.steps, help="training steps compared (the --optimizer, Adam by default) (default: %(default)s)")
    p.add_argument("--plant", type=float, default=P.plant, metavar="DELTA",
                   help="self-test: add DELTA to one weight of the last backend's copy")
    p.add_argument("--edge-cases", action="store_true", help="with --inputs synthetic: what real batches "
                   "hold at their edges too -- left-padded rows, a fully masked row, the longest sequence "
                   "the model takes")
    p.add_argument("--tf32", action="store_true", help="allow TF32 matmuls on GPU in every child and judge against the TF32 tier; the "
                   "report gains a TF32 drift section (default: off, as Keras's CI)")
    p.add_argument("--devices", type=int, default=P.devices, metavar="N",
                   help="also train the trajectory data-parallel on N devices (GPUs, else N CPU devices or "
                        "processes) with each framework's engine, and compare it with one device and across "
                        "backends (default: %(default)s: off)")
    p.add_argument("--sequential", action="store_true", help="one child at a time (default: side by side)")
    p.add_argument("--timeout", type=float, default=P.timeout_s, help="seconds per child (default: %(default)s)")
    p.add_argument("--out", default="out/parity", metavar="DIR", help="report folder (default: %(default)s)")

    p = sub.add_parser("bench", help="time every backend: Keras default vs tuned vs native loop",
                       description="Time every backend (one child each, one after another). "
                       "`mnistx bench compare A.json B.json` shows ratios between two runs.")
    _common(p, "time")
    p.add_argument("--quick", action="store_true", help="fewer batch sizes and repeats (~3 min on 2 cores)")
    p.add_argument("--models", default="mlp", metavar="M,N", help="comma-separated model specs, e.g. "
                   "mlp,cnn (default: %(default)s)")
    p.add_argument("--model", help="one model: " + MODEL_HELP.replace(" (default: %(default)s)", "")
                   + " (instead of --models)")
    _model_args(p)
    p.add_argument("--samples", type=int, metavar="N", help="training samples per timed epoch "
                   "(default: 48000 for mlp/cnn on MNIST, else 1024)")
    p.add_argument("--modes", default=",".join(B.modes), metavar="A,B",
                   help="execution modes (default: %(default)s)")
    p.add_argument("--epochs", type=int, help="timed epochs per mode (default: 3, quick: 1)")
    p.add_argument("--platform", "--device", dest="device", choices=["auto", "cpu", "gpu"], default=B.device,
                   help="where the children run: cpu hides GPUs from them; --device is its older name, "
                        "--devices (below) how many (default: %(default)s)")
    p.add_argument("--devices", type=int, default=B.devices, metavar="N",
                   help="instead of the modes: data-parallel scaling of the first model on 1 and N devices "
                        "(GPUs, else N CPU devices or processes), per-device batch fixed; writes scaling.json "
                        "and scaling.md (default: %(default)s: off)")
    p.add_argument("--timeout", type=float, default=B.timeout_s, help="seconds per child (default: %(default)s)")
    p.add_argument("--out", default="out/bench", metavar="DIR", help="result folder (default: %(default)s)")
    bsub = p.add_subparsers(dest="bench_command", metavar="[compare A.json B.json]", title="or compare two results (no run)")
    c = bsub.add_parser("compare", help="ratios between two bench.json files")
    c.add_argument("a", help="baseline bench.json")
    c.add_argument("b", help="bench.json to compare with it")
    add_compare_parser(sub)


def add_compare_parser(sub) -> None:
    from mnistx.config import CompareConfig as C
    from mnistx.config import TrainConfig as T

    p = sub.add_parser("compare", help="the main job: train, introspect, parity and bench on every "
                       "backend; one HTML report")
    _common(p, "compare; numpy and openvino are inference only: they load the first training "
               "backend's run", "tensorflow,jax,torch and every installed inference-only backend")
    p.add_argument("--model", default=T.model, help=MODEL_HELP)
    _model_args(p)
    p.add_argument("--epochs", type=int, default=T.epochs, help="training epochs (default: %(default)s)")
    p.add_argument("--train-limit", type=int, metavar="N", help="train on the first N images only")
    p.add_argument("--image-index", type=int, default=C.image_index,
                   help="test image for the confidence bars (default: %(default)s)")
    p.add_argument("--parity-images", type=int, default=C.parity_images, metavar="N",
                   help="test images whose outputs are compared across backends (default: %(default)s)")
    p.add_argument("--parity-steps", type=int, default=C.parity_steps, metavar="N",
                   help="training steps of the trajectory compared (default: %(default)s)")
    p.add_argument("--bench", choices=["quick", "full", "none"], default=C.bench,
                   help="benchmark depth (default: %(default)s)")
    p.add_argument("--seeds", type=int, default=C.seeds, metavar="N", help="also train N seeds per backend "
                   "and say whether they train equally well (`mnistx converge`; default: off)")
    p.add_argument("--sequential", action="store_true", help="train the columns one at a time on every core "
                   "(default: side by side, the cores shared; the benchmark stage always runs one at a time)")
    p.add_argument("--out", default="out/compare", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--open", action="store_true", help="open report.html in your browser when it is "
                   "written ($BROWSER chooses the browser)")


def cmd_compare(args) -> int:
    from mnistx.compare import run_compare
    from mnistx.config import CompareConfig, TrainConfig

    if args.epochs < 1 or args.parity_images < 1 or args.parity_steps < 1:
        raise MnistxError("--epochs, --parity-images and --parity-steps must be at least 1")
    if not 0 <= args.image_index < 10000:
        raise MnistxError(f"--image-index must be a test image index 0..9999, not {args.image_index}")
    cfg = CompareConfig(backends=args.backends, train=TrainConfig(model=args.model, epochs=args.epochs,
                        train_limit=args.train_limit), image_index=args.image_index,
                        parity_images=args.parity_images, parity_steps=args.parity_steps, bench=args.bench,
                        seeds=args.seeds, parallel=not args.sequential,
                        inputs=args.inputs, loss=args.loss, int_high=args.int_high)
    s = run_compare(cfg, args.out, args.data)
    cols = s["columns"]
    for b, c in cols.items():
        m, intro = c.get("metrics") or {}, c.get("introspect") or {}
        if c["status"] != "ok":
            acc = c["reason"]
        elif c.get("inference_only"):  # the trainer's weights, predicted here
            acc = (f"test accuracy {intro['test_accuracy']:.4f}" if intro.get("test_accuracy") is not None else
                   f"outputs within {intro['max_abs_prob_diff']:.1e} of the trainer's")
            acc += f" (inference only: {c['meta'].get('trained_on')}'s weights)"
        else:
            acc = (f"test accuracy {m['test_accuracy']:.4f}" if m.get("test_accuracy") is not None
                   else f"test loss {m['test_loss']:.4f}")
        print(f"  {b:11s} {c['status']:8s} {acc}")
    p = s.get("parity") or {}
    print(f"  parity: {'PASS' if p.get('passed') else 'FAIL' if 'checks' in p else p.get('error', 'not run')}")
    cv = s.get("converge") or {}
    different = [v for v in cv.get("verdicts", []) if v["verdict"] == "different"]
    if cv:
        print(f"  convergence: {cv.get('error') or ', '.join(v['metric'] + ' ' + v['pair'] + ' ' + v['verdict'] for v in cv['verdicts'])}")
    print(f"report: {s['files']['html']} (and report.md, compare.json)")
    if args.open:
        from mnistx.report import open_in_browser

        print(open_in_browser(s["files"]["html"]))
    parity_ok = p.get("passed") or (s["parity"] is None and len(cols) < 2)  # one backend: nothing to compare
    return 0 if all(c["status"] == "ok" for c in cols.values()) and parity_ok and not different \
        and "error" not in cv else 1


def cmd_bench(args) -> int:
    from mnistx import runs

    if args.bench_command == "compare":
        from mnistx.bench.report import compare_table

        print(compare_table(runs.read_json(args.a), runs.read_json(args.b)))
        return 0
    from mnistx.bench.runner import run_bench
    from mnistx.config import MODES, BenchConfig

    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or any(m not in MODES for m in modes):
        raise MnistxError(f"--modes takes a comma-separated subset of {', '.join(MODES)}")
    names = (args.model,) if args.model else tuple(m.strip() for m in args.models.split(",") if m.strip())
    if args.samples is not None and args.samples < 1:
        raise MnistxError("--samples must be at least 1")
    kw = dict(backends=args.backends, models=names, modes=modes, device=args.device, timeout_s=args.timeout,
              inputs=args.inputs, int_high=args.int_high, loss=args.loss, epoch_samples=args.samples,
              devices=args.devices, seq_len=args.seq_len, image_size=args.image_size)
    if args.epochs is not None:
        if args.epochs < 1:
            raise MnistxError("--epochs must be at least 1")
        kw["epochs"] = args.epochs
    cfg = BenchConfig.quick(**kw) if args.quick else BenchConfig(**kw)
    s = run_bench(cfg, args.out, args.data, quick=args.quick)
    print(Path(s["files"]["markdown"]).read_text())
    if "devices" in s:  # the scaling run
        failed = [f"{b} on {n}" for b, by_n in s["results"].items() for n, r in by_n.items() if "error" in r]
        for f in failed:
            print(f"bench: {f} device(s) failed (logs in {Path(args.out) / 'work'})", file=sys.stderr)
        print(f"bench: {s['wall_seconds']:.0f} s; results in {Path(s['files']['json']).parent}")
        return 1 if failed else 0
    failed = [b for b, r in s["backends"].items() if "error" in r and "not installed" not in r["error"]]
    for r in s["accuracy"]["rows"]:
        if r.get("error"):
            print(f"bench: {r['backend']} {r['model']} {r['mode']}: {r['error']}", file=sys.stderr)
    if not s["accuracy"]["passed"]:
        print("bench: some mode left the accuracy band after one epoch (see the table)", file=sys.stderr)
    print(f"bench: {s['wall_seconds']:.0f} s; results in {Path(s['files']['json']).parent}")
    return 1 if failed or not s["accuracy"]["passed"] else 0


def cmd_parity(args) -> int:
    from mnistx.config import ParityConfig, Tolerances
    from mnistx.parity.runner import run_parity

    cfg = ParityConfig(model=args.model, backends=args.backends, n_images=args.images, steps=args.steps,
                       n_activation_images=args.activation_images, batch_size=args.batch_size,
                       inputs=args.inputs, int_high=args.int_high, loss=args.loss, optimizer=args.optimizer,
                       seq_len=args.seq_len, image_size=args.image_size, edge_cases=args.edge_cases,
                       plant=args.plant, plant_layer=args.plant_layer, tf32=args.tf32, devices=args.devices,
                       parallel=not args.sequential, timeout_s=args.timeout,
                       tolerances=Tolerances().with_overrides(**_tiers(args.tier)))
    s = run_parity(cfg, args.out, args.data, args.run)
    failing = [c for c in s["checks"] if not c["passed"]]
    for c in failing[:12]:
        print(f"  FAIL {c['check']:18s} {c['pair']:24s} max|diff| {c['max_abs_diff']:.2e} "
              f"(excess {c['excess']:.2g}x over {c['atol']:.0e} + {c['rtol']:.0e}·|a|)  {c['detail']}")
    for pair, loc in s["first_divergence"].items():
        print(f"  {pair}: {loc['text']}")
    for name, why in s["not_compared"].items():
        print(f"  {name}: {why}")
    if s.get("oracle"):
        print(f"  {s['oracle']['text']}")
    if (s.get("data_parallel") or {}).get("batchnorm_note"):
        print(f"  note: {s['data_parallel']['batchnorm_note']}")
    lost = [b for b in cfg.backends if b not in s["compared"]]
    lost += [b for b in s.get("failed_children", []) if b not in lost]  # "torch×2": a data-parallel child
    but = f", but {', '.join(lost)} not compared" if lost and not failing else ""  # never "FAIL: 3/3 within"
    print(f"parity {'PASS' if s['passed'] else 'FAIL'}: {len(s['checks']) - len(failing)}/{len(s['checks'])} "
          f"checks within tolerance across {', '.join(s['compared']) or 'nothing'}{but} in "
          f"{s['wall_seconds']:.1f} s; report: {s['files']['markdown']}")
    return 0 if s["passed"] else 1


JOB_COMMANDS = {"parity": cmd_parity, "bench": cmd_bench, "compare": cmd_compare}
