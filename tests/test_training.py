"""Training end to end on real data: gc.nn layers, gc.grad, gc.optim, gc.function updates."""

import os
import sys

import numpy as np
import pytest

import graphc as gc

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.fixture(scope="module")
def digits():
    return gc.data.digits()


def _mlp(x, y, rng):
    fc1 = gc.nn.Dense(64, activation="relu", init="he_uniform", seed=rng)
    fc2 = gc.nn.Dense(10, seed=rng)
    logits = fc2(fc1(x))
    loss = gc.mean(gc.softmax_cross_entropy(logits, y))
    return logits, loss, fc1.params + fc2.params


def _accuracy(logits_fn, x, y):
    return float(np.mean(np.argmax(logits_fn(x), axis=1) == y))


def test_mlp_on_digits_learns(digits, tmp_path):
    x_train, y_train, x_test, y_test = digits
    rng = np.random.default_rng(0)
    with gc.Graph("mlp"):
        x, y = gc.placeholder("x", ("B", 64)), gc.placeholder("y", ("B",), "int64")
        logits, loss, params = _mlp(x, y, rng)
        step = gc.function([x, y], loss, updates=gc.optim.Adam(params, lr=3e-3).updates(loss))
        predict = gc.function([x], logits)
    first = np.mean([step(xb, yb) for xb, yb in gc.data.batches(x_train, y_train, 64, seed=0)])
    for epoch in range(1, 5):
        last = np.mean([step(xb, yb) for xb, yb in gc.data.batches(x_train, y_train, 64,
                                                                    seed=epoch)])
    assert last < 0.5 * first
    accuracy = _accuracy(predict, x_test, y_test)
    assert accuracy >= 0.9

    # the trained weights survive a save / load round trip into a fresh graph
    gc.save(tmp_path / "mlp.npz", params)
    with gc.Graph("fresh"):
        x2, y2 = gc.placeholder("x", ("B", 64)), gc.placeholder("y", ("B",), "int64")
        logits2, _, params2 = _mlp(x2, y2, np.random.default_rng(1))
        gc.load(tmp_path / "mlp.npz", params2)
        assert _accuracy(gc.function([x2], logits2), x_test, y_test) == accuracy


def test_cnn_with_batch_norm_loss_falls(digits):
    x_train, y_train = digits[0][:512].reshape(-1, 1, 8, 8), digits[1][:512]
    rng = np.random.default_rng(0)
    with gc.Graph("cnn"):
        x, y = gc.placeholder("x", (32, 1, 8, 8)), gc.placeholder("y", (32,), "int64")
        conv = gc.nn.Conv2d(8, 3, padding=1, bias=False, seed=rng)
        bn = gc.nn.BatchNorm()
        h, bn_updates = bn(conv(x))
        h = gc.flatten(gc.max_pool2d(gc.relu(h), 2), 1)
        head = gc.nn.Dense(10, seed=rng)
        loss = gc.mean(gc.softmax_cross_entropy(head(h), y))
        params = conv.params + bn.params + head.params
        opt = gc.optim.SGD(params, lr=0.1, momentum=0.9)
        step = gc.function([x, y], loss, updates=opt.updates(loss) + bn_updates)
    losses = []
    for epoch in range(3):
        batches = gc.data.batches(x_train, y_train, 32, seed=epoch, drop_last=True)
        losses.append(np.mean([step(xb, yb) for xb, yb in batches]))
    assert losses[-1] < 0.6 * losses[0]
    assert np.all(bn.running_var.value != 1.0)  # the running statistics were updated


def test_mlp_example_flags(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(EXAMPLES)
    monkeypatch.delitem(sys.modules, "mlp_digits", raising=False)
    import mlp_digits

    plot, saved, report = tmp_path / "curves.png", tmp_path / "mlp.npz", tmp_path / "r.html"
    argv = ["--epochs", "2", "--dump-ir", "--plot", str(plot), "--save", str(saved),
            "--report", str(report)]
    assert mlp_digits.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("graph @train(") and "adam.m.fc1.w" in out
    line = out.strip().splitlines()[-1]
    assert line.startswith("test accuracy: ") and float(line.split(": ")[1]) > 0.8
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(saved) as f:
        assert sorted(f.files) == ["fc1.b", "fc1.w", "fc2.b", "fc2.w", "out.b", "out.w"]
    page = report.read_text()
    assert "train loss (last " in page and "test accuracy (last " in page  # the curves
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "mlp.npz", "r.html"]  # no temp files


def test_example_reports_a_bad_mnist_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(EXAMPLES)
    import mlp_digits

    assert mlp_digits.main(["--mnist", str(tmp_path)]) == 1
    assert "train-images-idx3-ubyte: missing MNIST file" in capsys.readouterr().err
