#!/usr/bin/env bash
# Download the wheels the lent GPU machine lacks (keras and its small pure-Python deps; it has
# torch, JAX, numpy, h5py, rich, absl-py, ml-dtypes and matplotlib) into .whl/ for Python 3.12.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
for spec in keras==3.15.1 namex==0.1.0 optree==0.20.0; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "$spec"
done
ls -la .whl
