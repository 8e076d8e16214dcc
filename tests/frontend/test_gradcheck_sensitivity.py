"""gc.check_grad checked itself: the oracle of the gradient tests must catch small errors.

sin's gradient rule is replaced for one test by a rule that is off by a known relative amount
(or gives NaN in one entry); check_grad must fail on 1e-4 and pass on 1e-8, in both of its
forms, and must report the entry that is off.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.ir.opdef import REGISTRY

X0 = np.linspace(-1.2, 1.4, 6).reshape(2, 3)


def _skewed_rule(rel: float, nan_at: int | None = None):
    """sin's rule times (1 + rel); with ``nan_at``, that flat entry of the gradient is NaN."""
    right = REGISTRY["sin"].vjp

    def rule(e, node, gouts):
        (g,) = right(e, node, gouts)
        scale = np.full(g.type.shape, 1.0 + rel)
        if nan_at is not None:
            scale.flat[nan_at] = np.nan
        return [e.mul(g, e.const(scale, g.type.dtype))]

    return rule


def _report(form: str):
    if form == "function":
        return gc.check_grad(lambda x: gc.sum(gc.sin(x) * 2.0), [X0], raise_on_failure=False)
    with gc.Graph("cost"):
        x = gc.placeholder("x", X0.shape, "float64")
        cost = gc.sum(gc.sin(x) * 2.0)
    return gc.check_grad(cost, [x], {x: X0}, raise_on_failure=False)


FORMS = ["function", "graph"]


@pytest.mark.parametrize("form", FORMS)
def test_the_right_rule_passes(form: str) -> None:
    report = _report(form)
    assert report.ok and report.checked == X0.size


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("rel", [1e-4, -1e-4, 1e-3])
def test_a_gradient_off_by_a_small_relative_amount_fails(form: str, rel: float,
                                                         monkeypatch) -> None:
    monkeypatch.setattr(REGISTRY["sin"], "vjp", _skewed_rule(rel))
    report = _report(form)
    assert not report.ok, str(report)
    worst = report.worst
    assert worst is not None and worst.wrt == "x"
    assert worst.rel_error == pytest.approx(abs(rel) / (1 + max(rel, 0)), rel=1e-3)


@pytest.mark.parametrize("form", FORMS)
def test_an_error_far_below_the_tolerance_passes(form: str, monkeypatch) -> None:
    monkeypatch.setattr(REGISTRY["sin"], "vjp", _skewed_rule(1e-8))
    assert _report(form).ok


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("where", [0, 4])
def test_a_nan_gradient_entry_fails(form: str, where: int, monkeypatch) -> None:
    monkeypatch.setattr(REGISTRY["sin"], "vjp", _skewed_rule(0.0, nan_at=where))
    report = _report(form)
    assert not report.ok, str(report)
    assert report.worst is not None
    assert report.worst.index == np.unravel_index(where, X0.shape)
    assert np.isnan(report.worst.symbolic)


def test_a_failure_raises_by_default(monkeypatch) -> None:
    monkeypatch.setattr(REGISTRY["sin"], "vjp", _skewed_rule(1e-4))
    with pytest.raises(gc.GradCheckError, match="gradient check FAILED"):
        gc.check_grad(lambda x: gc.sum(gc.sin(x)), [X0])
