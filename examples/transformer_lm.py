"""Train a small decoder-only transformer as a character language model with graphc.

    python examples/transformer_lm.py                      # a few minutes on 2 cores (llvm)
    python examples/transformer_lm.py --steps 3000 --plot lm.png --save lm.npz

The text is the documentation that ships with Python (``pydoc_data.topics``: the language
reference topics behind ``help()``), about 465 thousand characters, split 90/10 into training
and validation. The model: token embeddings plus learned position embeddings, pre-norm
TransformerEncoderLayers with causal self-attention (so position t sees only characters up to
t), a final LayerNorm and a dense head over the character vocabulary. Training: AdamW with
linear warmup and cosine decay (the lr is a graph parameter set from gc.optim.schedules),
gradient clipping by global norm in the graph, dropout whose key is graph state advanced by
every step. Reported: validation loss and bits per character against the unigram baseline
(the entropy of the training text's character frequencies measured on the validation text),
then text sampled from the model.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import graphc as gc  # noqa: E402
from graphc.support.files import atomic_file  # noqa: E402


def load_text() -> str:
    """Python's own documentation topics, joined (ships with CPython as pydoc_data)."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


@dataclass
class Corpus:
    """The text as integer ids, split into training and validation."""

    chars: str
    train: np.ndarray
    val: np.ndarray

    @staticmethod
    def of(text: str, val_fraction: float = 0.1) -> Corpus:
        chars = "".join(sorted(set(text)))
        ids = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        lookup = {ord(c): i for i, c in enumerate(chars)}
        data = np.array([lookup[int(c)] for c in ids], np.int64)
        cut = int(len(data) * (1 - val_fraction))
        return Corpus(chars, data[:cut], data[cut:])

    def unigram_loss(self) -> float:
        """Cross-entropy (nats/char) of the validation text under the training text's
        character frequencies (add-one smoothed): what a model ignoring context achieves."""
        counts = np.bincount(self.train, minlength=len(self.chars)) + 1.0
        logp = np.log(counts / counts.sum())
        return float(-logp[self.val].mean())


