#!/usr/bin/env bash
# The prepared GPU run: bench (keras-default, keras-tuned, native with the CUDA-graph torch loop),
# the graph check, parity with TF32 off and on (TF32 drift), the keras-tuned sweep -- within a
# budget, into a results folder of at most 8 files under 16 MiB each. On the lent machine, carry
# .whl (benchmarks/gpu_wheels.sh) and .data/mnist.npz, then one call of about 10 minutes:
#   MNISTX_DATA=.data/mnist.npz bash benchmarks/gpu.sh --budget 480 --out "$OUT"
# or a 3-minute one:  ... bash benchmarks/gpu.sh --quick --budget 150 --out "$OUT"
# Locally, the same path on CPU:  bash benchmarks/gpu.sh --device cpu --quick --out /tmp/gpu-cpu
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then  # keras & co. for a machine without them
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# $PYTHON (the tests pass their own interpreter), else the checkout's .venv, else python3
PY=${PYTHON:-python3}; [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" benchmarks/gpu_run.py "$@"
