"""Pictures: the computation graph of a Value, a classifier's decision boundary, training curves;
for part two, a Tensor's graph (each node's shape), digits and weights as images, a confusion
matrix.

graph_dot reads only .data, .grad, ._prev and ._op, so it draws any micrograd-like engine,
a student's included, Value or Tensor. matplotlib is imported inside the plotting functions,
so importing this module costs nothing where no plot is drawn.
"""

import base64
import io
import re
import shutil
import subprocess
import warnings
from pathlib import Path


def _fmt(x):
    # A student's engine may hold an int, or a broken grad (None): show it rather than fail.
    if hasattr(x, "shape") and hasattr(x, "ravel") and len(x.shape) > 0:
        return _fmt_array(x)
    try:
        return f"{x:.4f}"
    except (TypeError, ValueError):
        return repr(x)


def _fmt_array(x, shown=3):
    """A Tensor's data or grad in one short line: its shape first (a gradient of the wrong
    shape is the commonest tensor bug, so it must show), then its first entries."""
    flat = x.ravel()
    try:
        head = ", ".join(f"{float(v):.4g}" for v in flat[:shown])
    except (TypeError, ValueError):
        head = "?"
    more = ", …" if flat.shape[0] > shown else ""
    return f"{tuple(x.shape)}: {head}{more}"


def _shape(x):
    # an array's shape, "(32, 10)"; a number as itself; a text (what came instead) as it is
    if hasattr(x, "shape"):
        return str(tuple(x.shape))
    return x if isinstance(x, str) else _fmt(x)


def _wrapped(note, width=40):
    # a mark's note on lines of about `width` (graphviz's \n), so that its box stays narrow;
    # a shape, "(3, 4)", is never cut
    lines = [""]
    for word in re.findall(r"\([^()]*\)\S*|\S+", str(note)):
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}".lstrip()
    return "\\n".join(_escape(line) for line in lines)


def _escape(text):
    # Characters that structure a graphviz record label, and the quote that ends the string.
    for c in '\\"{}|<>':
        text = text.replace(c, "\\" + c)
    return text.replace("\n", " ")


def _children(v):
    prev = list(v._prev)
    if isinstance(v._prev, (set, frozenset)):
        # A set of Values iterates in an order that depends on memory addresses, so it changes
        # from run to run; sort by what can be seen, so that the drawing does not.
        prev.sort(key=lambda c: (str(c._op), _fmt(c.data)))
    return prev


def _nodes(root):
    """Every node of the graph, each once, the output first. A drawing needs no particular
    order, so this is a plain walk (no topological sort: that is exercise 3's to write)."""
    # Nodes are keyed by id(): a student's Value may define __eq__, and so not be hashable.
    found, seen, stack = [], {id(root)}, [root]
    while stack:
        v = stack.pop()
        found.append(v)
        # reversed, so that the first operand is visited (and numbered) first
        for c in reversed(_children(v)):
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    return found


ROW = 3  # inputs of one operation side by side at most; more are stacked in rows


def _stacked(v, rankdir):
    """Whether v's record label must be written so that its fields stack one above the
    other: a Tensor's (its arrays' lines are long), in a left-to-right drawing, where a
    record's top-level fields otherwise run across (braces turn a record's fields)."""
    return hasattr(v.data, "shape") and rankdir in ("LR", "RL")


def _fields(v, shapes):
    """The lines of v's box: its label, data and grad; with `shapes`, its label, op and
    shape on one line ("matmul (32, 10)"), and its grad's shape only where it differs."""
    label = getattr(v, "label", "")
    if not shapes:
        return ([str(label)] if label else []) + [f"data {_fmt(v.data)}", f"grad {_fmt(v.grad)}"]
    fields = [" ".join(str(t) for t in (label, v._op, _shape(v.data)) if t)]
    if getattr(v.grad, "shape", None) != getattr(v.data, "shape", None) or v.grad is None:
        fields.append(f"grad {_shape(v.grad)}")
    return fields


