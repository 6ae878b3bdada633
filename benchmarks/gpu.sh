#!/usr/bin/env bash
# The prepared GPU run (issue: per-backend GPU timing and parity). On the lent machine:
#   carry .whl (see benchmarks/gpu_wheels.sh) and run:  bash benchmarks/gpu.sh --out "$OUT"
# Locally, the same path on CPU:                          bash benchmarks/gpu.sh --device cpu --quick
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then  # keras & co. for a machine without them
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" benchmarks/gpu_run.py "$@"
