"""exercise-0: slopes by finite differences, and a gradient check (micrograd/gradcheck.py).

The student's functions run in the worker on a function the grader describes: a sum of
monomials and one exponential, with coefficients and points drawn from the course's secret
(ctx.rng, as every check's), so the answers cannot be written down in advance. The grader
knows the exact derivative of that function, and computes every expected number itself.
"""

from __future__ import annotations

import math
import random

from grader.checks.checking import Fail, check, close, fmt
from grader.sandbox import finite

EPS = 2.220446049250313e-16  # the gap between 1.0 and the next float
STEP_REL = 1e-7  # what a well-chosen h gives on the functions below


class Function:
    """f(xs) = sum_k c_k * prod_j xs[j]**p_kj + d * exp(sum_j e_j * xs[j]), exactly known."""

    def __init__(self, terms: list[tuple[float, list[int]]], d: float, es: list[float]):
        self.terms, self.d, self.es = terms, d, es

    @staticmethod
    def draw(rng: random.Random, inputs: int) -> Function:
        # a cubic in each input, one cross term, and an exponential: curved in every
        # direction (f''' is not 0), with values of order 1 near the points drawn below
        terms = []
        for j in range(inputs):
            for p in (1, 2, 3):
                powers = [0] * inputs
                powers[j] = p
                terms.append((round(rng.uniform(-2, 2), 3), powers))
        if inputs > 1:
            terms.append((round(rng.uniform(-1, 1), 3), [1, 1] + [0] * (inputs - 2)))
        es = [round(rng.uniform(-1, 1), 3) for _ in range(inputs)]
        return Function(terms, round(rng.uniform(0.5, 1.5), 3), es)

    def __call__(self, xs: list[float]) -> float:
        total = self.d * math.exp(sum(e * x for e, x in zip(self.es, xs)))
        for c, powers in self.terms:
            total += c * math.prod(x**p for x, p in zip(xs, powers))
        return total

    def gradient(self, xs: list[float]) -> list[float]:
        e = self.d * math.exp(sum(e * x for e, x in zip(self.es, xs)))
        grad = [e * ej for ej in self.es]
        for c, powers in self.terms:
            for j, p in enumerate(powers):
                if p:
                    rest = math.prod(x**q for k, (x, q) in enumerate(zip(xs, powers)) if k != j)
                    grad[j] += c * p * xs[j] ** (p - 1) * rest
        return grad

    def text(self) -> str:
        names = [f"x{j}" for j in range(len(self.es))] if len(self.es) > 1 else ["x"]
        parts = []
        for c, powers in self.terms:
            mono = "*".join(n if p == 1 else f"{n}**{p}" for n, p in zip(names, powers) if p)
            parts.append(f"{c:g}*{mono}")
        exponent = " + ".join(f"{e:g}*{n}" for e, n in zip(self.es, names))
        parts.append(f"{self.d:g}*exp({exponent})")
        return " + ".join(parts).replace("+ -", "- ")

    def payload(self) -> dict:
        return {"terms": [[c, p] for c, p in self.terms], "exp": [self.d, self.es]}


def call(ctx, f: Function, function: str, **args: object) -> dict:
    return ctx.sandbox.request("slopes", function=function, args=args, **f.payload())


def result(reply: dict, what: str, count: int | None = None) -> float | list[float]:
    """The reply's result as a finite number (or `count` of them), or a Fail saying what came."""
    got = reply.get("result")
    values = finite(got if count is not None else [got], count)
    if values is None:
        raise Fail(f"{what} returned {got!r}: expected {count or 'a'} finite number(s)")
    return values if count is not None else values[0]


def forward(f: Function, x: float, h: float) -> float:
    return (f([x + h]) - f([x])) / h


def central(f: Function, x: float, h: float) -> float:
    return (f([x + h]) - f([x - h])) / (2 * h)


def symptom(got: float, candidates: dict[str, float]) -> str:
    """Which known wrong formula the student's number matches, if one does."""
    for name, value in candidates.items():
        if close(got, value, rel=1e-9, abs_=1e-12):
            return f" That is {name}."
    return ""


