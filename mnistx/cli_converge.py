"""`mnistx converge`: its parser and handler (the library is mnistx/converge/)."""

from __future__ import annotations

from mnistx.errors import MnistxError


def add_converge_parser(sub) -> None:
    from mnistx.cli_jobs import MODEL_HELP, _common, _model_args
    from mnistx.config import DTYPE_POLICIES
    from mnistx.config import ConvergeConfig as C

    p = sub.add_parser("converge", help="does the model train as well on every backend? N seeds each, "
                       "paired statistics: equivalent, different or inconclusive",
                       description="Train the full recipe N times per backend (seeds 1..N): per seed, every "
                       "backend starts from the same initial weights and sees the same batches in the same "
                       "order; dropout stays each backend's own. Per metric (final test accuracy and loss) "
                       "and pair of backends: the paired per-seed difference, its bootstrap interval, an "
                       "equivalence test (TOST) against a margin and a paired t-test.")
    _common(p, "train and compare")
    p.add_argument("--model", default=C.model, help=MODEL_HELP)
    _model_args(p)
    p.add_argument("--seeds", type=int, default=C.seeds, metavar="N", help="seeds per backend (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=C.epochs, metavar="N", help="epochs per seed (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=C.batch_size, metavar="N",
                   help="training batch (default: %(default)s, the worksheet's)")
    p.add_argument("--learning-rate", type=float, default=C.learning_rate, metavar="LR",
                   help="Adam's learning rate (default: %(default)s)")
    p.add_argument("--train-limit", type=int, metavar="N", help="train on the first N samples (default: the "
                   "worksheet's 48000 MNIST images for mlp/cnn, else all; synthetic: 2048)")
    p.add_argument("--eval-limit", type=int, metavar="N", help="test on the first N test samples "
                   "(default: all; synthetic: 512)")
    p.add_argument("--margin", type=float, default=C.margin_accuracy * 100, metavar="POINTS",
                   help="equivalence margin of test accuracy, in percentage points (default: %(default)s)")
    p.add_argument("--loss-margin", type=float, default=C.margin_loss * 100, metavar="PERCENT",
                   help="equivalence margin of the test loss, in percent of its mean (default: %(default)s)")
    p.add_argument("--dtype-policy", choices=DTYPE_POLICIES, default=C.dtype_policy,
                   help="Keras dtype policy in every child (mixed_float16 adds Keras's loss scaling on "
                        "every backend) (default: %(default)s)")
    p.add_argument("--parallel", action="store_true", help="children side by side (default: one after another)")
    p.add_argument("--plant-lr", type=float, default=C.plant_lr_factor, metavar="FACTOR",
                   help="self-test: the last backend trains with FACTOR times the learning rate")
    p.add_argument("--plant-epsilon", type=float, metavar="EPS",
                   help="self-test: the last backend's Adam epsilon (Keras's is 1e-7, PyTorch's 1e-8)")
    p.add_argument("--timeout", type=float, default=C.timeout_s, help="seconds per child (default: %(default)s)")
    p.add_argument("--out", default="out/converge", metavar="DIR", help="result folder (default: %(default)s)")
    csub = p.add_subparsers(dest="converge_command", metavar="[compare A.json B.json]",
                            title="or pair two finished runs seed by seed (no training)")
    c = csub.add_parser("compare", help="B - A per backend and metric, e.g. mixed_bfloat16 against float32")
    c.add_argument("a", help="baseline converge.json")
    c.add_argument("b", help="converge.json of the same model and seeds")


def cmd_converge(args) -> int:
    from mnistx.config import ConvergeConfig
    from mnistx.converge.runner import run_converge

    if args.converge_command == "compare":
        return _compare(args.a, args.b)

    cfg = ConvergeConfig(model=args.model, backends=args.backends, seeds=args.seeds, epochs=args.epochs,
                         batch_size=args.batch_size, learning_rate=args.learning_rate, train_limit=args.train_limit,
                         eval_limit=args.eval_limit, inputs=args.inputs, loss=args.loss, int_high=args.int_high,
                         seq_len=args.seq_len, image_size=args.image_size, dtype_policy=args.dtype_policy,
                         margin_accuracy=args.margin / 100, margin_loss=args.loss_margin / 100,
                         parallel=args.parallel, timeout_s=args.timeout, plant_lr_factor=args.plant_lr,
                         plant_epsilon=args.plant_epsilon)
    if args.margin <= 0 or args.loss_margin <= 0:
        raise MnistxError("--margin and --loss-margin must be above 0")
    s = run_converge(cfg, args.out, args.data)
    for metric, m in s["metrics"].items():
        print(f"  {metric} (margin +-{m['margin']:.4g}):")
        for pair, c in m["pairs"].items():
            print(f"    {pair:22s} {c.get('text') or c['verdict'] + ': ' + c['why']}")
    for b, why in s["failed"].items():
        print(f"  {b}: {why}")
    different = [v for v in s["verdicts"] if v["verdict"] == "different"]
    counts = {k: sum(v["verdict"] == k for v in s["verdicts"]) for k in ("equivalent", "different", "inconclusive")}
    print(f"converge: {', '.join(f'{n} {k}' for k, n in counts.items())} in {s['wall_seconds']:.0f} s; "
          f"report: {s['files']['markdown']}")
    return 1 if different or s["failed"] or not s["verdicts"] else 0


def _compare(a_path: str, b_path: str) -> int:
    from mnistx import runs
    from mnistx.converge.report import runs_markdown
    from mnistx.converge.runner import compare_runs

    a, b = runs.read_json(a_path), runs.read_json(b_path)
    for path, s in ((a_path, a), (b_path, b)):
        if "metrics" not in s or "seeds" not in s:
            raise MnistxError(f"{path}: not a converge.json (written by `mnistx converge`)")
    print(runs_markdown(compare_runs(a, b), a_path, b_path))
    return 0
