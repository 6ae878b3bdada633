"""Every job's settings and their defaults, in one place.

The defaults of `TrainConfig` are the worksheet's recipe (adam, categorical cross-entropy,
5 epochs, batch 32, the last 20% of the training images held out for validation).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

BACKENDS = ("tensorflow", "jax", "torch")
MODES = ("keras-default", "keras-tuned", "native")  # benchmark execution modes (mnistx/bench/modes.py)
DATA_ENV = "MNISTX_DATA"  # path to a Keras-layout .npz or an IDX folder


@dataclass(frozen=True)
class TrainConfig:
    model: str = "mlp"
    epochs: int = 5
    batch_size: int = 32
    validation_split: float = 0.2  # last fraction of the training set, as Keras's fit does
    learning_rate: float = 1e-3  # Adam, Keras defaults otherwise
    seed: int = 42
    train_limit: int | None = None  # use only the first N training images (quick runs)
    jit_compile: str | bool = "auto"
    steps_per_execution: int = 1


@dataclass(frozen=True)
class IntrospectConfig:
    image_index: int = 42  # the worksheet's test image for the confidence chart
    n_samples: int = 10  # sample grid panels
    n_neurons: int = 10  # first-layer weight images
    n_errors: int = 10  # misclassified panels
    saliency_indices: tuple[int, ...] = (0, 1, 2, 3, 42)


@dataclass(frozen=True)
class Tolerances:
    """Max abs differences allowed between two backends (float32), set from measurement.

    See docs/portability.md for the measured figures behind each tier.
    """

    weights: float = 0.0  # weights read back from the same .weights.h5: bit-identical
    probs: float = 3e-6  # softmax outputs on 10,000 test images (measured <= 1.5e-6, trained MLP)
    logits: float = 2e-5  # pre-softmax values, magnitude ~10 (measured <= 7.6e-6)
    activations: float = 1e-5  # every layer's output (measured <= 3.8e-6)
    loss: float = 1e-6  # mean cross-entropy of one batch (measured <= 2.4e-7)
    grads: float = 1e-6  # d loss / d weights and d loss / d input (measured <= 4.3e-8)
    saliency: float = 1e-6  # (measured <= 3.2e-7)
    trajectory_loss: float = 5e-6  # loss after each of K Adam steps (measured <= 1.8e-6)
    trajectory: float = 3e-5  # weights after K=20 Adam steps (measured <= 1.0e-5)
    checkpoint: float = 2e-6  # predictions of a checkpoint loaded in another backend (measured 0)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ParityConfig:
    model: str = "mlp"
    backends: tuple[str, ...] = BACKENDS
    n_images: int = 10_000  # test images for the forward pass
    n_activation_images: int = 256  # images for per-layer activations and gradients
    steps: int = 20  # training-trajectory length (Adam steps)
    batch_size: int = 32
    seed: int = 42
    timeout_s: float = 600.0  # per child
    parallel: bool = True  # children side by side (else one after another)
    learning_rate: float = 1e-3
    saliency_indices: tuple[int, ...] = IntrospectConfig.saliency_indices
    plant: float = 0.0  # add this to one weight of the last backend's copy (self-test)
    tf32: bool = False  # GPU only: TF32 matmuls stay off while comparing
    tolerances: Tolerances = field(default_factory=Tolerances)


@dataclass(frozen=True)
class BenchConfig:
    models: tuple[str, ...] = ("mlp",)
    backends: tuple[str, ...] = BACKENDS
    modes: tuple[str, ...] = MODES
    step_batch_sizes: tuple[int, ...] = (32, 128, 512)
    infer_batch_sizes: tuple[int, ...] = (1, 8, 64, 512, 8192)
    timed_steps: int = 50  # steady-state steps timed after warm-up
    warmup_steps: int = 5
    epoch_samples: int = 48_000  # one worksheet epoch (60k minus the 20% validation split)
    epochs: int = 3  # timed epochs per mode (each from the same initial weights)
    import_repeats: int = 3
    validation_split: float = 0.2
    seed: int = 42
    accuracy_band: tuple[float, float] = (0.93, 0.99)  # test accuracy after one epoch, every mode
    device: str = "auto"  # auto | cpu | gpu
    timeout_s: float = 1800.0  # per child

    @classmethod
    def quick(cls, **kw) -> "BenchConfig":
        base = dict(step_batch_sizes=(32, 512), infer_batch_sizes=(1, 512, 8192), timed_steps=50,
                    warmup_steps=5, epochs=1, import_repeats=1)
        base.update(kw)
        return cls(**base)


@dataclass(frozen=True)
class CompareConfig:
    backends: tuple[str, ...] = BACKENDS
    train: TrainConfig = field(default_factory=TrainConfig)
    image_index: int = IntrospectConfig.image_index
    parity_images: int = ParityConfig.n_images
    parity_steps: int = ParityConfig.steps
    bench: str = "quick"  # quick | full | none
    timeout_s: float = 3600.0  # per child