def windows(data: np.ndarray, starts: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs data[s : s + t] and next-character targets data[s + 1 : s + t + 1] per start."""
    idx = starts[:, None] + np.arange(t)
    return data[idx], data[idx + 1]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["numpy", "llvm"], default="llvm")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", type=int, default=64, help="sequence length T")
    p.add_argument("--d-model", type=int, default=96)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--clip", type=float, default=1.0, help="max global gradient norm")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--sample", type=int, default=300, help="characters to sample at the end")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="FILE.png", help="write the loss curves")
    p.add_argument("--save", metavar="FILE.npz", help="save parameters, optimizer and RNG")
    return p


class CharTransformer:
    """Embeddings + pre-norm causal encoder layers + LayerNorm + dense head."""

    def __init__(self, args: argparse.Namespace, vocab: int) -> None:
        rng = np.random.default_rng(args.seed)
        d = args.d_model
        self.embed = gc.nn.Embedding(vocab, d, name="tok", seed=rng)
        self.blocks = [gc.nn.TransformerEncoderLayer(
            d, args.heads, 4 * d, dropout=args.dropout, norm_first=True, name=f"block{i}",
            seed=int(rng.integers(2**31))) for i in range(args.layers)]
        self.norm = gc.nn.LayerNorm(name="final_norm")
        self.head = gc.nn.Dense(vocab, name="head", seed=rng)
        self.context, self.d, self.pos = args.context, d, None
        self.dropout = args.dropout

    def __call__(self, ids: gc.Tensor, training: bool, key: gc.Tensor | None) -> gc.Tensor:
        """Logits [B, T, vocab] for ids [B, T]."""
        h = self.embed(ids) * 0.5  # N(0, 1) rows scaled next to positions
        if self.pos is None:
            self.pos = gc.parameter("pos", np.random.default_rng(1).normal(
                0, 0.02, (self.context, self.d)).astype(np.float32))
        h = h + self.pos
        keys = gc.random.split(key, len(self.blocks) + 1) if training and key is not None else (
            [None] * (len(self.blocks) + 1))
        h = gc.dropout(h, self.dropout, keys[-1], training)
        for block, k in zip(self.blocks, keys, strict=False):
            h = block(h, causal=True, key=k, training=training)
        return self.head(self.norm(h))

    @property
    def params(self) -> list[gc.Tensor]:
        layers = [self.embed, *self.blocks, self.norm, self.head]
        return [p for layer in layers for p in layer.params] + [self.pos]


@dataclass
class Program:
    step: gc.Function
    evaluate: gc.Function
    predict: gc.Function
    lr: gc.Tensor
    state: list[gc.Tensor]


def compile_program(args: argparse.Namespace, vocab: int) -> tuple[Program, gc.Graph]:
    """One graph: the training step (loss, clipped AdamW updates, RNG advance), evaluation
    and prediction, all over the same parameters."""
    t = args.context
    with gc.Graph("lm") as graph:
        x = gc.placeholder("x", ("B", t), "int64")
        y = gc.placeholder("y", ("B", t), "int64")
        model = CharTransformer(args, vocab)
        rng = gc.random.state("rng", args.seed)
        key, rng_update = gc.random.next_key(rng)
        loss = gc.mean(gc.softmax_cross_entropy(model(x, True, key), y))
        eval_logits = model(x, False, None)
        lr = gc.parameter("lr", 0.0, "float32")
        opt = gc.optim.AdamW(model.params, lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
        grads, norm = gc.optim.clip_grad_norm(gc.grad(loss, model.params), args.clip)
        updates = opt.updates(grads=grads) + [rng_update]
        step = gc.function([x, y], [loss, norm], updates=updates, backend=args.backend)
        eval_loss = gc.mean(gc.softmax_cross_entropy(eval_logits, y))
        evaluate = gc.function([x, y], eval_loss, backend=args.backend)
        predict = gc.function([x], gc.softmax(eval_logits, axis=-1), backend=args.backend)
    state = model.params + list(opt.state.values()) + [rng]
    return Program(step, evaluate, predict, lr, state), graph


def validation_loss(program: Program, corpus: Corpus, args: argparse.Namespace) -> float:
    """Mean loss over fixed, evenly spaced validation windows (the same ones every time)."""
    n = len(corpus.val) - args.context - 1
    starts = np.linspace(0, n - 1, 16 * args.batch_size).astype(np.int64)
    losses = [float(program.evaluate(*windows(corpus.val, chunk, args.context)))
              for chunk in np.array_split(starts, 16)]
    return float(np.mean(losses))


def sample(program: Program, corpus: Corpus, args: argparse.Namespace, prompt: str) -> str:
    """Characters drawn one at a time; the context is right-padded, which causal attention
    never reads, and the distribution is read at the last real position."""
    rng = np.random.default_rng(args.seed)
    lookup = {c: i for i, c in enumerate(corpus.chars)}
    ids = [lookup[c] for c in prompt if c in lookup]
    for _ in range(args.sample):
        ctx = ids[-args.context:]
        window = np.zeros((1, args.context), np.int64)
        window[0, :len(ctx)] = ctx
        p = program.predict(window)[0, len(ctx) - 1].astype(np.float64)
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return "".join(corpus.chars[i] for i in ids)


def plot(path: str, curves: dict[str, list], baseline: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*zip(*curves["train"], strict=True), label="train (smoothed)", alpha=0.7)
    ax.plot(*zip(*curves["val"], strict=True), "o-", label="validation")
    ax.axhline(baseline, color="gray", linestyle="--", label="unigram baseline")
    ax.set(xlabel="step", ylabel="cross-entropy (nats/char)", title="character LM")
    ax.legend()
    fig.tight_layout()
    with atomic_file(path) as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def train(args: argparse.Namespace) -> dict[str, float]:
    corpus = Corpus.of(load_text())
    baseline = corpus.unigram_loss()
    print(f"text: {len(corpus.train):,} training / {len(corpus.val):,} validation characters, "
          f"vocabulary {len(corpus.chars)}; unigram baseline {baseline:.3f} nats/char "
          f"({baseline / math.log(2):.3f} bits/char)")
    program, graph = compile_program(args, len(corpus.chars))
    print(gc.summary([p for p in program.state if p.name.startswith(("tok", "block", "pos",
                                                                       "final", "head"))]))
    warmup = min(args.warmup, args.steps // 2)  # short runs (the smoke test) warm up less
    sched = gc.optim.schedules.warmup_cosine(args.lr, warmup, args.steps, args.lr / 10)
    rng = np.random.default_rng(args.seed + 1)
    curves: dict[str, list] = {"train": [], "val": []}
    smooth = None
    with tqdm(total=args.steps, desc="training", unit="step", file=sys.stderr) as bar:
        for step in range(args.steps):
            gc.optim.schedules.set_lr(program.lr, sched(step))
            starts = rng.integers(0, len(corpus.train) - args.context - 1, args.batch_size)
            loss, _ = program.step(*windows(corpus.train, starts, args.context))
            smooth = float(loss) if smooth is None else 0.95 * smooth + 0.05 * float(loss)
            curves["train"].append((step, smooth))
            if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
                curves["val"].append((step + 1, validation_loss(program, corpus, args)))
                bar.set_postfix(loss=f"{smooth:.3f}", val=f"{curves['val'][-1][1]:.3f}")
            bar.update()
    val = curves["val"][-1][1]
    first = curves["train"][0][1]
    print(f"first training loss {first:.3f} nats/char (uniform guess: ln {len(corpus.chars)} = "
          f"{math.log(len(corpus.chars)):.3f})")
    print(f"validation loss {val:.3f} nats/char = {val / math.log(2):.3f} bits/char "
          f"(unigram baseline {baseline / math.log(2):.3f} bits/char)")
    if args.plot:
        plot(args.plot, curves, baseline)
        print(f"wrote {args.plot}")
    if args.save:
        gc.save(args.save, program.state)
        print(f"saved {len(program.state)} arrays to {args.save}")
    if args.sample:
        print("sample:\n" + sample(program, corpus, args, "The "))
    return {"val": val, "baseline": baseline, "first_loss": curves["train"][0][1]}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    start = time.perf_counter()
    try:
        train(args)
    except gc.GraphcError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"time: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