def graph_dot(root, mark=None, rankdir="TB", shapes=False):
    """Graphviz DOT source for the graph that computed `root`, as in micrograd's trace_graph.

    Each Value is a record box "label | data | grad" (label only if the node has one), each
    op an ellipse feeding its output's box. `mark` maps nodes to a note, e.g.
    {node: "expected grad 1.5729"}: those boxes are drawn red with the note added. (A list of
    (node, note) pairs does too, for nodes that are not hashable.)

    The graph grows downward (rankdir "TB", the output at the bottom), so that a long chain
    fits a notebook's column; an operation's leaf inputs beyond ROW go in rows above each
    other (a neuron's weights and inputs), so that wide layers do too. micrograd's own
    left-to-right drawing is rankdir="LR".

    shapes=True draws a Tensor's graph by shapes alone: one box a node, its op and its
    array's shape ("matmul (32, 10)"), its grad's shape only where that differs (the commonest
    tensor bug), no numbers: a large network at a glance.
    """
    pairs = mark.items() if hasattr(mark, "items") else (mark or ())
    marks = {id(n): text for n, text in pairs}
    nodes = _nodes(root)
    name = {id(v): f"v{i}" for i, v in enumerate(nodes)}
    lines = ["digraph G {", f"  rankdir={rankdir};"]
    if rankdir == "TB":
        lines.append("  nodesep=0.15; ranksep=0.3; node [fontsize=12];")
    for v in nodes:
        record = " | ".join(_escape(f) for f in _fields(v, shapes))
        style = ""
        if id(v) in marks:
            record += " | " + _wrapped(marks[id(v)])
            style = ", color=red, fontcolor=red, penwidth=2"
        if not _stacked(v, rankdir):  # a record's fields side by side
            record = f"{{ {record} }}"
        lines.append(f'  {name[id(v)]} [shape=record, label="{record}"{style}];')
        target = name[id(v)]
        # downward, the edges between computed nodes are kept straight (weighted), so that a
        # long chain runs down one column instead of drifting sideways
        spine = " [weight=8]" if rankdir == "TB" else ""
        if v._op and not shapes:  # (by shapes, the op is in the box)
            target = name[id(v)] + "op"
            lines.append(f'  {target} [shape=ellipse, label="{_escape(str(v._op))}"];')
            lines.append(f"  {target} -> {name[id(v)]}{spine};")
        # One edge per operand: with a tuple _prev, a * a draws two arrows from a, the two
        # uses that each add into a.grad.
        children = _children(v)
        for c in children:
            lines.append(f"  {name[id(c)]} -> {target}{spine if c._op else ''};")
        if rankdir == "TB":  # rows of leaves: each one ROW places after goes a rank lower
            leaves = list({id(c): c for c in children if not c._op}.values())
            for a, b in zip(leaves, leaves[ROW:]):
                lines.append(f"  {name[id(a)]} -> {name[id(b)]} [style=invis];")
    lines.append("}")
    return "\n".join(lines) + "\n"


COLUMN_PX = 880  # a notebook's output column, about; wider drawings are scaled down to it


def _fit(svg, width_px=COLUMN_PX):
    """The SVG scaled down to `width_px` wide where it is wider (its viewBox keeps the whole
    drawing); (svg, scale). Graphviz gives the size in points: 1 pt = 4/3 px."""
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if not m:
        return svg, 1.0
    width, height = float(m[1]) * 4 / 3, float(m[2]) * 4 / 3
    if width <= width_px:
        return svg, 1.0
    scale = width_px / width
    sized = f'<svg width="{width_px:.0f}px" height="{height * scale:.0f}px"'
    return svg[: m.start()] + sized + svg[m.end() :], scale


