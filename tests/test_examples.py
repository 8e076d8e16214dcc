"""The examples run as users run them: ``python examples/<name>.py`` from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(name: str, timeout: float = 120) -> str:
    return run_example_args(name, timeout=timeout)


def run_example_args(name: str, *args: str, timeout: float = 300) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # works with or without `pip install -e .`
    proc = subprocess.run([sys.executable, f"examples/{name}", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_quickstart() -> None:
    out = run_example("quickstart.py")
    head = "graph @mlp(%x: f32[B,64], %y: i64[B]) params(%w: f32[64,10], %b: f32[10])"
    assert out.startswith(head)
    assert "softmax_cross_entropy %3, %y : f32[B]" in out
    assert "round trip: parse(print(g)) prints identically" in out
    assert "-> (f32, f32[B,10])" in out  # the compiled program returns loss and logits
    loss = float(out.rsplit("loss = ", 1)[1])
    assert 1.0 < loss < 5.0  # cross-entropy of 10 classes from small random weights ~ ln(10)


def test_transformer_lm_first_losses() -> None:
    """A tiny configuration for a few steps: the first loss is near a uniform guess over the
    vocabulary, and validation falls below it and below the unigram baseline's 4.7 bits."""
    out = run_example_args("transformer_lm.py", "--backend", "numpy", "--steps", "30",
                           "--eval-every", "15", "--d-model", "32", "--layers", "1",
                           "--batch-size", "16", "--context", "32", "--sample", "20",
                           "--dropout", "0.1", "--lr", "1e-2")
    first = float(out.split("first training loss ")[1].split()[0])
    uniform = float(out.split("uniform guess: ln ")[1].split("= ")[1].split(")")[0])
    assert abs(first - uniform) < 0.5, out
    val_bits = float(out.split("nats/char = ")[1].split()[0])
    base_bits = float(out.split("unigram baseline ")[-1].split()[0])
    assert val_bits < base_bits, out
    assert "sample:\nThe " in out


def test_inspect_ir_reports_and_page(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    page = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "examples/inspect_ir.py", "--quiet", "--report",
                           str(page)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for heading in ("== passes ==", "== fusion ==", "== memory plan", "== profile (top 8"):
        assert heading in out
    assert "profile of @mlp_step (numpy, B=128): 5 calls" in out
    assert out.rstrip().endswith("final IR round-trips through text: yes")
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_rnn_digits_short_run() -> None:
    """Four epochs of the LSTM on digits rows: one scan in the step's IR (and its reverse scan
    for the gradient), and well above chance; the full run (15 epochs) reaches 0.97."""
    out = run_example_args("rnn_digits.py", "--epochs", "4", "--dump-ir")
    assert out.count(" = scan ") >= 2
    assert "reverse = true" in out
    acc = float(out.rsplit("test accuracy: ", 1)[1].split()[0])
    assert acc > 0.85, out[-500:]


def test_char_lstm_first_losses() -> None:
    """A tiny LSTM for a few steps: validation falls below the unigram baseline, and it samples."""
    out = run_example_args("char_lstm.py", "--backend", "numpy", "--steps", "30",
                           "--eval-every", "15", "--hidden", "64", "--sample", "20")
    val_bits = float(out.split("nats/char = ")[1].split()[0])
    base_bits = float(out.split("unigram baseline ")[-1].split()[0])
    assert val_bits < base_bits, out
    assert "sample:\nThe " in out
