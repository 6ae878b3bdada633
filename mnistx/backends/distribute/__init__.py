"""Each training framework's own data-parallel engine behind one small interface (Replicas).

Like the adapter files one level up, jax.py, tensorflow.py and torch.py define the same class
under the same name; `backends.data_parallel(n)` picks the one for this process's backend. No
file here all-reduces gradients itself: keras.distribution + XLA SPMD (JAX), tf.distribute
(TensorFlow) and DistributedDataParallel (torch) do it.

    Replicas(n)                         set the engine up over n devices (n processes for torch)
      .engine -> str                    what runs, e.g. "tf.distribute.MirroredStrategy"
      .devices -> list[str]             the devices the global batch is split over
      .rank, .world -> int              this process, and the processes taking part (torch: n)
      .scope()                          a context to build and compile the model in
      .step(model, x, y) -> float       one optimizer step on the GLOBAL batch (x: the model's
                                        call argument, y: labels); returns the global mean loss
      .fit(model, x, y, batch_size)     one pass over x in global batches of batch_size
      .close()                          release the process group (torch)

The launch side (XLA_FLAGS for JAX, torchrun for torch) is mnistx/distribute.py, in the parent.
"""
