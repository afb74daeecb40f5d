"""The moons data set and the pictures: shapes, determinism, sklearn's formula, files written."""

import base64
import math
import shutil

import numpy as np
import pytest

from micrograd_reference import viz
from micrograd_reference.data import make_moons, moons_split, to_lists
from micrograd_reference.engine import Value


def moons_formula(n):
    """sklearn's make_moons without noise or shuffling, written out point by point."""
    n_out, n_in = n // 2, n - n // 2
    X, y = [], []
    for i in range(n_out):
        t = math.pi * i / (n_out - 1) if n_out > 1 else 0.0
        X.append([math.cos(t), math.sin(t)])
        y.append(0)
    for i in range(n_in):
        t = math.pi * i / (n_in - 1) if n_in > 1 else 0.0
        X.append([1 - math.cos(t), 1 - math.sin(t) - 0.5])
        y.append(1)
    return np.array(X), np.array(y)


# -- data ---------------------------------------------------------------------------------


@pytest.mark.kit
@pytest.mark.parametrize("n", [2, 7, 100, 101])
def test_make_moons_shapes_and_balance(n):
    X, y = make_moons(n, noise=0.1, seed=3)
    assert X.shape == (n, 2) and y.shape == (n,)
    assert set(y.tolist()) <= {0, 1}
    # n // 2 points on the outer moon (label 0), the rest on the inner one (label 1)
    assert (y == 0).sum() == n // 2 and (y == 1).sum() == n - n // 2


@pytest.mark.kit
def test_make_moons_is_deterministic_per_seed():
    X1, y1 = make_moons(50, noise=0.2, seed=7)
    X2, y2 = make_moons(50, noise=0.2, seed=7)
    X3, _ = make_moons(50, noise=0.2, seed=8)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3), "seeds 7 and 8 gave the same points"


@pytest.mark.kit
@pytest.mark.parametrize("n", [2, 9, 100, 101])
def test_noise_free_points_follow_the_formula(n):
    X, y = make_moons(n, noise=0, shuffle=False)
    X_expected, y_expected = moons_formula(n)
    np.testing.assert_allclose(X, X_expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y, y_expected)


@pytest.mark.kit
def test_noise_free_points_shuffled_are_the_same_set():
    X, y = make_moons(40, noise=0, seed=1)
    X_expected, y_expected = moons_formula(40)
    order = np.lexsort((X[:, 1], X[:, 0]))
    expected_order = np.lexsort((X_expected[:, 1], X_expected[:, 0]))
    np.testing.assert_allclose(X[order], X_expected[expected_order], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y[order], y_expected[expected_order])


@pytest.mark.kit
@pytest.mark.parametrize("n", [10, 100, 101])
def test_noise_free_points_equal_sklearn(n):
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = make_moons(n, noise=0, shuffle=False)
    X_sk, y_sk = datasets.make_moons(n, noise=0, shuffle=False)
    np.testing.assert_array_equal(X, X_sk)
    np.testing.assert_array_equal(y, y_sk)


@pytest.mark.kit
def test_moons_split_sizes_and_disjoint():
    (X_tr, y_tr), (X_te, y_te) = moons_split(60, 40, noise=0.1, seed=2)
    assert X_tr.shape == (60, 2) and y_tr.shape == (60,)
    assert X_te.shape == (40, 2) and y_te.shape == (40,)
    train_rows = {tuple(r) for r in X_tr.tolist()}
    assert not train_rows & {tuple(r) for r in X_te.tolist()}, "a point is in both sets"
    # together they are the single draw of 100
    X, y = make_moons(100, noise=0.1, seed=2)
    np.testing.assert_array_equal(np.vstack([X_tr, X_te]), X)
    np.testing.assert_array_equal(np.hstack([y_tr, y_te]), y)


