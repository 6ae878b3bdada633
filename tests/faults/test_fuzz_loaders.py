"""Fuzzing the data loaders (hypothesis): random truncations, bit flips, wrong dtypes, shapes and
keys of .npz archives and IDX files. Every case must load as valid MNIST or fail with one
DataError line -- never another exception, never a traceback. No Keras: these run in milliseconds."""

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from mnistx import data
from mnistx.errors import DataError

CASES = int(os.environ.get("MNISTX_FUZZ_CASES", "300"))  # per strategy; docs/reliability.md quotes the count
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
RAN = {"npz": 0, "idx": 0}
OUTCOMES = {"ok": 0, "error": 0}


def _tiny(n=6, rng=np.random.default_rng(0)) -> dict:
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return {"x_train": x, "y_train": rng.integers(0, 10, n).astype(np.uint8),
            "x_test": x[:3].copy(), "y_test": rng.integers(0, 10, 3).astype(np.uint8)}


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _idx_bytes(arr: np.ndarray, magic: int) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape) + arr.tobytes()


def _outcome(path) -> str:
    """'ok' or 'error'; anything but a one-line DataError fails the test."""
    try:
        raw = data.load(path)
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc).strip(), repr(str(exc))
        return "error"
    data.validate({k: getattr(raw, k) for k in data._KEYS}, "check")  # what loads is valid MNIST
    return "ok"


def _npy_headers(blob: bytes) -> list[int]:
    """Offsets of each member's .npy header inside an (uncompressed) .npz archive."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return [i.header_offset + 30 + len(i.filename.encode()) + len(i.extra) for i in z.infolist()]


def _mutate(blob: bytes, draw_cut, flips, near=None) -> bytes:
    """Cut at draw_cut, then flip bits: anywhere, or (near: offsets) within 128 bytes after one."""
    b = bytearray(blob[:draw_cut] if draw_cut is not None else blob)
    for pos, bit in flips:
        if near:
            pos = near[pos % len(near)] + pos % 128
        if b:
            b[pos % len(b)] ^= 1 << bit
    return bytes(b)


DTYPES = st.sampled_from(["uint8", "int64", "float32", "float64", "bool", "int8", "uint16", "complex64", "U1"])
flips = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 7)), max_size=6)


def _ran(name: str, fuzzer, tmp_path) -> int:
    """Run one hypothesis fuzzer (every case) and return how many cases it ran; logs the outcomes."""
    RAN[name], before = 0, dict(OUTCOMES)
    fuzzer(tmp_path)
    seen = {k: OUTCOMES[k] - before[k] for k in OUTCOMES}
    print(f"\nfuzzed data loaders ({name}): {RAN[name]} cases; outcomes {json.dumps(seen)}")
    return RAN[name]


@FUZZ
@given(cut=st.one_of(st.none(), st.integers(0, 30000)), flips=flips, key=st.sampled_from(data._KEYS),
       dtype=DTYPES, shape=st.sampled_from(["keep", "flat", "transposed", "empty", "extra-dim"]),
       drop=st.booleans(), rename=st.booleans(), in_header=st.booleans())
def _npz_case(tmp_path, cut, flips, key, dtype, shape, drop, rename, in_header):
    arrays = _tiny()
    a = arrays.pop(key)
    if not drop:
        a = a.astype(dtype) if dtype != "U1" else a.astype(str)
        a = {"keep": a, "flat": a.reshape(-1), "transposed": a.T, "empty": a[:0],
             "extra-dim": a[..., None]}[shape]
        arrays[key + ("_renamed" if rename else "")] = a
    path = tmp_path / "fuzz.npz"
    blob = _npz_bytes(arrays)
    path.write_bytes(_mutate(blob, cut, flips, _npy_headers(blob) if in_header else None))
    OUTCOMES[_outcome(path)] += 1
    RAN["npz"] += 1


@FUZZ
@given(which=st.sampled_from(["x_train", "y_train", "x_test", "y_test"]), cut=st.one_of(st.none(), st.integers(0, 6000)),
       flips=flips, gz=st.booleans(), wrong_magic=st.booleans(), pad=st.integers(0, 3))
def _idx_case(tmp_path, which, cut, flips, gz, wrong_magic, pad):
    folder = tmp_path / "idx"
    folder.mkdir(exist_ok=True)
    for f in folder.iterdir():
        f.unlink()
    for key, arr in _tiny().items():
        stem, magic = data._IDX[key]
        kind = "idx3" if magic == 2051 else "idx1"
        blob = _idx_bytes(arr, magic)
        if key == which:
            blob = _mutate(blob, cut, flips) + b"\0" * pad
            if wrong_magic:
                blob = (2051 + 2049 - magic).to_bytes(4, "big") + blob[4:]
        name = f"{stem}-{kind}-ubyte"
        (folder / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(blob) if gz else blob)
    OUTCOMES[_outcome(folder)] += 1
    RAN["idx"] += 1


def test_npz_fuzz(tmp_path):
    """Each random .npz case loads as valid MNIST or fails with one DataError line; all CASES ran."""
    assert _ran("npz", _npz_case, tmp_path) >= CASES


def test_idx_fuzz(tmp_path):
    """The same for IDX folders (plain and gzipped)."""
    assert _ran("idx", _idx_case, tmp_path) >= CASES


def test_every_bit_flip_in_an_npy_header(tmp_path):
    """Exhaustive, not random: each of the 128 x 8 single-bit flips of the first member's header."""
    RAN["header flips"] = 0
    blob = _npz_bytes(_tiny())
    start = _npy_headers(blob)[0]
    path = tmp_path / "flip.npz"
    for pos in range(start, start + 128):
        for bit in range(8):
            b = bytearray(blob)
            b[pos] ^= 1 << bit
            path.write_bytes(bytes(b))
            OUTCOMES[_outcome(path)] += 1
            RAN["header flips"] += 1
    assert RAN["header flips"] == 1024


@pytest.mark.parametrize("blob", [b"", b"PK\x03\x04" + b"\0" * 30, b"hello, not numpy\n" * 3,
                                  b"\x93NUMPY\x01\x00" + b"x" * 40])
def test_bad_files_through_the_cli_are_one_line(tmp_path, blob):
    """The same loaders behind `mnistx train --data`: one stderr line, exit 2, no traceback."""
    path = tmp_path / "bad.npz"
    path.write_bytes(blob)
    r = subprocess.run([sys.executable, "-m", "mnistx", "train", "--data", str(path), "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mnistx: error: ") and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "run" / "meta.json").exists()