class Graph:
    """A graph drawing that Jupyter shows inline (as SVG, drawn by graphviz's `dot`).

    A drawing wider than a notebook's column is shown scaled down to fit it, with the full
    size one click away (under "full size"). Where `dot` is missing (apt-get install
    graphviz), or fails, it shows its DOT source instead; paste that into any graphviz
    viewer. `.write(path)` saves it.
    """

    def __init__(self, source):
        self.source = source
        self._svg = None

    def svg(self):
        """The SVG text, or None without a working `dot` (over 20 s on a huge graph counts)."""
        if self._svg is None and shutil.which("dot"):
            try:
                run = subprocess.run(
                    ["dot", "-Tsvg"],
                    input=self.source,
                    text=True,
                    check=True,
                    capture_output=True,
                    timeout=20,
                )
                self._svg = run.stdout
            except (OSError, subprocess.SubprocessError) as e:
                warnings.warn(f"dot failed ({e}); showing the DOT source instead", stacklevel=2)
        return self._svg

    def write(self, path):
        """Write the drawing to `path` with suffix .svg, or the DOT source with suffix .dot."""
        path = Path(path)
        svg = self.svg()
        out = path.with_suffix(".svg" if svg is not None else ".dot")
        out.write_text(svg if svg is not None else self.source)
        return out

    def _repr_svg_(self):
        svg = self.svg()
        return None if svg is None else _fit(svg)[0]

    def _repr_mimebundle_(self, include=None, exclude=None):
        svg = self.svg()
        if svg is None:
            note = (
                "graphviz's `dot` is missing (apt-get install graphviz); the graph as DOT source:"
            )
            return {"text/plain": f"{note}\n{self.source}"}
        fitted, scale = _fit(svg)
        bundle = {"image/svg+xml": fitted, "text/plain": "<graph: shown as SVG>"}
        if scale < 1:  # the whole graph in the column, and every label legible a click away
            data = base64.b64encode(svg.encode()).decode()
            bundle["text/html"] = (
                f"<div>{fitted}<details><summary>full size ({1 / scale:.1f}x)</summary>"
                f'<div style="overflow:auto;max-height:90vh">'
                f'<img src="data:image/svg+xml;base64,{data}" style="max-width:none"></div>'
                "</details></div>"
            )
        return bundle

    def __repr__(self):
        return f"<Graph of {self.source.count('shape=record')} values>"


def draw_dot(root, path=None, mark=None, rankdir="TB", shapes=False):
    """The graph that computed `root`, as in micrograd's lecture: `draw_dot(loss)` in a
    notebook cell shows it (growing downward; rankdir="LR" for micrograd's left to right).
    With `path`, write it there instead (see Graph.write) and return the path written.
    `mark`, `shapes` (a Tensor's graph by shapes alone): see graph_dot.
    """
    graph = Graph(graph_dot(root, mark, rankdir, shapes))
    return graph if path is None else graph.write(path)


class Picture:
    """A PNG that Jupyter shows inline; `.write(path)` saves it."""

    def __init__(self, png):
        self.png = png

    def _repr_png_(self):
        return self.png

    def write(self, path):
        Path(path).write_bytes(self.png)
        return Path(path)


def _figure(ncols=1):
    # A Figure drawn by the Agg canvas directly, not through pyplot: no window, and the
    # backend of a notebook that calls us is left as it was.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5 * ncols, 4), layout="tight")
    FigureCanvasAgg(fig)
    return fig


def _finish(fig, path):
    """Write the figure to `path` and return the path; without a path, a Picture to show."""
    if path is not None:
        fig.savefig(path, format="png")
        return Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return Picture(buffer.getvalue())


def plot_decision_boundary(predict, X, y, path=None, title=None, resolution=60):
    """The regions where predict(rows) > 0, with the points (X, y) on top, as a PNG written
    to `path` (returns the path) or, without one, a Picture a notebook shows.

    predict maps a list of [x1, x2] rows to a list of scores; it is called once, on a
    resolution x resolution grid spanning the data with a margin of 0.5. A model works too:
    its output for each row is the score.
    """
    import numpy as np

    if not callable(predict):
        raise TypeError("predict must be a function of a list of rows, or a model")
    X = np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.c_[xx.ravel(), yy.ravel()].tolist()
    scores = _scores(predict, grid)
    positive = np.asarray(scores, dtype=float).reshape(xx.shape) > 0
    fig = _figure()
    ax = fig.add_subplot()
    # explicit levels: a model that predicts one class everywhere still gets a picture
    colours = dict(cmap="Spectral", vmin=0, vmax=1)  # the same colour for a class and its region
    ax.contourf(xx, yy, positive.astype(float), levels=[-0.5, 0.5, 1.5], alpha=0.8, **colours)
    ax.scatter(
        X[:, 0], X[:, 1], c=(np.asarray(y) > 0).astype(float), s=30, edgecolors="k", **colours
    )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def _scores(predict, grid):
    """predict(grid) as numbers; a model (called on one row, giving a Value) works too."""
    if hasattr(predict, "parameters"):
        return [_number(s) for s in (predict(row) for row in grid)]
    return [_number(s) for s in predict(grid)]