@pytest.mark.kit
def test_to_lists_gives_plain_numbers():
    X, y = make_moons(6, noise=0.1, seed=0)
    rows, ys = to_lists(X, y)
    assert all(type(v) is float for row in rows for v in row) and len(rows[0]) == 2
    assert all(type(v) is int for v in ys)
    assert ys == [int(v) * 2 - 1 for v in y]
    _, ys01 = to_lists(X, y, labels="01")
    assert ys01 == y.tolist() and all(type(v) is int for v in ys01)
    with pytest.raises(ValueError, match="labels"):
        to_lists(X, y, labels="bogus")


# -- the computation graph ------------------------------------------------------------------


def small_graph():
    a, b = Value(2.0), Value(-3.0)
    c = a * b  # -6
    d = (c + a).relu()  # relu(-4) = 0
    e = d + a**2  # 4
    e.backward()
    return a, b, c, d, e


@pytest.mark.kit
def test_graph_dot_shows_every_node_and_op():
    a, b, c, d, e = small_graph()
    source = viz.graph_dot(e)
    assert source.startswith("digraph") and "rankdir=TB" in source  # grows downward
    assert "rankdir=LR" in viz.graph_dot(e, rankdir="LR")  # micrograd's own, on request
    for v in (a, b, c, d, e):
        assert f"data {v.data:.4f}" in source, v
        assert f"grad {v.grad:.4f}" in source, v
    for op in ("*", "+", "ReLU", "**2"):
        assert f'label="{op}"' in source, op
    # a is used three times: an edge from it to each op that uses it
    (name,) = [line.split()[0] for line in source.splitlines() if 'label="{ data 2.0000 |' in line]
    assert source.count(f"  {name} -> ") == 3


def _width_px(svg: str) -> float:
    import re

    m = re.search(r'<svg width="([\d.]+)(pt|px)"', svg)
    return float(m[1]) * (4 / 3 if m[2] == "pt" else 1)


def _chain(n: int) -> Value:
    x = Value(0.5, label="x")
    for _ in range(n):
        x = (x * 1.01 + 0.1).tanh()
    return x


@pytest.mark.kit
@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_a_long_chain_grows_downward_and_fits_a_notebook_column():
    """20 operations in a row: left to right it is several screens wide; drawn as shown
    inline, it is as narrow as one box."""
    out = _chain(10)
    out.backward()
    wide = viz.draw_dot(out, rankdir="LR").svg()
    shown = viz.draw_dot(out)._repr_mimebundle_()
    assert _width_px(wide) > 3 * viz.COLUMN_PX
    assert _width_px(shown["image/svg+xml"]) < viz.COLUMN_PX / 2
    assert "text/html" not in shown  # it fits: no full-size view needed


@pytest.mark.kit
def test_an_operation_with_many_inputs_stacks_them_in_rows():
    """A neuron of 8 inputs: its 17 leaves (w, x, b) in rows of viz.ROW, not one wide row."""
    from micrograd_reference.nn import Neuron

    n = Neuron(8)
    out = n([float(i) for i in range(8)])
    source = viz.graph_dot(out)
    assert source.count("[style=invis]") == 17 - viz.ROW
    assert "[style=invis]" not in viz.graph_dot(out, rankdir="LR")


@pytest.mark.kit
@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_a_graph_too_wide_for_the_column_is_scaled_with_the_full_size_a_click_away():
    from micrograd_reference.nn import MLP

    model = MLP(12, [12, 1])
    out = model([float(i) for i in range(12)])
    graph = viz.draw_dot(out)
    full = graph.svg()
    bundle = graph._repr_mimebundle_()
    assert _width_px(full) > viz.COLUMN_PX
    assert _width_px(bundle["image/svg+xml"]) == viz.COLUMN_PX
    assert 'viewBox="' in bundle["image/svg+xml"]  # the whole drawing, scaled
    html = bundle["text/html"]
    assert "<details><summary>full size" in html
    assert base64.b64encode(full.encode()).decode() in html  # unscaled, in the details


