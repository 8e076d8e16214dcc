"""Train an LSTM character language model on Python's own documentation with graphc.

    python examples/char_lstm.py                       # a few minutes on 2 cores (llvm)
    python examples/char_lstm.py --steps 3000 --plot lstm.png --save lstm.npz

The text, its split, the validation windows and the sampling come from
examples/transformer_lm.py (``pydoc_data.topics``, about 465 thousand characters). The model:
character embeddings, a gc.nn.LSTM (one ``scan`` node per layer in the IR: the same graph and
compile whatever the length, its gradient a reverse scan) and a dense head over the vocabulary,
trained with Adam and gradient clipping on windows of ``--context`` characters. Reported:
validation loss in bits per character against the unigram baseline, then sampled text.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the text and the sampler
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402
from transformer_lm import Corpus, Program, load_text, plot, sample, validation_loss, windows  # noqa: E402

import graphc as gc  # noqa: E402


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["numpy", "llvm"], default="llvm")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", type=int, default=64, help="sequence length T")
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    p.add_argument("--clip", type=float, default=1.0, help="max global gradient norm")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--sample", type=int, default=300, help="characters to sample at the end")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dump-ir", action="store_true", help="print the training step's IR")
    p.add_argument("--plot", metavar="FILE.png", help="write the loss curves")
    p.add_argument("--save", metavar="FILE.npz", help="save parameters and optimizer state")
    return p


def compile_program(args: argparse.Namespace, vocab: int) -> Program:
    """The training step (loss, clipped Adam updates), evaluation and prediction."""
    rng = np.random.default_rng(args.seed)
    with gc.Graph("char_lstm"):
        x = gc.placeholder("x", ("B", args.context), "int64")
        y = gc.placeholder("y", ("B", args.context), "int64")
        embed = gc.nn.Embedding(vocab, args.embed, name="embed", seed=rng)
        lstm = gc.nn.LSTM(args.embed, args.hidden, num_layers=args.layers, batch_first=True,
                          name="lstm", seed=rng)
        head = gc.nn.Dense(vocab, name="head", seed=rng)
        out, _ = lstm(embed(x))
        logits = head(out)
        params = embed.params + lstm.params + head.params
        loss = gc.mean(gc.softmax_cross_entropy(logits, y))
        lr = gc.parameter("lr", np.float32(args.lr))
        opt = gc.optim.Adam(params, lr=lr)
        grads, norm = gc.optim.clip_grad_norm(gc.grad(loss, params), args.clip)
        step = gc.function([x, y], [loss, norm], updates=opt.updates(grads=grads),
                           backend=args.backend)
        evaluate = gc.function([x, y], loss, backend=args.backend)
        predict = gc.function([x], gc.softmax(logits, axis=-1), backend=args.backend)
    return Program(step, evaluate, predict, lr, params + list(opt.state.values()))


def train(args: argparse.Namespace) -> float:
    corpus = Corpus.of(load_text())
    baseline = corpus.unigram_loss()
    print(f"text: {len(corpus.train):,} training / {len(corpus.val):,} validation characters, "
          f"vocabulary {len(corpus.chars)}; unigram baseline {baseline / math.log(2):.3f} "
          "bits/char")
    program = compile_program(args, len(corpus.chars))
    if args.dump_ir:
        print(program.step.ir())
    rng = np.random.default_rng(args.seed + 1)
    curves: dict[str, list] = {"train": [], "val": []}
    smooth = None
    with tqdm(total=args.steps, desc="training", unit="step", file=sys.stderr) as bar:
        for step in range(args.steps):
            starts = rng.integers(0, len(corpus.train) - args.context - 1, args.batch_size)
            loss, _ = program.step(*windows(corpus.train, starts, args.context))
            smooth = float(loss) if smooth is None else 0.95 * smooth + 0.05 * float(loss)
            curves["train"].append((step, smooth))
            if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
                curves["val"].append((step + 1, validation_loss(program, corpus, args)))
                bar.set_postfix(loss=f"{smooth:.3f}", val=f"{curves['val'][-1][1]:.3f}")
            bar.update()
    val = curves["val"][-1][1]
    print(f"first training loss {curves['train'][0][1]:.3f} nats/char")
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
    return val


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