@check(0, 1, "forward difference")
def forward_difference(ctx):
    rng = ctx.rng
    f = Function.draw(rng, 1)
    for h in (0.1, 0.01, 1e-4):
        x = round(rng.uniform(-1.5, 1.5), 4)
        got = result(call(ctx, f, "forward_difference", x=x, h=h), "forward_difference")
        want = forward(f, x, h)
        if not close(got, want, rel=1e-9, abs_=1e-12):
            known = {
                "the central difference": central(f, x, h),
                "the backward difference (f(x) - f(x - h)) / h": -forward(f, x, -h),
                "f's exact derivative, not an estimate from two values": f.gradient([x])[0],
            }
            raise Fail(
                f"forward_difference(f, {fmt(x)}, {h:g}) with f(x) = {f.text()}: expected "
                f"{fmt(want)}, got {fmt(got)}.{symptom(got, known)}"
            )


@check(0, 1, "central difference")
def central_difference(ctx):
    rng = ctx.rng
    f = Function.draw(rng, 1)
    for h in (0.1, 0.01, 1e-4):
        x = round(rng.uniform(-1.5, 1.5), 4)
        got = result(call(ctx, f, "central_difference", x=x, h=h), "central_difference")
        want = central(f, x, h)
        if not close(got, want, rel=1e-9, abs_=1e-12):
            known = {
                "the forward difference": forward(f, x, h),
                "the central difference with the wrong sign": -want,
                "the difference divided by h instead of 2h": 2 * want,
                "the difference divided by 4h": want / 2,
            }
            raise Fail(
                f"central_difference(f, {fmt(x)}, {h:g}) with f(x) = {f.text()}: expected "
                f"{fmt(want)}, got {fmt(got)}.{symptom(got, known)}"
            )


@check(0, 1, "relative error")
def relative_error(ctx):
    rng = ctx.rng
    f = Function([], 0.0, [])  # no function is needed here
    pairs = [(0.0, 0.0), (0.0, round(rng.uniform(0.1, 1), 4))]
    for scale in (1e-3, 1.0, 1e3):
        a = round(rng.uniform(0.5, 2), 4) * scale
        pairs.append((a, a * (1 + rng.choice([-1, 1]) * rng.uniform(1e-4, 1e-2))))
    a = round(rng.uniform(0.5, 2), 4)
    pairs.append((a, -a * rng.uniform(1.2, 2)))  # opposite signs, the negative one larger
    pairs.append((-a, -a * rng.uniform(1.2, 2)))  # both negative: sizes are absolute values
    for a, b in pairs:
        got = result(call(ctx, f, "relative_error", a=a, b=b), "relative_error")
        scale = max(abs(a), abs(b))
        want = 0.0 if scale == 0 else abs(a - b) / scale
        if not close(got, want, rel=1e-9, abs_=1e-15):
            known = {
                "the absolute error |a - b|, not relative to the size of a and b": abs(a - b),
                "relative to |a| alone": abs(a - b) / abs(a) if a else math.inf,
                "relative to |b| alone": abs(a - b) / abs(b) if b else math.inf,
                "relative to |a| + |b|": abs(a - b) / (abs(a) + abs(b)) if scale else math.inf,
                "a - b without the absolute value": (a - b) / scale if scale else math.inf,
            }
            raise Fail(
                f"relative_error({fmt(a)}, {fmt(b)}): expected {fmt(want)}, got {fmt(got)}."
                f"{symptom(got, known)}"
            )


def step_error(h: float, functions: list[tuple[Function, float]]) -> float:
    """The worst relative error of the central difference with step h on these functions."""
    worst = 0.0
    for f, x in functions:
        exact = f.gradient([x])[0]
        # relative to the derivative, or to 1 where the slope is nearly flat
        worst = max(worst, abs(central(f, x, h) - exact) / max(abs(exact), 1.0))
    return worst


@check(0, 1, "a step h that balances truncation and rounding")
def good_step(ctx):
    rng = ctx.rng
    functions = [(Function.draw(rng, 1), round(rng.uniform(-1, 1), 4)) for _ in range(4)]
    h = result(ctx.sandbox.request("slopes", function="good_step"), "good_step()")
    if not 0 < h < 1:
        raise Fail(f"good_step() returned {fmt(h)}: a step must be a small positive number")
    err = step_error(h, functions)
    if err <= STEP_REL:
        return None
    bigger, smaller = step_error(h * 10, functions), step_error(h / 10, functions)
    if smaller < err:
        why = (
            f"h is too large: the truncation error (about h**2) dominates; with h = "
            f"{h / 10:g} the error is {smaller:.1e}"
        )
    elif bigger < err:
        why = (
            f"h is too small: the rounding error (about {EPS:.1e} / h) dominates; with h = "
            f"{h * 10:g} the error is {bigger:.1e}"
        )
    else:
        why = "neither a larger nor a smaller h helps: is good_step() what you meant?"
    raise Fail(
        f"with h = {h:g} the central difference is off by a relative {err:.1e} on smooth "
        f"functions of size 1, more than {STEP_REL:g}: {why}"
    )


