"""Where we differ from the article, and the bugs in its code we fix: the one copy of that list.

The report prints it (sections.py) and docs/differences.md is this text as a page, written by
`python -m autoencoders.report.differences docs/differences.md` (tests/test_report.py checks it is
current); the README and the models' docstrings link to that page.
"""

from __future__ import annotations

import sys
import textwrap

from ..fileio import write_text

TITLE = "Where we differ from the article, and why"

INTRO = ("F. Chollet's \"Building Autoencoders in Keras\" (2016) was written for Keras 1. Its code, run "
         "as written today, does not reproduce its numbers, and a few of its lines are wrong. Each item says "
         "what the article does and what we do instead; `ae reproduce --recipe article` keeps the article's "
         "own settings wherever they are not bugs.")

DIFFERENCES = [
    "**Optimizer.** The article compiles with `optimizer='adadelta'`, whose Keras-1 default learning rate "
    "was 1.0; today's Keras default (1e-3) barely trains these nets (~0.69 test BCE after 5 epochs). The "
    "`article` recipe (and `ae train --optimizer adadelta`) uses lr=1.0; the `modern` recipe and `ae train`'s "
    "default use Adam (lr 1e-3) for every experiment.",
    "**Initialization.** Dense and conv layers get Glorot-uniform weights and zero biases, as Keras's do; "
    "PyTorch's default `nn.Linear` init costs about 0.01 test BCE on the 784-32-784 net.",
    "**Sparsity weight.** The article writes `activity_l1(10e-5)`, which is 1e-4 (not 1e-5); the `sparse` "
    "preset puts 1e-4 on the sum over code units, averaged over the batch (Keras 1's convention).",
    "**Denoising.** The article corrupts the training set once; the `modern` recipe draws fresh noise for "
    "every batch (the `article` recipe keeps one fixed noisy copy).",
    "**Sequence autoencoder (bug).** The article's `LSTM(input, return_sequences=True)` passes the input "
    "tensor where the number of units belongs, and it never trains the model. Our decoder has `code_size` "
    "units and a linear layer maps each step to the feature count; it reads MNIST as 28 steps of 28 pixels, "
    "with our own budget (20 epochs).",
    "**VAE KL term (bug).** The KL `-0.5 * mean(1 + z_log_sigma - z_mean**2 - exp(z_log_sigma))` treats "
    "`z_log_sigma` as a log-variance, while the sampler `z_mean + exp(z_log_sigma) * epsilon` treats it as a "
    "log-standard-deviation. We name it `logvar` and use it as one in both places (std = exp(logvar / 2)).",
    "**VAE loss scale (bug).** Keras's `binary_crossentropy` is a mean over the 784 pixels, added to a KL "
    "summed over latent units: the KL weighs ~784 times too much (a beta-VAE with beta ~ 784: blurry, "
    "collapsed codes). We sum the BCE over pixels, as the ELBO requires, and also report the per-pixel BCE "
    "(`bce_pixel`) to compare with the other models.",
    "**VAE sampler and manifold span (bug).** The sampler draws epsilon with std 0.01 rather than 1, and the "
    "manifold grid spans `linspace(-15, 15) * epsilon_std` with `epsilon_std = 0.01`, i.e. [-0.15, 0.15]: "
    "the prior's very centre, not \"15 standard deviations\". We sample with std 1 and walk the grid through "
    "the prior's inverse CDF (quantiles 0.05 to 0.95), so it covers the prior's mass evenly.",
    "**Figures (bug).** The article's plotting loops call `plt.subplot(2, n, i)` with `i` from 0 (an error in "
    "today's matplotlib, which numbers slots from 1) and `i + n` for the reconstructions, one slot off; ours "
    "draw on a `fig.subplots` grid.",
]


def markdown() -> str:
    """The list as a Markdown page (docs/differences.md)."""
    items = "\n".join(textwrap.fill(item, 100, initial_indent="- ", subsequent_indent="  ") for item in DIFFERENCES)
    return f"# {TITLE}\n\n{textwrap.fill(INTRO, 100)}\n\n{items}\n"


if __name__ == "__main__":  # python -m autoencoders.report.differences docs/differences.md
    write_text(sys.argv[1], markdown())
