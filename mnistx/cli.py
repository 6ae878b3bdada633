"""`mnistx` command line: argparse subcommands and thin handlers that call the library (train,
introspect, info here; cli_jobs.py: parity, bench, compare; cli_converge.py: converge; cli_tools.py: ci, atlas). A job's
children enter through mnistx/children.py, not through these parsers."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from mnistx import __version__, spawn
from mnistx.config import ALL_BACKENDS, BACKENDS, DATA_ENV
from mnistx.errors import MnistxError, Terminated


def _backend_arg(p, help_extra="", choices=BACKENDS):
    p.add_argument("--backend", choices=choices,
                   help="Keras backend for this job (default: $KERAS_BACKEND, else tensorflow)" + help_extra)


def _data_arg(p):
    p.add_argument("--data", metavar="PATH",
                   help=f"MNIST as a Keras-layout .npz (x_train, y_train, x_test, y_test) or a folder of IDX "
                        f"files; your own --model also takes x + y (default: ${DATA_ENV}, else Keras's download)")


EXAMPLES = {  # one per command, shown in its --help (and all of them in `mnistx --help`)
    "compare": "mnistx compare --epochs 1 --open",
    "train": "mnistx train --backend jax --epochs 5 --out runs/mlp-jax",
    "introspect": "mnistx introspect runs/mlp-jax --backend torch",
    "parity": "mnistx parity --model examples/models/mobilenet.py:build --inputs synthetic",
    "bench": "mnistx bench --quick --backends jax,torch",
    "converge": "mnistx converge --seeds 8 --epochs 5 --backends tensorflow,jax,torch",
    "info": "mnistx info --json",
    "ci": "mnistx ci init --backends jax,torch --model mypkg.models:build",
    "atlas": "mnistx atlas benchmarks/atlas_models.py:bert benchmarks/atlas_models.py:llama --out out/atlas",
}


EXIT_ONE = {  # what exit code 1 means, for the commands that use it; 0, 2, 130, 143 mean the same everywhere
    "compare": "a backend failed to train or introspect, parity failed, or (--seeds) a pair trains differently",
    "parity": "a check is outside its tolerance, or a backend's child failed",
    "bench": "a backend or mode failed, or left the accuracy band",
    "converge": "a pair of backends trains differently, or a backend failed",
    "info": "a backend is installed but cannot be imported",
    "atlas": "a model's parity or bench failed (the table says which)",
}


def exit_codes(command: str) -> str:
    one = EXIT_ONE.get(command)
    return ("exit codes:\n  0    done" + (f"\n  1    {one}" if one else "")
            + "\n  2    bad input (one line on stderr; nothing written)\n  130  interrupted (Ctrl-C), 143 SIGTERM")


def _parser() -> argparse.ArgumentParser:
    from mnistx.config import IntrospectConfig, TrainConfig as T

    ap = argparse.ArgumentParser(
        prog="mnistx", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Any Keras 3 model -- the worksheet's MNIST MLP by default, or your own -- on TensorFlow, "
                    "JAX and PyTorch:\ntrain, introspect, check that the backends agree, benchmark. Start with "
                    "`mnistx compare`:\nevery step on every backend, one HTML report.",
        epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES.values())
               + "\n\n`mnistx COMMAND --help` describes each command.")
    ap.add_argument("--version", action="version", version=f"mnistx {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model with the worksheet recipe; write a run directory")
    _backend_arg(p)
    _data_arg(p)
    from mnistx.cli_jobs import MODEL_HELP, _model_args

    p.add_argument("--model", default=T.model, help=MODEL_HELP)
    _model_args(p)
    p.add_argument("--epochs", type=int, default=T.epochs, metavar="N",
                   help="passes over the training images (default: %(default)s, the worksheet's)")
    p.add_argument("--batch-size", type=int, default=T.batch_size, metavar="N",
                   help="images per training step (default: %(default)s)")
    p.add_argument("--seed", type=int, default=T.seed, metavar="N",
                   help="seeds the initial weights and Keras's RNG (default: %(default)s)")
    p.add_argument("--train-limit", type=int, metavar="N", help="use only the first N training images")
    p.add_argument("--jit-compile", choices=["auto", "true", "false"], default=str(T.jit_compile).lower(),
                   help="Keras compile(jit_compile=...) (default: %(default)s)")
    p.add_argument("--steps-per-execution", type=int, default=T.steps_per_execution,
                   help="Keras compile(steps_per_execution=...) (default: %(default)s)")
    p.add_argument("--out", metavar="DIR", help="run directory (default: runs/<model>-<backend>-<time>)")

    p = sub.add_parser("introspect", help="save every worksheet figure for a run directory")
    p.add_argument("run_dir", help="a run directory written by `mnistx train` on any backend")
    _backend_arg(p, "; any backend can load any run, the inference-only numpy and openvino too", ALL_BACKENDS)
    p.add_argument("--image-index", type=int, default=IntrospectConfig.image_index, help="evaluation sample for the confidence chart "
                   "(default: %(default)s, the worksheet's)")
    p.add_argument("--out", metavar="DIR", help="figure folder (default: RUN_DIR/introspect-<backend>)")

    p = sub.add_parser("info", help="installed backends, versions and devices")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    from mnistx.cli_converge import add_converge_parser
    from mnistx.cli_jobs import add_job_parsers
    from mnistx.cli_tools import add_atlas_parser, add_ci_parser

    add_job_parsers(sub)
    add_converge_parser(sub)
    add_ci_parser(sub)
    add_atlas_parser(sub)
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, p in sub.choices.items():
        if name in EXAMPLES:
            p.description = p.description or helps.get(name, "").capitalize() + "."
            p.epilog = ((p.epilog + "\n" if p.epilog else "") + "example:\n  " + EXAMPLES[name]
                        + "\n\n" + exit_codes(name))
            p.formatter_class = argparse.RawDescriptionHelpFormatter
    return ap


def _check_env_backend(args) -> None:
    """$KERAS_BACKEND, when set, must name a backend mnistx runs (Keras would raise deep inside);
    an inference-only one (numpy, openvino) only where nothing trains."""
    from mnistx.config import INFERENCE_BACKENDS

    value = os.environ.get("KERAS_BACKEND")
    if value and value not in ALL_BACKENDS:
        raise MnistxError(f"KERAS_BACKEND={value} is not a backend mnistx runs; set it to one of "
                          f"{', '.join(BACKENDS)}, or unset it")
    if value in INFERENCE_BACKENDS and args.command not in (
            "parity", "info", "introspect", "bench"):
        raise MnistxError(f"KERAS_BACKEND={value} is inference only, so `mnistx {args.command}` cannot run on it; "
                          f"set it to one of {', '.join(BACKENDS)} (numpy takes part in `mnistx parity --backends`)")


def _in_backend(args, argv) -> int | None:
    """Honour --backend: set KERAS_BACKEND before keras loads, else re-run in a child process."""
    backend = getattr(args, "backend", None)
    if not backend:
        return None
    if not spawn.installed(backend):
        raise MnistxError(f"backend '{backend}' is not installed; {spawn.install_hint(backend)}")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
        return None
    import keras

    if keras.backend.backend() == backend:
        return None
    rest, skip = [], False
    for a in argv:
        if skip or a.startswith("--backend="):
            skip = False
            continue
        if a == "--backend":
            skip = True
            continue
        rest.append(a)
    return spawn.run_in_backend(backend, rest)


def cmd_train(args) -> int:
    from mnistx import data
    from mnistx.config import TrainConfig
    from mnistx.runs import default_run_dir

    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    cfg = TrainConfig(model=args.model, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                      train_limit=args.train_limit, jit_compile=jit,
                      steps_per_execution=args.steps_per_execution)
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.steps_per_execution < 1:
        raise MnistxError("--epochs, --batch-size and --steps-per-execution must be at least 1")
    from mnistx import modelspec

    spec = modelspec.parse(cfg.model)  # unknown models fail before any data is read
    raw = None
    if spec.on_mnist and args.inputs == "data":
        raw = data.load(args.data)  # bad data fails here, before Keras and its backend load
    source = raw.source if raw else args.inputs if args.inputs == "synthetic" else (args.data or "MNIST")
    from mnistx import train

    import keras

    run_dir = args.out or default_run_dir(keras.backend.backend(), spec.label)
    print(f"mnistx train: {spec.text} on {keras.backend.backend()}, {cfg.epochs} epoch(s), "
          f"data {source} -> {run_dir}", flush=True)
    metrics = train.train(cfg, run_dir, args.data, args.inputs, args.loss, args.int_high,
                              seq_len=args.seq_len, image_size=args.image_size, raw=raw, spec=spec)
    acc = f"test accuracy {metrics['test_accuracy']:.4f}, " if metrics.get("test_accuracy") is not None else ""
    print(f"{acc}test loss {metrics['test_loss']:.4f}, "
          f"{sum(metrics['seconds_per_epoch']) / len(metrics['seconds_per_epoch']):.2f} s/epoch; "
          f"run directory: {run_dir}")
    return 0


def cmd_introspect(args) -> int:
    from mnistx import runs
    from mnistx.config import IntrospectConfig
    from mnistx.introspect import introspect_run

    runs.check_run_dir(args.run_dir)  # a run keeps its evaluation inputs (eval.npz): no data to read
    s = introspect_run(args.run_dir, args.out, IntrospectConfig(image_index=args.image_index))
    if s["test_accuracy"] is not None:
        print(f"introspect on {s['backend']} (trained on {s['trained_on']}): test accuracy "
              f"{s['test_accuracy']:.4f}; argmax agrees with the training backend on "
              f"{s['argmax_agree']}/{s['test_images']} samples (max |dp| {s['max_abs_prob_diff']:.2e})")
    else:
        print(f"introspect on {s['backend']} (trained on {s['trained_on']}): outputs differ from the "
              f"training backend's by at most {s['max_abs_prob_diff']:.2e} on {s['test_images']} samples")
    for name, path in s["figures"].items():
        print(f"  {name:14s} {path}")
    for name, why in s.get("skipped", {}).items():
        print(f"  {name:14s} skipped: {why}")
    return 0


def cmd_info(args) -> int:
    from mnistx.info import backend_rows, format_table

    rows = backend_rows()
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 1 if any(r["installed"] and r.get("error") for r in rows) else 0  # installed but broken


COMMANDS = {"train": cmd_train, "introspect": cmd_introspect, "info": cmd_info}


def _on_sigterm(signum, frame):
    raise Terminated()


def _locked(args):
    """The --out folder of a parent job is locked for the run (its children are not)."""
    from contextlib import nullcontext

    from mnistx import runs

    out = getattr(args, "out", None)
    if not out:
        return nullcontext()
    return runs.out_lock(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter, before keras loads
    from mnistx import children

    child = argv[:1] == [children.ENTRY]  # a job's child: no parser, no lock, no backend policing
    args = None if child else _parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None  # handled like Ctrl-C
    try:
        if child:
            return children.run(argv[1:])
        _check_env_backend(args)
        code = _in_backend(args, argv)
        if code is not None:
            return code
        from mnistx.cli_converge import cmd_converge
        from mnistx.cli_jobs import JOB_COMMANDS
        from mnistx.cli_tools import cmd_atlas, cmd_ci

        with _locked(args):
            return {**COMMANDS, **JOB_COMMANDS, "ci": cmd_ci, "atlas": cmd_atlas,
                    "converge": cmd_converge}[args.command](args)
    except MnistxError as exc:
        print(f"mnistx: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # disk full, file too large, permissions: one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"mnistx: error: {where}{exc.strerror or exc}; every result file is written whole "
              f"or not at all (temp file, then rename), so earlier results there are intact", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT (Ctrl-C)"
        print(f"mnistx: interrupted by {name}; child processes ended, no result file half-written; "
              f"rerun to finish", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, before)
