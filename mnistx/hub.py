"""`--model hub:PRESET_OR_DIR`: a KerasHub model (child side; KerasHub is an optional extra).

A preset folder written by `save_to_preset` loads offline; a named preset ("bert_tiny_en_uncased")
downloads its weights where there is network. A folder or preset with a `task.json` is the task model
it names (a classifier with its head), else its backbone. mnistx feeds the model arrays, so a task is
built with `preprocessor=None`: no tokenizer (and no tensorflow-text) is needed.
"""

from __future__ import annotations

import keras

from mnistx.errors import MnistxError, one_line


def load(preset: str) -> keras.Model:
    """The task model or backbone `preset` holds, with its weights."""
    try:
        import keras_hub
        from keras_hub.src.utils import preset_utils as P
    except ImportError as exc:
        raise MnistxError(f"--model hub:{preset} needs KerasHub ({exc}); pip install -r "
                          "backends/hub/requirements-cpu.txt --no-deps") from None
    try:
        if not P.check_file_exists(preset, P.TASK_CONFIG_FILE):
            return keras_hub.models.Backbone.from_preset(preset)
        loader = P.get_preset_loader(preset)
        task = loader._load_serialized_object(P.load_json(preset, P.TASK_CONFIG_FILE), preprocessor=None)
        if P.check_file_exists(preset, P.TASK_WEIGHTS_FILE):
            task.load_task_weights(P.get_file(preset, P.TASK_WEIGHTS_FILE))
        loader._load_backbone_weights(task.backbone)
        return task
    except MnistxError:
        raise
    except Exception as exc:  # no network for a named preset, a damaged folder, an unknown class
        raise MnistxError(f"KerasHub could not load preset '{preset}': {type(exc).__name__}: "
                          f"{one_line(exc)}") from None