@pytest.mark.kit
def test_graph_dot_marks_a_node():
    a, b, c, d, e = small_graph()
    source = viz.graph_dot(e, mark={c: "expected grad 1.5729"})
    marked = [line for line in source.splitlines() if "expected grad 1.5729" in line]
    assert len(marked) == 1 and "color=red" in marked[0] and "data -6.0000" in marked[0]
    assert source.count(" color=red") == 1


@pytest.mark.kit
def test_graph_dot_is_deterministic_for_a_set_prev():
    class SetValue:  # micrograd 0.1.0's shape: _prev a set, data an int
        def __init__(self, data, prev=(), op=""):
            self.data, self.grad, self._prev, self._op = data, 0, set(prev), op

    def source(swap):
        x, y = SetValue(1), SetValue(2)
        pair = (y, x) if swap else (x, y)
        return viz.graph_dot(SetValue(3, pair, "+"))

    first = source(swap=False)
    assert "data 1.0000" in first and "data 3.0000" in first
    assert all(source(swap) == first for swap in (False, True) * 5)


@pytest.mark.kit
def test_graph_dot_walks_a_deep_graph_without_recursion():
    x = Value(0.0)
    y = x
    for _ in range(5000):
        y = y + 1.0
    assert viz.graph_dot(y).count("shape=ellipse") == 5000


@pytest.mark.kit
def test_draw_dot_writes_dot_source_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    *_, e = small_graph()
    out = viz.draw_dot(e, tmp_path / "graph.svg")
    assert out == tmp_path / "graph.dot"
    assert out.read_text() == viz.graph_dot(e)


@pytest.mark.kit
@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_draw_dot_writes_svg_with_graphviz(tmp_path):
    *_, e = small_graph()
    out = viz.draw_dot(e, tmp_path / "graph", mark={e: "the loss"})
    assert out == tmp_path / "graph.svg"
    text = out.read_text()
    assert "<svg" in text and "the loss" in text


# -- plots ----------------------------------------------------------------------------------


@pytest.mark.kit
def test_plot_decision_boundary_writes_png(tmp_path):
    X, y = make_moons(30, noise=0.1, seed=0)
    calls = []

    def predict(rows):
        calls.append(rows)
        return [r[0] - 0.5 for r in rows]

    out = viz.plot_decision_boundary(predict, X, y * 2 - 1, tmp_path / "b.png", title="moons")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(calls) == 1 and all(len(r) == 2 for r in calls[0])


@pytest.mark.kit
def test_plot_decision_boundary_one_class_everywhere(tmp_path):
    X, y = make_moons(10, noise=0.1, seed=0)
    out = viz.plot_decision_boundary(lambda rows: [1.0] * len(rows), X, y, tmp_path / "one.png")
    assert out.stat().st_size > 0


@pytest.mark.kit
def test_plot_curves_writes_png(tmp_path):
    history = [(1.0 / (k + 1), min(1.0, k / 10)) for k in range(20)]
    out = viz.plot_curves(history, tmp_path / "curves.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_draw_dot_returns_a_graph_a_notebook_shows(monkeypatch):
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    e = a * b
    e.label = "e"
    graph = viz.draw_dot(e)
    assert 'label="{ a | data 2.0000 | grad 0.0000 }"' in graph.source
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    bundle = graph._repr_mimebundle_()
    assert "image/svg+xml" not in bundle and graph.source in bundle["text/plain"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_graph_shows_as_svg_with_graphviz():
    graph = viz.draw_dot(Value(2.0, label="a") * 3)
    assert graph._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")
    assert ">a<" in graph._repr_svg_()


def test_plots_without_a_path_are_pictures_a_notebook_shows():
    X, y = make_moons(20, noise=0.1, seed=0)
    picture = viz.plot_decision_boundary(lambda rows: [r[0] for r in rows], X, y * 2 - 1)
    assert picture._repr_png_().startswith(b"\x89PNG")
    assert viz.plot_curves([(1.0, 0.5), (0.5, 0.9)])._repr_png_().startswith(b"\x89PNG")
