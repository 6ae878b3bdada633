"""mnistx: one Keras 3 MNIST model on TensorFlow, JAX and PyTorch, compared.

Importing mnistx imports no backend; `mnistx.backends` does (the one place that may).
"""

__version__ = "0.1.0"
