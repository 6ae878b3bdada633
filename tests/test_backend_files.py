"""Every backend file in mnistx/backends/ defines the adapter's whole function list (read from the
source, so it runs in a per-backend environment too), and the NumPy backend declares, not fakes,
what it cannot do."""

import ast
from pathlib import Path

import numpy as np
import pytest

from mnistx import backends
from mnistx.config import ALL_BACKENDS
from mnistx.errors import NotSupported

FOLDER = Path(backends.__file__).parent


def missing(path: Path) -> list[str]:
    """Names from backends.FUNCTIONS (and UNSUPPORTED) that the file does not define at top level."""
    tree = ast.parse(path.read_text())
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {t.id for n in tree.body if isinstance(n, (ast.Assign, ast.AnnAssign))
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    return [f for f in (*backends.FUNCTIONS, "UNSUPPORTED") if f not in defined]


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_backend_file_defines_every_function(name):
    assert missing(FOLDER / f"{name}.py") == []


def test_a_file_missing_a_function_is_caught(tmp_path):
    source = (FOLDER / "numpy.py").read_text().replace("def sync(", "def _sync(")
    (tmp_path / "partial.py").write_text(source)
    assert missing(tmp_path / "partial.py") == ["sync"]


def test_every_backend_file_is_registered():
    files = {p.stem for p in FOLDER.glob("*.py") if not p.stem.startswith("_")}
    assert files == set(ALL_BACKENDS)


def test_numpy_backend_declares_what_it_cannot_do():
    from mnistx.backends import numpy as npb

    assert set(npb.UNSUPPORTED) == {"gradients", "training"}
    with pytest.raises(NotSupported, match="no automatic differentiation"):
        npb.gradients(None, [], None)
    with pytest.raises(NotSupported, match="inference only"):
        npb.native_trainer(None, None)
    x = np.arange(3.0)
    assert npb.sync(x) is x and npb.gpu_peak_bytes() is None and not npb.has_gpu()
    assert npb.set_tf32(True) is False and npb.device().startswith("cpu (")


@pytest.mark.needs_backends("openvino")
def test_openvino_compiles_in_f32_unless_told_otherwise(monkeypatch):
    """The adapter pins OpenVINO's inference precision (its CPU default is bf16 where the CPU has it)."""
    from mnistx.backends import openvino as ovb

    seen = []
    monkeypatch.setattr(ovb, "_compile_model", lambda model, device, config: seen.append((device, config)))
    import openvino

    openvino.compile_model("graph", "CPU")
    openvino.compile_model("graph", "CPU", {"INFERENCE_PRECISION_HINT": "bf16", "NUM_STREAMS": 1})
    assert seen == [("CPU", {"INFERENCE_PRECISION_HINT": "f32"}),
                    ("CPU", {"INFERENCE_PRECISION_HINT": "bf16", "NUM_STREAMS": 1})]
    assert set(ovb.UNSUPPORTED) == {"gradients", "training"} and ovb.versions()["openvino_precision"] == "f32"