@check(0, 2, "numerical gradient of a function of several inputs")
def numerical_gradient(ctx):
    rng = ctx.rng
    for inputs, h in ((3, 1e-4), (2, None)):
        f = Function.draw(rng, inputs)
        xs = [round(rng.uniform(-1, 1), 4) for _ in range(inputs)]
        args = {"xs": xs} if h is None else {"xs": xs, "h": h}
        reply = call(ctx, f, "numerical_gradient", **args)
        got = result(reply, "numerical_gradient", inputs)
        after = finite(reply.get("xs_after"), inputs)
        # moving xs[i] and moving it back may leave a rounding error: that is no change
        if after is None or not all(close(a, x, rel=1e-12, abs_=1e-12) for a, x in zip(after, xs)):
            raise Fail(
                f"numerical_gradient(f, {xs}) changed the list it was given, to "
                f"{reply.get('xs_after')}: move a copy, the caller's xs must stay as they were"
            )
        if h is None:
            step = result(ctx.sandbox.request("slopes", function="good_step"), "good_step()")
            want = [_central_at(f, xs, j, step) for j in range(inputs)]
            rel, how = 1e-6, f"with h = good_step() = {step:g}, as h was not given"
        else:
            want = [_central_at(f, xs, j, h) for j in range(inputs)]
            rel, how = 1e-8, f"with h = {h:g}"
        exact = f.gradient(xs)
        for j in range(inputs):
            if not close(got[j], want[j], rel=rel, abs_=1e-9):
                fwd = (f(_moved(xs, j, h or 1e-5)) - f(xs)) / (h or 1e-5)
                known = {
                    "a forward difference, not a central one": fwd,
                    "the central difference with the wrong sign": -want[j],
                    "the derivative along another input": want[(j + 1) % inputs],
                }
                raise Fail(
                    f"numerical_gradient(f, {xs}) {how}, f(x) = {f.text()}: "
                    f"d/dx{j} expected {fmt(want[j])} (exactly {fmt(exact[j])}), "
                    f"got {fmt(got[j])}.{symptom(got[j], known)}"
                )


def _moved(xs: list[float], j: int, h: float) -> list[float]:
    out = list(xs)
    out[j] += h
    return out


def _central_at(f: Function, xs: list[float], j: int, h: float) -> float:
    return (f(_moved(xs, j, h)) - f(_moved(xs, j, -h))) / (2 * h)


@check(0, 2, "gradient check: a right gradient passes, a wrong one is measured")
def gradient_check(ctx):
    rng = ctx.rng
    f = Function.draw(rng, 3)
    xs = [round(rng.uniform(-1, 1), 4) for _ in range(3)]
    exact = f.gradient(xs)
    got = result(call(ctx, f, "gradient_check", xs=xs, grads=exact), "gradient_check")
    if not 0 <= got <= 1e-6:
        raise Fail(
            f"gradient_check(f, {xs}, grads) with the exact gradient {[fmt(g) for g in exact]} "
            f"of f(x) = {f.text()}: expected a relative error near 0 (below 1e-6), got "
            f"{fmt(got)}. Do numerical_gradient and good_step pass their checks?"
        )
    k = rng.randrange(3)
    for wrong_by in (rng.uniform(0.05, 0.3), -1.0):  # a bit off, then the sign flipped
        grads = list(exact)
        grads[k] = exact[k] * (1 + wrong_by) if wrong_by != -1.0 else -exact[k]
        want = abs(grads[k] - exact[k]) / max(abs(grads[k]), abs(exact[k]))
        args = {"xs": xs, "grads": grads, "h": 1e-5}
        got = result(call(ctx, f, "gradient_check", **args), "gradient_check")
        if not close(got, want, rel=1e-4, abs_=1e-7):
            known = {"the absolute error, not the relative one": abs(grads[k] - exact[k])}
            if 0 <= got <= 1e-6:
                known = {"an error near 0: the smallest of the errors, not the largest": got}
            raise Fail(
                f"gradient_check(f, {xs}, {[fmt(g) for g in grads]}, h=1e-5), where d/dx{k} "
                f"is wrong (exactly {fmt(exact[k])}), f(x) = {f.text()}: expected the "
                f"largest relative error, {fmt(want)}, got {fmt(got)}.{symptom(got, known)}"
            )
