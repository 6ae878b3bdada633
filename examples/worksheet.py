"""Hands-on worksheet: MNIST classification + model introspection, for Keras 3.

The classroom worksheet, step by step, with `tensorflow.keras` replaced by Keras 3 so the SAME
file runs on every backend:

    KERAS_BACKEND=tensorflow python examples/worksheet.py
    KERAS_BACKEND=jax        python examples/worksheet.py
    KERAS_BACKEND=torch      python examples/worksheet.py --epochs 1

Figures are saved (not shown) into --out (default worksheet-figures/). The data comes from
$MNISTX_DATA (a Keras-layout mnist.npz) when set, else from Keras's download.
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")  # save figures; no screen needed
import keras  # noqa: E402  (Keras 3: the backend comes from KERAS_BACKEND)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402


def load_mnist():
    path = os.environ.get("MNISTX_DATA")
    if path:
        with np.load(path) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    return keras.datasets.mnist.load_data()


def main() -> None:
    ap = argparse.ArgumentParser(description="The MNIST worksheet on any Keras 3 backend.")
    ap.add_argument("--epochs", type=int, default=int(os.environ.get("WORKSHEET_EPOCHS", 5)))
    ap.add_argument("--out", default="worksheet-figures", help="folder for the figures")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(42)  # same seed, but each backend draws its own numbers
    print(f"Keras {keras.__version__} on the {keras.backend.backend()} backend")

    # Part 1, step 2: load and prepare the data
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = x_train.astype("float32") / 255.0  # float32: every backend computes in float32
    x_test = x_test.astype("float32") / 255.0
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    # Step 3: sample images
    plt.figure(figsize=(10, 4))
    for i in range(10):
        plt.subplot(2, 5, i + 1)
        plt.imshow(x_train[i], cmap="gray")
        plt.title(f"Label: {y_train[i].argmax()}")
        plt.axis("off")
    plt.tight_layout()
    plt.savefig(os.path.join(args.out, "samples.png"))
    plt.close()

    # Step 4: the network. Keras 3 takes the input shape from keras.Input, not Flatten(input_shape=)
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])

    # Step 5: compile and train
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=args.epochs, validation_split=0.2, verbose=2)

    # Step 6: evaluate
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test Accuracy: {test_acc:.4f}")

    # Part 2, step 1: first Dense layer's weights. model.layers[0] is Flatten, as in the worksheet;
    # keras.ops.convert_to_numpy works on any backend's tensors
    weights = keras.ops.convert_to_numpy(model.layers[1].kernel)
    plt.figure(figsize=(12, 6))
    for i in range(10):
        plt.subplot(2, 5, i + 1)
        plt.imshow(weights[:, i].reshape(28, 28), cmap="viridis")
        plt.title(f"Neuron {i}")
        plt.axis("off")
    plt.tight_layout()
    plt.savefig(os.path.join(args.out, "weights.png"))
    plt.close()

    # Step 2: prediction + confidence
    img_idx = 42
    prediction = model.predict(x_test[img_idx].reshape(1, 28, 28), verbose=0)[0]
    plt.figure(figsize=(9, 3.5))
    plt.subplot(1, 2, 1)
    plt.imshow(x_test[img_idx], cmap="gray")
    plt.title(f"True Label: {y_test[img_idx].argmax()}")
    plt.axis("off")
    plt.subplot(1, 2, 2)
    plt.bar(range(10), prediction)
    plt.title("Prediction Confidence")
    plt.xlabel("Digit")
    plt.ylabel("Probability")
    plt.tight_layout()
    plt.savefig(os.path.join(args.out, "confidence.png"))
    plt.close()

    # Step 3: misclassified images
    preds = model.predict(x_test, verbose=0)
    pred_labels = preds.argmax(axis=1)
    true_labels = y_test.argmax(axis=1)
    errors = np.where(pred_labels != true_labels)[0]
    print(f"Misclassified: {len(errors)} of {len(x_test)}")
    plt.figure(figsize=(10, 4))
    for i, idx in enumerate(errors[:5]):
        plt.subplot(1, 5, i + 1)
        plt.imshow(x_test[idx], cmap="gray")
        plt.title(f"Pred: {pred_labels[idx]}, Truth: {true_labels[idx]}")
        plt.axis("off")
    plt.tight_layout()
    plt.savefig(os.path.join(args.out, "misclassified.png"))
    plt.close()


if __name__ == "__main__":
    main()
