"""Subcommands around the jobs (ci init): parsers and handlers; the work lives in the library."""

from __future__ import annotations

import argparse

from mnistx.config import BACKENDS


def add_ci_parser(sub) -> None:
    p = sub.add_parser(
        "ci", help="write a per-backend CI matrix (GitHub Actions, nox) into your project",
        description="Write a CI matrix that runs your project's tests once per Keras backend.",
        epilog="example: mnistx ci init --backends jax,torch --model mypkg.models:build\n"
               "then: nox -s tests-jax (locally), or push: .github/workflows/keras-backends.yml runs",
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
    c.add_argument("--mnistx-pip", default="mnistx", metavar="SPEC",
                   help="how CI installs mnistx (default: %(default)s; e.g. a git URL or a path)")
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
