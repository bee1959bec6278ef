"""One Keras 3 training run of an article net on MNIST, timed per epoch: the peer side of bench/peers.py.

    KERAS_BACKEND=jax venv/bin/python bench/peers_keras.py --net dense --batch 256 --epochs 4 \
        --options '{"code_size": 32}' --mnist ~/.cache/autoencoders/mnist --threads 2 --json out.json

Self-contained: it runs in a peer's own virtual environment (Keras and its backend, no
`autoencoders` package), reads the IDX files the toolkit cached, and builds the net the way the
article writes it in Keras (functional API, sigmoid output, `binary_crossentropy`, Adam at
Keras's defaults, `fit(x, x, batch_size, shuffle=True, validation_data=(x_test, x_test))`), with
the layer sizes bench/peers.py passes from the toolkit's registry. The VAE is the toolkit's
(docs/differences.md): BCE summed over pixels plus KL(q(z|x) || N(0, I)), averaged over the batch,
z = mu + exp(logvar / 2) * eps in training and z = mu in evaluation. The denoiser adds fresh
gaussian noise per batch (GaussianNoise, clipped to [0, 1]) as `ae train --noise gaussian:L`
does, and validates on one fixed noisy copy of the test set.

An epoch's seconds run from Keras's on_epoch_begin to on_epoch_end, which comes after the
epoch's validation pass (included, as in `ae train`'s history). The JSON written holds the
seconds of every epoch (the first one compiles), the losses, the parameter count and the versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import sys
import time


def set_threads(backend: str, threads: int) -> None:
    """Intra-op threads of the backend, set before it loads (TF's are set after import, in main)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if backend == "jax":
        os.environ["JAX_PLATFORMS"] = "cpu"
        eigen = "true" if threads > 1 else "false"
        flags = f"--xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={threads}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()


def read_idx(path: str):
    """An IDX file of uint8 values (MNIST's layout) as a numpy array."""
    import numpy as np

    with open(path, "rb") as f:
        data = f.read()
    if data[:3] != b"\x00\x00\x08":
        raise SystemExit(f"{path}: not an uncompressed uint8 IDX file")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(folder: str, image: bool, limit: int | None):
    """(x_train, x_test) as float32 in [0, 1]: (N, 784), or (N, 28, 28, 1) for the conv nets (channels last)."""
    import numpy as np

    out = []
    for prefix in ("train", "t10k"):
        x = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255.0
        out.append(x[..., None] if image else x.reshape(len(x), -1))
    if limit:
        out[0] = out[0][:limit]
    return out


def dense_net(keras, sizes: list[int]):
    """784 -> sizes (ReLU) -> reversed -> 784 (sigmoid)."""
    from keras import layers

    inp = keras.Input((784,))
    h = inp
    for width in sizes:
        h = layers.Dense(width, activation="relu")(h)
    for width in sizes[-2::-1]:
        h = layers.Dense(width, activation="relu")(h)
    out = layers.Dense(784, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
    return model


def pooled(size: int, levels: int) -> list[int]:
    sizes = [size]
    for _ in range(levels):
        sizes.append(-(-sizes[-1] // 2))
    return sizes


def conv_net(keras, filters: list[int], noise: float | None, size: int = 28):
    """Per width: conv3x3 'same' + ReLU + 2x2 'same' max-pool; the decoder mirrors it with
    UpSampling2D, its last hidden conv 'valid' where that lands on 28 (the article's 16 -> 14 -> 28)."""
    from keras import layers, ops

    inp = keras.Input((size, size, 1))
    h = inp
    if noise:
        h = layers.GaussianNoise(noise)(h)  # training only, fresh every batch
        h = layers.Lambda(lambda t: ops.clip(t, 0.0, 1.0))(h)
    for width in filters:
        h = layers.Conv2D(width, 3, activation="relu", padding="same")(h)
        h = layers.MaxPooling2D(2, padding="same")(h)
    levels = len(filters)
    before_last_up = pooled(size, levels)[-1] * 2 ** (levels - 1)
    valid = 2 * (before_last_up - 2) == size
    for i, width in enumerate(filters[::-1]):
        last = i == levels - 1
        h = layers.Conv2D(width, 3, activation="relu", padding="valid" if last and valid else "same")(h)
        h = layers.UpSampling2D(2)(h)
    out = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(h)
    crop = 0 if valid else 2 * before_last_up - size
    if crop:
        out = layers.Cropping2D(((0, crop), (0, crop)))(out)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(), loss="binary_crossentropy")
    return model


def vae_net(keras, hidden: list[int], latent: int, beta: float):
    """784 -> hidden (ReLU) -> (mu, logvar) -> z -> reversed hidden (ReLU) -> 784 (sigmoid)."""
    from keras import layers, ops

    class Sampling(layers.Layer):
        """z = mu + exp(logvar / 2) * eps in training, mu otherwise; adds beta * KL (summed over z, batch mean)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed = keras.random.SeedGenerator(0)

        def call(self, inputs, training=None):
            mu, logvar = inputs
            kl = 0.5 * ops.sum(ops.square(mu) + ops.exp(logvar) - 1.0 - logvar, axis=1)
            self.add_loss(beta * ops.mean(kl))
            if training:
                return mu + ops.exp(0.5 * logvar) * keras.random.normal(ops.shape(mu), seed=self.seed)
            return mu

    def summed_bce(y, p):  # per image: BCE summed over pixels
        return 784.0 * keras.losses.binary_crossentropy(y, p)

    inp = keras.Input((784,))
    h = inp
    for width in hidden:
        h = layers.Dense(width, activation="relu")(h)
    z = Sampling()([layers.Dense(latent)(h), layers.Dense(latent)(h)])
    h = z
    for width in hidden[::-1]:
        h = layers.Dense(width, activation="relu")(h)
    out = layers.Dense(784, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(), loss=summed_bce)
    return model


def build(keras, net: str, options: dict, noise: float | None):
    if net in ("dense", "deep"):
        return dense_net(keras, [*options.get("hidden", []), options["code_size"]])
    if net in ("conv", "conv-denoise"):
        return conv_net(keras, list(options["filters"]), noise)
    if net == "vae":
        return vae_net(keras, list(options["hidden"]), options["latent_size"], options.get("beta", 1.0))
    raise SystemExit(f"peers_keras.py: no Keras version of {net!r}")


def versions(backend: str) -> dict:
    from importlib.metadata import version

    import numpy

    names = {"jax": ("keras", "jax", "jaxlib"), "tensorflow": ("keras", "tensorflow-cpu")}[backend]
    out = {name: version(name) for name in names}
    return out | {"numpy": numpy.__version__, "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True, help="all epochs, the first (compiling) one included")
    parser.add_argument("--options", default="{}", help="the toolkit's model options, JSON")
    parser.add_argument("--noise", type=float, default=None, help="gaussian noise level (the denoiser)")
    parser.add_argument("--mnist", required=True, help="folder of MNIST's uncompressed IDX files")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype-policy", default="float32",
                        help="Keras's global dtype policy: float32 (its default) or mixed_bfloat16")
    parser.add_argument("--json", required=True, help="where to write the result")
    args = parser.parse_args()
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    set_threads(backend, args.threads)

    import keras
    import numpy as np

    threading = {}
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        threading = {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                     "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    else:
        import jax

        threading = {"XLA_FLAGS": os.environ["XLA_FLAGS"], "devices": [str(d) for d in jax.devices()]}
    keras.config.set_dtype_policy(args.dtype_policy)
    keras.utils.set_random_seed(0)
    image = args.net.startswith("conv")
    x, x_test = load_mnist(args.mnist, image, args.limit)
    x_in, x_val_in = x, x_test
    if args.noise:
        rng = np.random.default_rng(0)
        x_val_in = np.clip(x_test + args.noise * rng.standard_normal(x_test.shape, dtype=np.float32), 0.0, 1.0)
    model = build(keras, args.net, json.loads(args.options), args.noise)

    seconds: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # after the epoch's validation
            seconds.append(time.perf_counter() - self.start)
            print(f"epoch {epoch + 1}: {seconds[-1]:.2f} s  loss {logs.get('loss'):.4f}  "
                  f"val_loss {logs.get('val_loss'):.4f}", flush=True)

    history = model.fit(x_in, x, batch_size=args.batch, epochs=args.epochs, shuffle=True,
                        validation_data=(x_val_in, x_test), verbose=0, callbacks=[Timer()])
    result = {
        "net": args.net, "backend": backend, "batch": args.batch, "seconds": seconds,
        "loss": [float(v) for v in history.history["loss"]],
        "val_loss": [float(v) for v in history.history["val_loss"]],
        "params": int(model.count_params()), "jit_compile": bool(getattr(model, "jit_compile", False)),
        "threading": threading, "versions": versions(backend), "train_images": len(x),
        "dtype_policy": keras.config.dtype_policy().name,
    }
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
