"""exercise-7: broadcasting, shapes alone: broadcast_shape(a, b) and unbroadcast(grad, shape).

Regions these checks run: tensor.py's exercise-7 regions only (no Tensor is built, no rule).
Shapes have 0 to 4 axes of sizes 1 to 3 (scalars, (), among them), drawn by hypothesis from
the course's secret in lists of BATCH, one request per list; a failure is shrunk to the
smallest list, and the message names the pair, the axis at fault and what numpy says.
Expected shapes come from numpy (np.broadcast_shapes), expected gradients from PyTorch
(x.broadcast_to(...).backward(g)), float64.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from grader.checks.checking import Fail, check
from grader.checks.later import torch
from grader.checks.properties import for_all
from grader.checks.strategies import arrays, broadcastable_pairs, clashing_pairs, crossed_pairs
from grader.checks.tensors import (
    allclose,
    axes_text,
    broadcast_axes,
    shape_text,
    show,
    unwire,
    wire,
)

BATCH = 12
EXAMPLES = 3  # lists of BATCH cases each: a request per list, shrunk on a failure
SCALARS = [((), ()), ((), (3,)), ((2, 1), ()), ((1,), ()), ((), (1, 1))]


def _results(ctx, kind: str, key: str, items: list, n: int) -> list:
    reply = ctx.sandbox.request(kind, **{key: items})
    got = reply.get("results")
    if not isinstance(got, list) or len(got) != n:
        raise Fail(f"the worker's reply holds no readable results for {n} cases")
    return got


def _shown(result: dict) -> str:
    if "shape" in result:
        return shape_text(result["shape"])
    if "raised" in result:
        return f"raised {result['raised']}: {result.get('message', '')}"
    return f"a {result.get('type')} ({result.get('text', '')}), not a tuple of ints"


def _why(a, b, axis: int) -> str:
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    p, q = pa[axis], pb[axis]
    missing = " (a missing axis counts as size 1)" if axis < n - min(len(a), len(b)) else ""
    if p == q:
        return f"axis {axis}: sizes {p} and {q} give {p}{missing}"
    if 1 in (p, q):
        return f"axis {axis}: sizes {p} and {q} give {max(p, q)}, the 1 repeated{missing}"
    return f"axis {axis}: sizes {p} and {q} are neither equal nor 1: no broadcast"


@check(
    7,
    2,
    "broadcast_shape of shapes that broadcast, scalars among them",
    hint="align the shapes on the right; a missing axis is size 1; sizes n and 1 give n.",
)
def broadcast_pairs(ctx):
    def judge(pairs):
        pairs = [*pairs, *SCALARS]
        got = _results(
            ctx, "tensor_broadcast_shape", "pairs", [[a, b] for a, b in pairs], len(pairs)
        )
        for (a, b), result in zip(pairs, got):
            want = np.broadcast_shapes(a, b)
            if result.get("shape") == list(want) and "shape" in result:
                continue
            call = f"broadcast_shape({shape_text(a)}, {shape_text(b)})"
            if "shape" in result and len(result["shape"]) == len(want):
                axis = next(i for i, (p, q) in enumerate(zip(result["shape"], want)) if p != q)
            else:  # the axis where the shorter shape's padding matters, or the first
                n = len(want)
                pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
                axis = next((i for i, (p, q) in enumerate(zip(pa, pb)) if p != q), 0)
            why = f"; at {_why(a, b, axis)}" if want else ""
            if "shape" in result and len(result["shape"]) != len(want):
                why += f"; the result has as many axes as the longer shape, {len(want)}"
            raise Fail(
                f"{call}: expected {shape_text(want)}, got {_shown(result)}{why}",
                rule="broadcast_shape",
            )

    for_all(
        ctx,
        st.lists(broadcastable_pairs().map(lambda p: p[0]), min_size=BATCH, max_size=BATCH),
        judge,
        3,
    )


@check(
    7,
    1,
    "broadcast_shape raises ValueError where numpy does",
    hint="two sizes that differ and are both not 1 have no broadcast: raise ValueError.",
)
def clashing(ctx):
    def judge(pairs):
        got = _results(ctx, "tensor_broadcast_shape", "pairs", [list(p) for p in pairs], len(pairs))
        for (a, b), result in zip(pairs, got):
            if result.get("raised") == "ValueError":
                continue
            n = max(len(a), len(b))
            pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
            axis = next(i for i, (p, q) in enumerate(zip(pa, pb)) if p != q and 1 not in (p, q))
            raise Fail(
                f"broadcast_shape({shape_text(a)}, {shape_text(b)}) must raise ValueError, as "
                f"numpy does ({_why(a, b, axis)}); got {_shown(result)}",
                rule="broadcast_shape",
            )

    for_all(
        ctx, st.lists(clashing_pairs, min_size=BATCH // 2, max_size=BATCH // 2), judge, EXAMPLES
    )


@st.composite
def _unbroadcast_cases(draw, size: int = BATCH // 2):
    """[(input shape, grad of the broadcast result's shape, x of the input's shape)]."""
    cases = []
    pairs = st.one_of(crossed_pairs(), crossed_pairs(), broadcastable_pairs())
    for (a, _), result in draw(st.lists(pairs, min_size=size, max_size=size)):
        cases.append((a, draw(arrays(result)), draw(arrays(a))))
    return cases


def torch_unbroadcast(g: np.ndarray, shape) -> np.ndarray:
    """d(sum(g * broadcast(x)))/dx by PyTorch: the gradient unbroadcast must give."""
    x = torch.zeros(tuple(shape), dtype=torch.float64, requires_grad=True)
    (x.broadcast_to(g.shape) * torch.from_numpy(g)).sum().backward()
    return x.grad.numpy()


def _unbroadcast(ctx, cases) -> list:
    items = [{"grad": wire(g), "shape": list(a)} for a, g, _ in cases]
    return _results(ctx, "tensor_unbroadcast", "cases", items, len(cases))


def _called(a, g) -> str:
    axes = broadcast_axes(a, g.shape)
    how = f"broadcast along {axes_text(axes)}" if axes else "not broadcast"
    return (
        f"unbroadcast(grad of shape {shape_text(g.shape)}, {shape_text(a)}) (an input of shape "
        f"{shape_text(a)}, {how} to {shape_text(g.shape)})"
    )


def _returned(result: dict, a, g):
    """What unbroadcast returned (an array, or a string saying what came), or a Fail when it
    raised."""
    if "raised" in result:
        where = f" ({result.get('where')})" if result.get("where") else ""
        raise Fail(
            f"{_called(a, g)} raised {result['raised']}: {result.get('message', '')}{where}",
            rule="unbroadcast",
        )
    return unwire(result.get("value"))


@check(
    7,
    2,
    "unbroadcast returns exactly the input's shape",
    hint="sum over the leading axes the input lacks, then, keeping dims, over its size-1 axes.",
)
def unbroadcast_shape(ctx):
    def judge(cases):
        for (a, g, _), result in zip(cases, _unbroadcast(ctx, cases)):
            got = _returned(result, a, g)
            if isinstance(got, str):
                raise Fail(f"{_called(a, g)}: expected an array, got {got}", rule="unbroadcast")
            if got.shape == tuple(a):
                continue
            why = ""
            lacks = len(g.shape) - len(a)
            ones = [i + lacks for i, n in enumerate(a) if n == 1 and g.shape[i + lacks] != 1]
            if got.shape == g.shape:
                why = ": nothing was summed"
            elif len(got.shape) < len(a) and ones:
                why = f": the size-1 {axes_text(ones)} of the result was summed without keepdims"
            elif len(got.shape) > len(a):
                why = (
                    f": the leading {axes_text(list(range(lacks)))}, which the input lacks, "
                    "must be summed away"
                )
            raise Fail(
                f"{_called(a, g)}: expected shape {shape_text(a)}, got {shape_text(got.shape)}"
                + why,
                rule="unbroadcast",
            )

    for_all(ctx, _unbroadcast_cases(), judge, EXAMPLES)


@check(
    7,
    2,
    "unbroadcast is the adjoint of broadcasting: <g, broadcast(x)> = <unbroadcast(g), x>",
    hint="each entry of x was used once per copy; its gradient is the sum over its copies.",
)
def adjoint(ctx):
    def judge(cases):
        for (a, g, x), result in zip(cases, _unbroadcast(ctx, cases)):
            got = _returned(result, a, g)
            want = torch_unbroadcast(g, a)
            if allclose(got, want):
                continue
            left = float(np.sum(g * np.broadcast_to(x, g.shape)))
            if isinstance(got, str) or got.shape != want.shape:
                right = f"not defined: the shape is {got if isinstance(got, str) else got.shape}"
            else:
                right = f"{float(np.sum(got * x)):.6g}"
            raise Fail(
                f"{_called(a, g)} is wrong: for x drawn of shape {shape_text(a)}, "
                f"<g, broadcast(x)> = {left:.6g} but <unbroadcast(g), x> = {right}\n"
                f"    expected (PyTorch): {show(want, 24)}\n    yours:              "
                f"{got if isinstance(got, str) else show(got, 24)}\n    g: {show(g, 7)}",
                rule="unbroadcast",
            )

    for_all(ctx, _unbroadcast_cases(), judge, EXAMPLES)


@check(
    7,
    1,
    "unbroadcast to a scalar and to the same shape; grad left unchanged",
    hint="to (): the sum of every entry; to grad's own shape: grad itself. Never write into grad.",
)
def unbroadcast_edges(ctx):
    def judge(cases):
        cases = [(a, g, x) for a, g, x in cases] + [((), g, x) for _, g, x in cases[:4]]
        cases += [(g.shape, g, g) for _, g, _ in cases[:4]]
        for (a, g, _), result in zip(cases, _unbroadcast(ctx, cases)):
            got, want = _returned(result, a, g), torch_unbroadcast(g, a)
            if result.get("changed"):
                raise Fail(
                    f"{_called(a, g)} changed the grad array it was given (in place): sum into "
                    "a new array; grad may be another node's grad",
                    rule="unbroadcast",
                )
            if not allclose(got, want):
                shown = (
                    got if isinstance(got, str) else f"shape {shape_text(got.shape)} {show(got, 8)}"
                )
                raise Fail(
                    f"{_called(a, g)}: expected shape {shape_text(want.shape)} {show(want, 8)}, "
                    f"got {shown}",
                    rule="unbroadcast",
                )

    for_all(ctx, _unbroadcast_cases(6), judge, EXAMPLES)
