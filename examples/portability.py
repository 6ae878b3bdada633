# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # One model, three backends
#
# The classroom worksheet (an MNIST MLP, 5 epochs, weight images, confidence bars, misclassified
# grid) in Keras 3, so the **same code** runs on TensorFlow, JAX or PyTorch. Then the same model on
# the other two backends, side by side: do they compute the same thing, and how fast?
#
# Keep this file and `portability.ipynb` in step with `jupytext --sync examples/portability.ipynb`.

# %% [markdown]
# ## 1. Choose a backend
#
# Keras reads `KERAS_BACKEND` **once**, at its first import: a running Python process cannot
# switch. To try another backend here, change `BACKEND` and restart the kernel.
# `EPOCHS` is the worksheet's 5; CI runs this notebook with 1 (`MNISTX_NB_EPOCHS`).

# %%
import os

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")  # "tensorflow", "jax" or "torch"
EPOCHS = int(os.environ.get("MNISTX_NB_EPOCHS", 5))
QUICK = EPOCHS < 5  # smaller parity and timing runs alongside a short training

os.environ["KERAS_BACKEND"] = BACKEND
import keras  # noqa: E402  (after KERAS_BACKEND is set)
import matplotlib.pyplot as plt  # noqa: E402
from IPython.display import Image, Markdown, display  # noqa: E402

print(f"Keras {keras.__version__} on {keras.backend.backend()}")

# %% [markdown]
# ## 2. Train the worksheet's model
#
# `mnistx.data.load()` reads `$MNISTX_DATA` (a local `mnist.npz`) when set, else Keras's download.
# Pixels become float32 in [0, 1]: every backend computes in float32.

# %%
import tempfile  # noqa: E402

from mnistx import data, train  # noqa: E402
from mnistx.config import IntrospectConfig, TrainConfig  # noqa: E402

raw = data.load()
config = TrainConfig(model="mlp", epochs=EPOCHS)
run_dir = tempfile.mkdtemp(prefix=f"notebook-{BACKEND}-")
metrics = train.train(config, run_dir, raw=raw, verbose=2)
print(f"test accuracy {metrics['test_accuracy']:.4f} after {EPOCHS} epoch(s) on {BACKEND}")

# %% [markdown]
# ## 3. What the network learned
#
# The first Dense layer's weights as 28x28 images (what each hidden unit looks for), the
# confidence bars for one test image, and the misclassified test images: the worksheet's figures.

# %%
import io  # noqa: E402

from mnistx import runs  # noqa: E402
from mnistx.introspect import figures_for, load_run_model, read_run_data  # noqa: E402

model = load_run_model(run_dir)
run = read_run_data(run_dir, runs.read_json(f"{run_dir}/meta.json"))  # the test images the run kept
probs = model.predict(run.xs[0], batch_size=256, verbose=0)
figures, _ = figures_for(model, run, probs, runs.read_json(f"{run_dir}/history.json"), True, IntrospectConfig())
for name in ("weights", "confidence", "misclassified"):
    png = io.BytesIO()
    figures[name].savefig(png, format="png", dpi=80, bbox_inches="tight")  # inline on any matplotlib backend
    display(Image(png.getvalue()))
    plt.close(figures[name])

# %% [markdown]
# ## 4. The same model on every backend
#
# One process holds one backend, so `mnistx.check_parity` starts **one child process per
# backend**. Every child builds the model from the same weights, sees the same images, and reports
# its probabilities, logits, every layer's activations, gradients, and a few Adam steps. Two
# backends agree when `|a - b| <= atol + rtol * |a|` for each quantity (the tiers in the table).
# Float32 sums in a different order differ in the last bits (about 1e-7 relative), so the tiers
# are small but not zero; see docs/portability.md for why each tier is what it is.

# %%
import mnistx  # noqa: E402
from mnistx import spawn  # noqa: E402
from mnistx.config import BACKENDS  # noqa: E402

everywhere = [b for b in BACKENDS if spawn.installed(b)]
parity = mnistx.check_parity("mlp", backends=everywhere, images=64 if QUICK else 1000,
                             steps=2 if QUICK else 10, progress=print)
display(Markdown(parity.table()))
print("all backends agree" if parity.passed else f"they part ways: {parity.first_divergence}")

# %% [markdown]
# ## 5. How fast, side by side
#
# `mnistx.benchmark` times the same training on each backend, one after another (never at the same
# time: they would share the CPU). **keras-default** is `model.fit` as written; **native** is the
# same step written in the backend's own framework (`jax.jit`, `torch.compile`, `tf.function`): the
# gap is what Keras's generality costs here. Medians over timed epochs, after a warm-up.

# %%
bench = mnistx.benchmark("mlp", backends=everywhere, modes=("keras-default", "native"),
                         samples=2048 if QUICK else None, progress=print)
display(Markdown(bench.table()))

# %% [markdown]
# ## What to take away
#
# - The model code did not change; only `KERAS_BACKEND` did.
# - The backends agree to float32 rounding (the parity table), not bit for bit.
# - Speed differs by backend and by how you train; measure on your own machine.
