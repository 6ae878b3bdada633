"""Every job's settings and their defaults, in one place.

The defaults of `TrainConfig` are the worksheet's recipe (adam, categorical cross-entropy,
5 epochs, batch 32, the last 20% of the training images held out for validation).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

BACKENDS = ("tensorflow", "jax", "torch")  # the training backends: every command, every check
INFERENCE_BACKENDS = ("numpy", "openvino")  # forward pass, checkpoints, inference speed only
ALL_BACKENDS = BACKENDS + INFERENCE_BACKENDS
MODES = ("keras-default", "keras-tuned", "native")  # benchmark execution modes (mnistx/bench/modes.py)
DATA_ENV = "MNISTX_DATA"  # path to a Keras-layout .npz or an IDX folder
WORKSHEET_EPOCH_SAMPLES = 48_000  # MNIST's 60,000 training images less the worksheet's 20% validation
MNIST_TEST_SAMPLES = 10_000
SYNTHETIC_SAMPLES = 1024  # per split, for models fed synthetic inputs built from their input spec
EVAL_SAMPLES = 2000  # evaluation samples a run of a model off the registry keeps (eval.npz)
SYNTHETIC_TRAIN = 2048  # training samples `mnistx train --inputs synthetic` makes
RUN_SAMPLES = 25  # training samples a run keeps for its "samples" figure (eval.npz)


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
class Tier:
    """Two backends agree on a quantity where |a - b| <= atol + rtol * |a|, elementwise."""

    atol: float
    rtol: float = 0.0


NOISE_FACTOR = 3.0  # trajectories: allow this many times the model's own float32 sensitivity


@dataclass(frozen=True)
class Tolerances:
    """One (atol, rtol) tier per compared quantity (float32), set from measurement on the MLP
    and on deep networks (examples/models/); docs/portability.md has the figures behind each."""

    weights: Tier = Tier(0.0, 0.0)  # the same .weights.h5 read back: bit-identical
    outputs: Tier = Tier(3e-6, 1e-4)  # model outputs on the evaluation inputs
    activations: Tier = Tier(1e-5, 1e-4)  # every layer's output, in inference mode
    loss: Tier = Tier(1e-6, 1e-5)  # the loss of one batch
    grads: Tier = Tier(1e-6, 1e-3)  # d loss / d weights and d loss / d inputs
    saliency: Tier = Tier(1e-6, 1e-3)  # |d output[class] / d input|
    trajectory_loss: Tier = Tier(5e-6, 1e-4)  # the loss after each of K Adam steps
    trajectory: Tier = Tier(3e-5, 1e-3)  # weights (and BatchNorm statistics) after K Adam steps
    checkpoint: Tier = Tier(2e-6, 1e-5)  # a checkpoint loaded in another backend predicts the same

    def as_dict(self) -> dict:
        return {f.name: [getattr(self, f.name).atol, getattr(self, f.name).rtol]
                for f in dataclasses.fields(self)}

    def with_overrides(self, **tiers) -> "Tolerances":
        """name=(atol, rtol) or name=atol; an unknown name is a one-line error."""
        from mnistx.errors import MnistxError

        names = [f.name for f in dataclasses.fields(self)]
        bad = [k for k in tiers if k not in names]
        if bad:
            raise MnistxError(f"unknown tolerance tier(s) {', '.join(bad)}; choose from {', '.join(names)}")
        return dataclasses.replace(self, **{k: Tier(*(v if isinstance(v, (tuple, list)) else (v,)))
                                            for k, v in tiers.items()})


# The TF32 tier: 2^-11 relative rounding of each product's inputs, accumulated in float32. Measured
# on one H200 (benchmarks/results/gpu-h200-2026-11-28): MLP probabilities differ by 6.25e-5 with
# TF32 on (1.0e-7 off); the forward tiers leave 16x room over that, gradients and trajectories
# (relative errors compound through backward and Adam) get a wider rtol. Stated, not tuned on
# deep networks: a deep model that exceeds them is reported, per quantity, with its excess.
TF32_TOLERANCES = Tolerances(
    weights=Tier(0.0, 0.0),
    outputs=Tier(1e-3, 1e-2),
    activations=Tier(1e-3, 1e-2),
    loss=Tier(1e-3, 1e-2),
    grads=Tier(1e-4, 5e-2),
    saliency=Tier(1e-4, 5e-2),
    trajectory_loss=Tier(2e-3, 2e-2),
    trajectory=Tier(1e-3, 5e-2),
    checkpoint=Tier(1e-3, 1e-2),
)


@dataclass(frozen=True)
class ParityConfig:
    model: str = "mlp"  # any model spec (mnistx/modelspec.py)
    backends: tuple[str, ...] = BACKENDS
    n_images: int = 10_000  # evaluation samples for the forward pass
    n_activation_images: int = 64  # samples for per-layer activations and gradients
    determinism_images: int = 1_000  # the first samples predicted a second time (determinism)
    inputs: str = "data"  # data (MNIST or --data FILE) | synthetic (from the model's input spec)
    int_high: int | None = None  # token-id range for synthetic integer inputs (else the Embedding's)
    seq_len: int | None = None  # synthetic inputs: unknown sequence dimensions (None: inputs.SEQ_LEN, 16)
    image_size: int | None = None  # synthetic inputs: unknown image height/width (None: 32)
    edge_cases: bool = False  # synthetic inputs: left padding, a fully masked row, the longest sequence
    loss: str | None = None  # a Keras loss name; default: the model's compiled loss, else guessed
    optimizer: str = "auto"  # trajectory: auto | adam | sgd (auto: the model's compiled optimizer,
    # else Adam for the registry's models, else SGD: see parity/train_twin.py for why)
    steps: int = 20  # training-trajectory length (optimizer steps)
    batch_size: int = 32
    seed: int = 42
    timeout_s: float = 600.0  # per child
    parallel: bool = True  # children side by side (else one after another)
    learning_rate: float = 1e-3
    saliency_indices: tuple[int, ...] = IntrospectConfig.saliency_indices
    plant: float = 0.0  # add this to one weight of the last backend's copy (self-test)
    plant_layer: str | None = None  # the layer (path) whose last weight is planted; default: the middle one
    tf32: bool = False  # GPU only: TF32 matmuls stay off while comparing
    devices: int = 1  # > 1: the trajectory again, data-parallel over this many devices (mnistx/devices.py)
    tolerances: Tolerances = field(default_factory=Tolerances)


@dataclass(frozen=True)
class BenchChecks:
    """When a benchmark number does not explain itself (mnistx/bench/bookkeeping.py)."""
    reconcile_tolerance: float = 1.5  # epoch s vs steps x step s: outside [1/1.5, 1.5] contradicts
    cross_check_limit: float = 1.25  # a mode's s/step over its independent loop's: above it is flagged


BENCH_CHECKS = BenchChecks()

# keras-tuned, per device: the fastest settings Keras itself offers there, chosen by measurement.
# cpu (2 cores; benchmarks/results/sweep-steps-per-execution-cpu.txt, docs/portability.md):
#   steps_per_execution takes the per-step dispatch cost off JAX (50: 0.42 s vs 0.56 s per epoch)
#   and TensorFlow (500 with XLA: 0.86 s vs 2.1 s; it divides the 1,500 steps of an epoch, so no
#   retrace); PyTorch refuses steps_per_execution > 1, and jit_compile=True (torch.compile) cut its
#   step from 3.5 ms to 1.5 ms after a ~21 s compile.
# gpu (one H200; benchmarks/results/sweep-steps-per-execution-gpu-h200.txt): JAX 1 -> 1.33 s,
#   50 -> 0.76 s, 1500 -> 0.71 s per epoch, so the whole epoch per execution; torch as on CPU;
#   TensorFlow was not installed there: the CPU choice, marked unmeasured (TUNED_UNMEASURED).
TUNED = {
    "cpu": {"jax": {"jit_compile": True, "steps_per_execution": 50},
            "tensorflow": {"jit_compile": True, "steps_per_execution": 500},
            "torch": {"jit_compile": True, "steps_per_execution": 1}},
    "gpu": {"jax": {"jit_compile": True, "steps_per_execution": 1500},
            "tensorflow": {"jit_compile": True, "steps_per_execution": 500},
            "torch": {"jit_compile": True, "steps_per_execution": 1}},
}
TUNED_UNMEASURED = {("gpu", "tensorflow")}


@dataclass(frozen=True)
class BenchConfig:
    models: tuple[str, ...] = ("mlp",)
    backends: tuple[str, ...] = BACKENDS
    modes: tuple[str, ...] = MODES
    batch_size: int = 32  # the batch of the timed epochs (the worksheet's)
    step_batch_sizes: tuple[int, ...] = (32, 128, 512)
    infer_batch_sizes: tuple[int, ...] = (1, 8, 64, 512, 8192)
    infer_budget_s: float = 1.0  # timed predict calls per batch size: about this long (5 to 200 calls)
    timed_steps: int = 50  # steady-state steps timed after warm-up
    warmup_steps: int = 5
    epoch_samples: int | None = None  # None: 48,000 for mlp/cnn on MNIST (one worksheet epoch), else 1,024
    eval_samples: int | None = None  # None: the 10,000 MNIST test images for mlp/cnn, else 1,024
    learning_rate: float = TrainConfig.learning_rate  # Adam in every mode and in the scaling run
    inputs: str = "data"  # data | synthetic (from the model's input spec)
    int_high: int | None = None  # token-id range for synthetic integer inputs
    seq_len: int | None = None  # synthetic inputs: unknown sequence dimensions (None: 16)
    image_size: int | None = None  # synthetic inputs: unknown image height/width (None: 32)
    loss: str | None = None  # default: the model's compiled loss, else guessed from the labels
    epochs: int = 3  # timed epochs per mode (each from the same initial weights)
    import_repeats: int = 3  # fresh interpreters timing `import keras` (0: the bench child's own first import)
    seed: int = 42
    accuracy_band: tuple[float, float] = (0.93, 0.99)  # mlp/cnn on MNIST: test accuracy after one epoch
    device: str = "auto"  # auto | cpu | gpu
    timeout_s: float = 1800.0  # per child
    devices: int = 1  # > 1: data-parallel scaling on 1 and this many devices instead of the modes
    scaling_steps: int = 20  # global batches per timed repeat (one fit) in the scaling run
    scaling_repeats: int = 5

    def sample_counts(self, on_mnist: bool) -> tuple[int, int]:
        """(training, evaluation) samples per model: the settings, else the defaults above."""
        train, test = (WORKSHEET_EPOCH_SAMPLES, MNIST_TEST_SAMPLES) if on_mnist else (SYNTHETIC_SAMPLES,) * 2
        return self.epoch_samples or train, self.eval_samples or test

    @classmethod
    def quick(cls, **kw) -> "BenchConfig":
        registry = all(m in ("mlp", "cnn") for m in kw.get("models", ("mlp",)))
        # One step batch for a quick answer; a scaling run keeps two per-device batches on the
        # registry models, since efficiency on N devices depends on how much work each step holds.
        scaling = registry and kw.get("devices", 1) > 1
        base = dict(step_batch_sizes=(32, 512) if scaling else (32,),
                    infer_batch_sizes=(1, 512, 8192) if registry else (1, 256),
                    timed_steps=50 if registry else 20, warmup_steps=5, epochs=1, import_repeats=0,
                    scaling_repeats=3, infer_budget_s=0.25)
        base.update(kw)
        return cls(**base)


@dataclass(frozen=True)
class CompareConfig:
    backends: tuple[str, ...] | None = None  # None: BACKENDS and the installed INFERENCE_BACKENDS
    train: TrainConfig = field(default_factory=TrainConfig)
    image_index: int = IntrospectConfig.image_index
    parity_images: int = ParityConfig.n_images
    parity_steps: int = ParityConfig.steps
    bench: str = "quick"  # quick | full | none
    seeds: int = 0  # >= 2: also `mnistx converge` with this many seeds per training backend (0: off)
    parallel: bool = True  # train (and view) the columns side by side, the cores shared; else one at a time
    timeout_s: float = 3600.0  # per child
    inputs: str = "data"  # data | synthetic (a user's model without data)
    loss: str | None = None
    int_high: int | None = None


DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")  # converge --dtype-policy


@dataclass(frozen=True)
class ConvergeConfig:
    """`mnistx converge`: N seeds of the full recipe per backend, the same initial weights and batch
    order per seed on every backend; per metric, equivalence of the paired per-seed differences."""

    model: str = "mlp"
    backends: tuple[str, ...] = BACKENDS
    seeds: int = 8  # seeds 1..N; each: its own initial weights (built once) and batch order
    epochs: int = TrainConfig.epochs
    batch_size: int = TrainConfig.batch_size
    learning_rate: float = TrainConfig.learning_rate  # Adam, Keras defaults otherwise
    train_limit: int | None = None  # None: the first 48,000 MNIST training images (the worksheet's
    # split) for mlp/cnn, else every training sample given
    eval_limit: int | None = None  # None: every test sample (10,000 for MNIST)
    inputs: str = "data"  # data | synthetic
    loss: str | None = None
    int_high: int | None = None
    seq_len: int | None = None
    image_size: int | None = None
    dtype_policy: str = "float32"  # or a mixed policy (DTYPE_POLICIES), set in every child before the build
    margin_accuracy: float = 0.003  # equivalence margin: 0.3 points of test accuracy
    margin_loss: float = 0.10  # equivalence margin: 10% of the mean final test loss
    alpha: float = 0.05  # each one-sided test of TOST, and the two-sided paired t-test
    bootstrap_resamples: int = 9999
    parallel: bool = False  # children one after another (each one uses every core)
    timeout_s: float = 7200.0  # per child
    plant_lr_factor: float = 1.0  # self-test: the last backend trains with this times the learning rate
    plant_epsilon: float | None = None  # self-test: the last backend's Adam epsilon (Keras: 1e-7)
