"""Subcommands around the jobs (ci init): parsers and handlers; the work lives in the library."""

from __future__ import annotations

import argparse
import sys

from mnistx.config import BACKENDS


def add_ci_parser(sub) -> None:
    p = sub.add_parser(
        "ci", help="write a per-backend CI matrix (GitHub Actions, nox) into your project",
        description="Write a CI matrix that runs your project's tests once per Keras backend.",
        epilog="then: nox -s tests-jax (locally), or push: .github/workflows/keras-backends.yml runs",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    csub = p.add_subparsers(dest="ci_command", metavar="init", required=True)
    c = csub.add_parser(
        "init", help="write .github/workflows/keras-backends.yml and/or noxfile.py",
        description="Write .github/workflows/keras-backends.yml (a job per backend x Python) and "
                    "noxfile.py (a tests-<backend> session per backend) into a project. Both run the "
                    "project's test command with KERAS_BACKEND set (pytest also gets "
                    "--keras-backends=<one>, from mnistx's pytest plugin). With --model, both add a "
                    "parity job on every backend.",
        epilog="example: mnistx ci init --dir ~/src/myproject --backends jax,torch --model "
               "mypkg.models:build")
    c.add_argument("--github", action="store_true", help="write only the GitHub Actions workflow")
    c.add_argument("--nox", action="store_true", help="write only noxfile.py (neither flag: both)")
    c.add_argument("--dir", default=".", metavar="DIR", help="the project's root (default: %(default)s)")
    c.add_argument("--backends", default=",".join(BACKENDS), metavar="A,B,C",
                   help="one job/session per backend (default: %(default)s)")
    c.add_argument("--python", default="3.11,3.13", metavar="X.Y,...",
                   help="Python versions in the GitHub matrix (default: %(default)s)")
    c.add_argument("--test-command", default="python -m pytest -q", metavar="CMD",
                   help="your tests (default: '%(default)s'; pytest also gets --keras-backends=<one>)")
    c.add_argument("--install", default="", metavar="PIP_ARGS",
                   help="pip arguments that install your project (default: -r requirements*.txt "
                        "and/or -e . from what the folder holds)")
    c.add_argument("--mnistx-pip", default="", metavar="SPEC",
                   help="how CI installs mnistx (default: as this mnistx was installed: its git URL and "
                        "commit, or its version from the registry; e.g. mnistx==0.2.0 or git+https://...)")
    c.add_argument("--model", metavar="SPEC", help="add a parity job for this model (pkg.mod:fn, "
                   "file.py:fn or a .keras file, run with --inputs synthetic)")
    c.add_argument("--force", action="store_true", help="replace existing files")


def cmd_ci(args) -> int:
    from pathlib import Path

    from mnistx import ci_init

    cfg = ci_init.check(ci_init.CiInit(
        root=Path(args.dir), backends=tuple(b.strip() for b in args.backends.split(",") if b.strip()),
        pythons=tuple(p.strip() for p in args.python.split(",") if p.strip()),
        test_command=args.test_command, install=args.install, mnistx_pip=args.mnistx_pip,
        model=args.model, github=args.github, nox=args.nox, force=args.force))
    if args.model:
        import contextlib

        from mnistx import modelspec

        with contextlib.chdir(cfg.root):  # the spec is the project's, relative to its root
            modelspec.parse(args.model)  # an unknown model fails here, not in the user's CI
    for note in cfg.notes:
        print(note)
    for path in ci_init.write(cfg):
        print(f"wrote {path}")
    print("next: nox -l (locally), or commit and push the workflow")
    return 0


def add_atlas_parser(sub) -> None:
    from mnistx.atlas import AtlasConfig as A
    from mnistx.cli_jobs import _backends

    p = sub.add_parser(
        "atlas", help="parity and bench --quick over a list of models: the portability atlas",
        description="Run parity (synthetic inputs, then again with edge cases) and bench --quick on each "
                    "model, one after another, and write one table: atlas.md, atlas.json, atlas.html.",
        epilog="a local preset folder works too: mnistx atlas hub:./my_preset --out out/atlas",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", metavar="SPEC", help="model specs, as --model takes them")
    p.add_argument("--out", default="out/atlas", metavar="DIR", help="results folder (default: %(default)s)")
    p.add_argument("--backends", type=_backends, default=A.backends, metavar="A,B,C",
                   help="training backends (default: %(default)s)")
    p.add_argument("--images", type=int, default=A.images, metavar="N",
                   help="evaluation samples per parity run (default: %(default)s)")
    p.add_argument("--no-edge-cases", action="store_true", help="skip the second parity run with edge cases")
    p.add_argument("--no-bench", action="store_true", help="parity only")
    p.add_argument("--no-parity", action="store_true", help="skip the first parity run (synthetic inputs)")
    p.add_argument("--merge", nargs="+", metavar="ATLAS.json", help="instead of running: merge atlas.json "
                   "files (later ones win per model) into DIR; SPECs are ignored")
    p.add_argument("--timeout", type=float, default=A.timeout_s, metavar="S", help="per child (default: %(default)s)")


def cmd_atlas(args) -> int:
    from mnistx.atlas import AtlasConfig, run_atlas
    from mnistx.errors import MnistxError

    if args.images < 1:
        raise MnistxError("--images must be at least 1")
    if args.merge:
        from mnistx import runs
        from mnistx.atlas import merge
        from mnistx.atlas_report import write

        s = merge(*[runs.read_json(p) for p in args.merge])
        s["files"] = write(s, args.out)
        print(f"atlas: merged {len(args.merge)} files, {len(s['rows'])} models -> {s['files']['markdown']}")
        return 0
    cfg = AtlasConfig(backends=args.backends, images=args.images, parity=not args.no_parity,
                      edge_cases=not args.no_edge_cases, bench=not args.no_bench, timeout_s=args.timeout)
    s = run_atlas(args.models, args.out, cfg)
    print(open(s["files"]["markdown"]).read())
    errors = [r["label"] for r in s["rows"] if any("error" in (r.get(k) or {}) for k in ("parity", "edge_cases"))]
    for label in errors:
        print(f"atlas: {label}: a parity run could not start (see its row)", file=sys.stderr)
    print(f"atlas: {len(s['rows'])} models in {s['wall_seconds'] / 60:.1f} min; {s['files']['html']}")
    return 1 if errors else 0