def _number(s):
    # a Value's (or Tensor's) .data; a numpy number has a .data too, a memoryview: not that
    return float(s.data if hasattr(s, "_backward") else s)


def plot_curves(history, path=None, xlabel="step", names=("loss", "accuracy")):
    """Loss and accuracy against the step (or epoch) number; history is [(loss, accuracy),
    ...], `names` their titles (say, ("training loss", "held-out accuracy")). A PNG written
    to `path` (returns the path) or, without one, a Picture a notebook shows."""
    steps = range(len(history))
    fig = _figure(ncols=2)
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(steps, [loss for loss, _ in history])
    loss_ax.set(xlabel=xlabel, ylabel="loss", title=names[0])
    acc_ax.plot(steps, [acc for _, acc in history])
    acc_ax.set(xlabel=xlabel, ylabel="accuracy", title=names[1], ylim=(0, 1.05))
    return _finish(fig, path)


# -- part two: digits -------------------------------------------------------------------------


def plot_images(images, titles=None, path=None, cols=10, signed=False, title=None):
    """Square images in a grid: each row of `images` is one image, row by row (64 numbers for
    an 8x8 digit, 9 for a 3x3 kernel). signed=True (weights): blue below 0, red above, white
    at 0, on a scale shared by all; otherwise grey, black the largest. A Picture, or a PNG
    written to `path`."""
    import numpy as np

    images = np.asarray(images, dtype=float)
    images = images.reshape(len(images), -1)
    side = round(images.shape[1] ** 0.5)
    if side * side != images.shape[1]:
        raise ValueError(f"rows of {images.shape[1]} numbers are not square images")
    cols = max(1, min(cols, len(images)))
    rows = -(-len(images) // cols)
    fig = _figure()
    fig.set_size_inches(1.1 * cols, 1.2 * rows + (0.4 if title else 0))
    if signed:
        top = float(np.abs(images).max()) or 1.0
        colours = dict(cmap="RdBu_r", vmin=-top, vmax=top)
    else:
        colours = dict(cmap="gray_r", vmin=float(images.min()), vmax=float(images.max()))
    for i, image in enumerate(images):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(image.reshape(side, side), interpolation="nearest", **colours)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def plot_weights(W, path=None, cols=16, title="first layer's weights, one image per unit"):
    """A first layer's weights as images: W (pixels, units), as Linear stores it, one image
    per unit (column), of the pixels it weighs; red weighs a pixel up, blue down."""
    import numpy as np

    W = np.asarray(W, dtype=float)
    return plot_images(W.T, path=path, cols=cols, signed=True, title=title)


def plot_confusion(y, predicted, path=None, classes=10, title="held-out digits"):
    """The confusion matrix: row = the true label, column = the prediction, each cell a count;
    the diagonal is right. A Picture, or a PNG written to `path`."""
    import numpy as np

    counts = np.zeros((classes, classes), dtype=int)
    np.add.at(counts, (np.asarray(y), np.asarray(predicted)), 1)
    fig = _figure()
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues")
    for i in range(classes):
        for j in range(classes):
            if counts[i, j]:
                light = counts[i, j] > counts.max() / 2
                colour = "white" if light else "black"
                ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=8, color=colour)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set(xlabel="predicted", ylabel="true", xticks=range(classes), yticks=range(classes))
    ax.set_title(f"{title}: {accuracy:.1%} right")
    return _finish(fig, path)


def plot_misclassified(X, y, predicted, path=None, limit=30):
    """The first `limit` rows of X whose prediction is wrong, each titled "true→predicted"."""
    import numpy as np

    y, predicted = np.asarray(y), np.asarray(predicted)
    wrong = np.flatnonzero(y != predicted)[:limit]
    if len(wrong) == 0:
        return plot_images(np.zeros((1, np.shape(X)[1])), ["none wrong"], path=path)
    titles = [f"{y[i]}→{predicted[i]}" for i in wrong]
    title = f"{(y != predicted).sum()} misclassified of {len(y)} (true→predicted)"
    return plot_images(np.asarray(X)[wrong], titles, path=path, title=title)
