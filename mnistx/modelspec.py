"""How a model is named, checked in the parent without importing Keras.

A model spec is one of:
    mlp | cnn                         a registry name (mnistx.models.REGISTRY)
    package.module:function           an importable function returning a fresh keras.Model
    path/to/file.py:function          a function in a Python file
    path/to/model.keras               a saved model (loaded with safe_mode on)
    hub:PRESET_OR_DIR                 a KerasHub preset: a folder written by save_to_preset
                                      (offline), or a preset name (downloads); mnistx/hub.py

`parse(text)` answers in the parent: a spec that resolves to nothing is a one-line MnistxError
before any data is read or any child starts. `mnistx.models.build_spec` builds it in a child.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mnistx.errors import MnistxError

REGISTRY_NAMES = ("mlp", "cnn")
FORMS = ("a registry name (mlp, cnn)", "package.module:function", "path/to/file.py:function",
         "hub:PRESET_OR_DIR (KerasHub)", "a saved .keras file")


@dataclass(frozen=True)
class ModelSpec:
    """kind: registry | module | file | keras | hub; target: name, module, file path, .keras path
    or KerasHub preset (name or folder);
    function: the builder's name (module and file kinds)."""

    kind: str
    target: str
    function: str = ""

    @property
    def text(self) -> str:
        if self.kind == "hub":
            return f"hub:{self.target}"
        return f"{self.target}:{self.function}" if self.function else self.target

    @property
    def label(self) -> str:
        """A short name for reports and folders: mlp, mobilenet.build, my_pkg.models.build, model."""
        if self.kind == "registry":
            return self.target
        if self.kind == "keras":
            return Path(self.target).stem
        if self.kind == "hub":
            return Path(self.target).name or self.target
        stem = Path(self.target).stem if self.kind == "file" else self.target.rsplit(".", 1)[-1]
        return f"{stem}.{self.function}"

    @property
    def on_mnist(self) -> bool:
        """A registry model: the worksheet's MNIST recipe (data checks, sizes, loss, figures)."""
        return self.kind == "registry"

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "function": self.function}

    @classmethod
    def from_json(cls, d: dict) -> "ModelSpec":
        return cls(d["kind"], d["target"], d.get("function", ""))


def _hint() -> str:
    return "give " + ", ".join(FORMS[:-1]) + " or " + FORMS[-1]


def parse(text: str) -> ModelSpec:
    """Resolve a --model value to a ModelSpec, or raise a one-line MnistxError saying why not."""
    text = (text or "").strip()
    if not text:
        raise MnistxError(f"--model is empty; {_hint()}")
    if text in REGISTRY_NAMES:
        return ModelSpec("registry", text)
    if text.startswith("hub:"):
        return check_hub(text[4:])
    if text.endswith(".keras"):
        return check_keras_file(Path(text).expanduser())
    if ":" not in text:
        raise MnistxError(f"unknown model '{text}'; {_hint()}")
    target, _, function = text.rpartition(":")
    if not function.isidentifier():
        raise MnistxError(f"'{function}' in --model {text} is not a Python function name")
    if target.endswith(".py") or "/" in target or "\\" in target:
        return _file(Path(target).expanduser(), function)
    return _module(target, function)


def _file(path: Path, function: str) -> ModelSpec:
    if not path.is_file():
        raise MnistxError(f"model file '{path}' not found (from --model {path}:{function})")
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, OSError) as exc:
        raise MnistxError(f"model file '{path}' cannot be read as Python ({type(exc).__name__}: {exc})")
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
              if isinstance(t, ast.Name)}
    if function not in names:
        found = sorted(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
        raise MnistxError(f"'{path}' defines no function '{function}' (functions there: "
                          f"{', '.join(found) or 'none'})")
    return ModelSpec("file", str(path.resolve()), function)


def _module(module: str, function: str) -> ModelSpec:
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:  # a parent package is missing
        raise MnistxError(f"cannot find module '{module}' for --model {module}:{function} ({exc})") from None
    if found is None:
        raise MnistxError(f"cannot find module '{module}' for --model {module}:{function}; is it "
                          "installed or on PYTHONPATH?")
    if found.origin and found.origin.endswith(".py"):
        _file(Path(found.origin), function)  # same checks, same messages as a file path

    return ModelSpec("module", module, function)


def check_hub(preset: str) -> ModelSpec:
    """hub:PRESET_OR_DIR, checked without Keras: KerasHub installed; a folder (anything that names
    an existing path or holds a '/') has the config.json save_to_preset writes; a bare name is a
    preset to download, which the child loads (and says so in one line when it cannot)."""
    if not preset.strip():
        raise MnistxError("--model hub: names no preset; give hub:PRESET_NAME or hub:path/to/preset_dir")
    if importlib.util.find_spec("keras_hub") is None:
        raise MnistxError(f"--model hub:{preset} needs KerasHub, which is not installed; "
                          "pip install --no-deps -r backends/hub/requirements-cpu.txt")
    path = Path(preset).expanduser()
    if path.exists() or "/" in preset or "\\" in preset:
        if not path.is_dir():
            raise MnistxError(f"KerasHub preset folder '{path}' not found (from --model hub:{preset})")
        if not (path / "config.json").is_file():
            raise MnistxError(f"'{path}' is not a KerasHub preset folder: no config.json (write one with "
                              "model.save_to_preset(folder))")
        return ModelSpec("hub", str(path.resolve()))
    return ModelSpec("hub", preset)


def check_keras_file(path: Path) -> ModelSpec:
    """A saved .keras, checked without Keras: a zip with a readable config.json, no Lambda layers."""
    if not path.is_file():
        raise MnistxError(f"saved model '{path}' not found")
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise MnistxError(f"'{path}' is not a Keras .keras archive ({type(exc).__name__}); save one "
                          "with model.save('model.keras')") from None
    lambdas = lambda_layers(config)
    if lambdas:
        raise MnistxError(f"'{path}' holds Lambda layer(s) {', '.join(lambdas)}: Keras's safe_mode "
                          "refuses to load their Python code from a file; rewrite them as a "
                          "registered custom layer, or pass a build function (module:function) instead "
                          "(if you trust the file: keras.saving.load_model(path, safe_mode=False))")
    return ModelSpec("keras", str(path.resolve()))


def lambda_layers(config) -> list[str]:
    """Names of every Lambda layer in a saved model's config (nested models included)."""
    found = []
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            found.append(str(config.get("config", {}).get("name", "?")))
        for v in config.values():
            found += lambda_layers(v)
    elif isinstance(config, list):
        for v in config:
            found += lambda_layers(v)
    return found
