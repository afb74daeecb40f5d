"""Planted bugs of part two (the Tensor engine, exercises 7-13): each an edit of the reference
that a student could make, the check of its own exercise that must catch it, and what that
check's message must name: the op, the input, and the axis (or, for a rule that works entry by
entry and reduces no axis, the index of the first wrong entry). Plain data, no pytest:
tests/test_planted_tensor_bugs.py runs each named check under several course secrets.

tools/planted_bugs.py holds part one's table; the edits work the same way (apply_edits: each
`old` must occur exactly once in the reference file).
"""

from __future__ import annotations

from dataclasses import dataclass

# what a message must say, as regular expressions
AXIS = r"\baxis\b|\baxes\b"
INDEX = r"at index \(|index \("
OPERAND = (
    r"\((its input|the (left|right) operand|both operands|the input x|the kernel w|"
    r"the bias b|the weights W|the logits)"
)


@dataclass(frozen=True)
class TensorBug:
    exercise: int
    check: str  # the check's exact name
    edits: dict[str, list[tuple[str, str]]]
    op: str  # a regex: the op (or function) at fault, as the message names it
    input: str = OPERAND  # a regex: the input it names
    axis: str = AXIS  # a regex: the axis it names (INDEX for rules of one entry at a time)


def tensor(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {"tensor.py": list(edits)}


def nn(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {"tensor_nn.py": list(edits)}


def train(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {"tensor_train.py": list(edits)}


def conv(*edits: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {"conv.py": list(edits)}


BROADCAST = "exercise-7: broadcast_shape of shapes that broadcast, scalars among them"
CLASH = "broadcast_shape raises ValueError where numpy does"
UB_SHAPE = "unbroadcast returns exactly the input's shape"
UB_ADJOINT = "unbroadcast is the adjoint of broadcasting: <g, broadcast(x)> = <unbroadcast(g), x>"
ADD = "+ and - backward, with broadcasting"
MUL = "* and / backward, with broadcasting"
POW = "** backward, and a constant on either side (c + x, c * x, x * c, c / x, ...)"
UNARY = "exp, log and tanh backward"
RELU = "relu backward, 0 where the input is exactly 0 (as PyTorch)"
SUM = "sum backward, over any axes, with and without keepdims"
MEAN = "mean backward, over any axes, with and without keepdims"
MAX = "max backward: tied maxima share the gradient (torch.amax)"
SHAPE = "reshape and transpose backward"
TWICE = "an input used twice accumulates its grads (+=)"
MEMORY = "grads never share memory with data or another grad; no input or data changed"
BACKWARD = "backward(): seeds ones of the output's shape, runs each rule once, in topological order"
MM = "@ backward: 2-D matrices, gradients of both operands"
BATCHED = "@ backward: batches of matrices, the batch axes broadcast"
GRAPH = "@ in a graph through backward(): a weight used twice, a diamond"
LOG_SOFTMAX = "log_softmax backward, along any axis"
CE = "cross_entropy backward: (softmax - one-hot) / N, times out.grad"
LARGE = "logits of size 1e3 give finite gradients"
AGAIN = "a second backward pass gives the same gradients (saved arrays unchanged)"
LINEAR = "linear backward: W, b and x (when a Tensor), against PyTorch"
INIT = "Linear and MLP initialisation: W (nin, nout) then b, uniform in +-1/sqrt(nin), from rng"
MLP = "MLP: outputs and every parameter's gradient against PyTorch (ReLU between layers)"
ZERO = "zero_grad(): every parameter's grad back to zeros, of its shape"
SGD1 = "SGD with momentum: one step, parameter by parameter"
SGD10 = "SGD with momentum: ten steps equal PyTorch's, parameter by parameter"
BATCHES = "batches: one rng.permutation(n), cut from the front into batch_size pieces"
ACCURACY = "accuracy: the fraction of rows whose largest logit is at the label (ties: the first)"
EPOCH = "one seeded epoch on the digits: every batch's loss equals the reference's"
IM2COL = "im2col: each output position's window as a row, as torch's unfold"
COL2IM = "col2im: the adjoint of im2col, each entry the sum of its copies (torch's fold)"
CONV = "conv2d backward: x, w and b against PyTorch, shapes, strides and padding drawn"
POOL = "max_pool2d backward: the first maximum of each window gets its gradient (as torch)"

PAD = "a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)"
RAISE = (
    "        if p != q and p != 1 and q != 1:\n"
    '            raise ValueError(f"shapes {a} and {b} cannot be broadcast together")\n'
)
ADD_RULE = (
    "self.grad += unbroadcast(out.grad, self.data.shape)\n"
    "            other.grad += unbroadcast(out.grad, other.data.shape)"
)
MUL_OTHER = "other.grad += unbroadcast(self.data * out.grad, other.data.shape)"
SEED = "self.grad = np.ones_like(self.data)"
MM_A = "self.grad += unbroadcast(G @ B.swapaxes(-1, -2), A.shape).reshape(self.data.shape)"
MM_B = "other.grad += unbroadcast(A.swapaxes(-1, -2) @ G, B.shape).reshape(other.data.shape)"
LSM = "self.grad += g - np.exp(out.data) * g.sum(axis=axis, keepdims=True)"
VELOCITY = "            v *= self.momentum\n            v += p.grad\n"
IM2COL_LINES = (
    "            window = xp[:, :, a : a + stride * Ho : stride, b : b + stride * Wo : stride]\n"
    "            cols[:, :, :, :, a, b] = window.transpose(0, 2, 3, 1)"
)
COL2IM_ADD = "window += cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)"
POOL_ADD = "window += (first_max == a * size + b) * out.grad"

BC_CALL = r"broadcast_shape\(\("
UB_CALL = r"unbroadcast\(grad of shape"
PARAM = r"parameters\(\)\[\d\]|\b[Wb]\d\b"

MUTATIONS: list[tuple[str, TensorBug]] = [
    # -- exercise 7: broadcasting ----------------------------------------------------------------
    (
        "broadcast-shape-pads-on-the-right",
        TensorBug(
            7,
            BROADCAST.split(": ", 1)[1],
            tensor((PAD, "a, b = tuple(a) + (1,) * (n - len(a)), tuple(b) + (1,) * (n - len(b))")),
            "broadcast_shape",
            BC_CALL,
        ),
    ),
    (
        "broadcast-shape-keeps-the-first-size",
        TensorBug(
            7,
            BROADCAST.split(": ", 1)[1],
            tensor(("out.append(q if p == 1 else p)", "out.append(p)")),
            "broadcast_shape",
            BC_CALL,
        ),
    ),
    (
        "broadcast-shape-never-raises",
        TensorBug(7, CLASH, tensor((RAISE, "")), "broadcast_shape", BC_CALL),
    ),
    (
        "broadcast-shape-asserts-instead-of-raising",
        TensorBug(
            7,
            CLASH,
            tensor((RAISE, '        assert p == q or 1 in (p, q), "no broadcast"\n')),
            "broadcast_shape",
            BC_CALL,
        ),
    ),
    (
        "unbroadcast-drops-keepdims",
        TensorBug(
            7,
            UB_SHAPE,
            tensor(("grad.sum(axis=repeated, keepdims=True)", "grad.sum(axis=repeated)")),
            "unbroadcast",
            UB_CALL,
        ),
    ),
    (
        "unbroadcast-keeps-the-leading-axes",
        TensorBug(
            7,
            UB_SHAPE,
            tensor(
                (
                    "grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))",
                    "grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))), keepdims=True)",
                )
            ),
            "unbroadcast",
            UB_CALL,
        ),
    ),
    (
        "unbroadcast-averages",
        TensorBug(
            7,
            UB_ADJOINT,
            tensor(
                (
                    "grad.sum(axis=repeated, keepdims=True)",
                    "grad.mean(axis=repeated, keepdims=True)",
                )
            ),
            "unbroadcast",
            UB_CALL,
        ),
    ),
    # -- exercise 8: the rules ---------------------------------------------------------------
    (
        "add-without-unbroadcast",
        TensorBug(
            8,
            ADD,
            tensor((ADD_RULE, "self.grad += out.grad\n            other.grad += out.grad")),
            "`\\+`",
        ),
    ),
    (
        "add-assigns-instead-of-accumulating",
        TensorBug(8, TWICE, tensor((ADD_RULE, ADD_RULE.replace("+=", "="))), "`\\+`"),
    ),
    (
        "mul-uses-its-own-data",
        TensorBug(
            8,
            MUL,
            tensor((MUL_OTHER, MUL_OTHER.replace("self.data * out.grad", "other.data * out.grad"))),
            "`\\*",
        ),
    ),
    (
        "mul-without-unbroadcast",
        TensorBug(
            8,
            MUL,
            tensor((MUL_OTHER, "other.grad += self.data * out.grad")),
            "`\\*",
        ),
    ),
    (
        "pow-exponent-not-lowered",
        TensorBug(
            8,
            POW,
            tensor(
                (
                    "other * self.data ** (other - 1) * out.grad",
                    "other * self.data**other * out.grad",
                )
            ),
            "`\\*\\*`",
            axis=INDEX,
        ),
    ),
    (
        "exp-uses-the-input",
        TensorBug(
            8,
            UNARY,
            tensor(("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")),
            "`exp`",
            axis=INDEX,
        ),
    ),
    (
        "log-multiplies",
        TensorBug(
            8,
            UNARY,
            tensor(("self.grad += out.grad / self.data", "self.grad += out.grad * self.data")),
            "`log`",
            axis=INDEX,
        ),
    ),
    (
        "tanh-uses-the-input",
        TensorBug(
            8,
            UNARY,
            tensor(("(1 - out.data**2) * out.grad", "(1 - self.data**2) * out.grad")),
            "`tanh`",
            axis=INDEX,
        ),
    ),
    (
        "relu-passes-at-zero",
        TensorBug(
            8,
            RELU,
            tensor(("(self.data > 0) * out.grad", "(self.data >= 0) * out.grad")),
            "`relu`",
            axis=INDEX,
        ),
    ),
    (
        "sum-without-expand-dims",
        TensorBug(
            8,
            SUM,
            tensor(
                (
                    "self.grad += out.grad if keepdims else np.expand_dims(out.grad, axes)",
                    "self.grad += out.grad",
                )
            ),
            "`sum`",
        ),
    ),
    (
        "sum-expands-even-with-keepdims",
        TensorBug(
            8,
            SUM,
            tensor(
                (
                    "self.grad += out.grad if keepdims else np.expand_dims(out.grad, axes)",
                    "self.grad += np.expand_dims(out.grad, axes)",
                )
            ),
            "`sum`",
        ),
    ),
    (
        "mean-not-divided",
        TensorBug(8, MEAN, tensor(("self.grad += g / n", "self.grad += g")), "`mean`"),
    ),
    (
        "mean-divides-by-every-entry",
        TensorBug(
            8,
            MEAN,
            tensor(("n = self.data.size // max(out.data.size, 1)", "n = self.data.size")),
            "`mean`",
        ),
    ),
    (
        "max-ties-each-get-the-whole-gradient",
        TensorBug(
            8,
            MAX,
            tensor(("mask * (g / mask.sum(axis=axes, keepdims=True))", "mask * g")),
            "`max`",
        ),
    ),
    (
        "max-ties-counted-over-every-axis",
        TensorBug(
            8,
            MAX,
            tensor(("mask * (g / mask.sum(axis=axes, keepdims=True))", "mask * (g / mask.sum())")),
            "`max`",
        ),
    ),
    (
        "max-keepdims-inverted",
        TensorBug(
            8, MAX, tensor(("            if not keepdims:", "            if keepdims:")), "`max`"
        ),
    ),
    (
        "transpose-without-the-inverse-permutation",
        TensorBug(
            8,
            SHAPE,
            tensor(("out.grad.transpose(np.argsort(axes))", "out.grad.transpose(axes)")),
            "`transpose`",
        ),
    ),
    (
        "reshape-grad-shares-out-grad",
        TensorBug(
            8,
            MEMORY,
            tensor(
                (
                    "self.grad += out.grad.reshape(self.data.shape)",
                    "self.grad = out.grad.reshape(self.data.shape)",
                )
            ),
            "`reshape`",
            axis="",
        ),
    ),
    (
        "exp-writes-into-out-data",
        TensorBug(
            8,
            MEMORY,
            tensor(
                (
                    "self.grad += out.data * out.grad",
                    "g = out.data\n            g *= out.grad\n            self.grad += g",
                )
            ),
            "`exp`",
            r"the data of",
            axis="",
        ),
    ),
    (
        "backward-seeds-a-single-one",
        TensorBug(
            8, BACKWARD, tensor((SEED, "self.grad = np.ones(1)")), "seed", r"output", r"shape"
        ),
    ),
    (
        "backward-in-topological-order-not-reversed",
        TensorBug(
            8,
            BACKWARD,
            tensor(("        for v in reversed(topo):\n", "        for v in topo:\n")),
            "backward|`",
        ),
    ),
    (
        "backward-visits-shared-nodes-twice",
        TensorBug(
            8,
            BACKWARD,
            tensor(("                visited.add(v)\n", "")),
            "backward|`",
        ),
    ),
    # -- exercise 9: matmul --------------------------------------------------------------------
    (
        "matmul-without-transposing-b",
        TensorBug(9, MM, tensor((MM_A, MM_A.replace("B.swapaxes(-1, -2)", "B"))), "`@`"),
    ),
    (
        "matmul-transposes-swapped",
        TensorBug(
            9,
            MM,
            tensor((MM_B, MM_B.replace("A.swapaxes(-1, -2) @ G", "G.swapaxes(-1, -2) @ A"))),
            "`@`",
        ),
    ),
    (
        "matmul-dot-T-on-batches",
        TensorBug(9, BATCHED, tensor((MM_A, MM_A.replace("B.swapaxes(-1, -2)", "B.T"))), "`@`"),
    ),
    (
        "matmul-batch-not-unbroadcast",
        TensorBug(
            9,
            BATCHED,
            tensor(
                (
                    MM_B,
                    "other.grad += (A.swapaxes(-1, -2) @ G).sum(axis=0).reshape(other.data.shape)",
                )
            ),
            "`@`",
        ),
    ),
    (
        "matmul-assigns-instead-of-accumulating",
        TensorBug(9, GRAPH, tensor((MM_B, MM_B.replace("+=", "=", 1))), "`@`", r"x\d"),
    ),
    # -- exercise 10: log-softmax and cross-entropy -----------------------------------------------
    (
        "log-softmax-without-the-sum",
        TensorBug(
            10, LOG_SOFTMAX, tensor((LSM, "self.grad += g - np.exp(out.data)")), "`log_softmax`"
        ),
    ),
    (
        "log-softmax-sum-on-the-last-axis",
        TensorBug(
            10,
            LOG_SOFTMAX,
            tensor((LSM, LSM.replace("g.sum(axis=axis,", "g.sum(axis=-1,"))),
            "`log_softmax`",
        ),
    ),
    (
        "softmax-without-the-max-subtracted",
        TensorBug(
            10,
            LARGE,
            tensor(
                (
                    LSM,
                    "e = np.exp(self.data)\n"
                    "            self.grad += g - e / e.sum(axis=axis, keepdims=True) * "
                    "g.sum(axis=axis, keepdims=True)",
                ),
                (
                    "d = probs.copy()",
                    "e = np.exp(logits.data)\n        d = e / e.sum(axis=1, keepdims=True)",
                ),
            ),
            "`(log_softmax|cross_entropy)`",
        ),
    ),
    (
        "cross-entropy-not-divided-by-n",
        TensorBug(
            10,
            CE,
            tensor(("logits.grad += d * (out.grad / n)", "logits.grad += d * out.grad")),
            "`cross_entropy`",
        ),
    ),
    (
        "cross-entropy-without-out-grad",
        TensorBug(
            10,
            CE,
            tensor(("logits.grad += d * (out.grad / n)", "logits.grad += d / n")),
            "`cross_entropy`",
        ),
    ),
    (
        "cross-entropy-changes-probs-in-place",
        TensorBug(
            10, AGAIN, tensor(("d = probs.copy()", "d = probs")), "`cross_entropy`", r"x\d", ""
        ),
    ),
    # -- exercise 11: Linear, MLP, SGD ---------------------------------------------------------
    (
        "linear-bias-averaged",
        TensorBug(
            11, LINEAR, nn(("b.grad += g.sum(axis=0)", "b.grad += g.mean(axis=0)")), "`linear`"
        ),
    ),
    (
        "linear-weights-transposed",
        TensorBug(
            11,
            LINEAR,
            nn(("W.grad += x_data.T @ g", "W.grad += (g.T @ x_data).reshape(W.data.shape)")),
            "`linear`",
        ),
    ),
    (
        "linear-forgets-x",
        TensorBug(
            11,
            LINEAR,
            nn(("        if isinstance(x, Tensor):\n            x.grad += g @ W.data.T\n", "")),
            "`linear`",
        ),
    ),
    (
        "init-draws-b-before-w",
        TensorBug(
            11,
            INIT,
            nn(
                (
                    "        self.W = Tensor(rng.uniform(-bound, bound, size=(nin, nout)))\n"
                    "        self.b = Tensor(rng.uniform(-bound, bound, size=nout))\n",
                    "        self.b = Tensor(rng.uniform(-bound, bound, size=nout))\n"
                    "        self.W = Tensor(rng.uniform(-bound, bound, size=(nin, nout)))\n",
                )
            ),
            "Linear|MLP",
            PARAM,
            r"index|shape",
        ),
    ),
    (
        "init-bound-one-over-nin",
        TensorBug(
            11,
            INIT,
            nn(("bound = 1.0 / np.sqrt(nin)", "bound = 1.0 / nin")),
            "Linear|MLP",
            PARAM,
            INDEX,
        ),
    ),
    (
        "mlp-relu-after-the-last-layer",
        TensorBug(
            11,
            MLP,
            nn(
                (
                    "        for layer in self.layers[:-1]:\n            x = layer(x).relu()\n"
                    "        return self.layers[-1](x)",
                    "        for layer in self.layers:\n            x = layer(x).relu()\n"
                    "        return x",
                )
            ),
            "MLP",
            r"x of shape",
            r"shape",
        ),
    ),
    (
        "zero-grad-forgotten",
        TensorBug(
            11,
            ZERO,
            nn(
                (
                    "        for p in self.parameters():\n            p.grad.fill(0.0)\n",
                    "        pass\n",
                )
            ),
            "zero_grad",
            PARAM,
            "shape",
        ),
    ),
    (
        "sgd-velocity-rebound",
        TensorBug(
            11,
            SGD10,
            nn((VELOCITY, "            v = self.momentum * v + p.grad\n")),
            "SGD",
            PARAM,
            INDEX,
        ),
    ),
    (
        "sgd-steps-uphill",
        TensorBug(
            11,
            SGD1,
            nn(("p.data -= self.lr * v", "p.data += self.lr * v")),
            "SGD",
            PARAM,
            INDEX,
        ),
    ),
    # -- exercise 12: the digits ----------------------------------------------------------------
    (
        "batches-drop-the-last-one",
        TensorBug(
            12,
            BATCHES,
            train(("range(0, n, batch_size)", "range(0, n - batch_size + 1, batch_size)")),
            "batches",
            r"batches\(\d+, \d+",
            "",
        ),
    ),
    (
        "batches-never-shuffled",
        TensorBug(
            12,
            BATCHES,
            train(("order = rng.permutation(n)", "order = np.arange(n)")),
            "batches",
            r"batches\(\d+, \d+",
            "",
        ),
    ),
    (
        "accuracy-ties-go-to-the-last",
        TensorBug(
            12,
            ACCURACY,
            train(
                (
                    "logits.argmax(axis=1) == y",
                    "(logits.shape[1] - 1 - logits[:, ::-1].argmax(axis=1)) == y",
                )
            ),
            "accuracy",
            r"logits of shape",
            AXIS,
        ),
    ),
    (
        "epoch-without-zero-grad",
        TensorBug(
            12,
            EPOCH,
            train(("        optimizer.zero_grad()\n", "")),
            "train_epoch",
            r"batch \d",
            "",
        ),
    ),
    (
        "epoch-steps-before-backward",
        TensorBug(
            12,
            EPOCH,
            train(
                (
                    "        loss.backward()\n        optimizer.step()\n",
                    "        optimizer.step()\n        loss.backward()\n",
                )
            ),
            "train_epoch",
            r"batch \d",
            "",
        ),
    ),
    # -- exercise 13: convolution and pooling ---------------------------------------------------
    (
        "im2col-ignores-the-stride",
        TensorBug(
            13,
            IM2COL,
            conv(
                (
                    IM2COL_LINES,
                    IM2COL_LINES.replace(
                        "a : a + stride * Ho : stride, b : b + stride * Wo : stride",
                        "a : a + Ho, b : b + Wo",
                    ),
                )
            ),
            "im2col",
            r"x of shape",
        ),
    ),
    (
        "im2col-reshapes-instead-of-transposing",
        TensorBug(
            13,
            IM2COL,
            conv(
                (
                    IM2COL_LINES,
                    IM2COL_LINES.replace(
                        "window.transpose(0, 2, 3, 1)", "window.reshape(N, Ho, Wo, C)"
                    ),
                )
            ),
            "im2col",
            r"x of shape",
        ),
    ),
    (
        "col2im-assigns-overlapping-windows",
        TensorBug(
            13,
            COL2IM,
            conv((COL2IM_ADD, "window[...] = cols[:, :, :, :, a, b].transpose(0, 3, 1, 2)")),
            "col2im",
            r"cols of shape",
            r"x index",
        ),
    ),
    (
        "col2im-keeps-the-padding-offset",
        TensorBug(
            13,
            COL2IM,
            conv(("    return xp[:, :, p : p + H, p : p + W]", "    return xp[:, :, :H, :W]")),
            "col2im",
            r"cols of shape",
            r"x index",
        ),
    ),
    (
        "conv-kernel-flipped",
        TensorBug(
            13,
            CONV,
            conv(("dcols = (g @ Wm)", "dcols = (g @ w.data[:, :, ::-1, ::-1].reshape(n_out, -1))")),
            "`conv2d`",
        ),
    ),
    (
        "conv-kernel-grad-transposed",
        TensorBug(
            13,
            CONV,
            conv(
                (
                    "w.grad += (g.T @ cols.reshape(g.shape[0], -1)).reshape(w.data.shape)",
                    "w.grad += (cols.reshape(g.shape[0], -1).T @ g).reshape(w.data.shape)",
                )
            ),
            "`conv2d`",
        ),
    ),
    (
        "conv-bias-averaged",
        TensorBug(
            13, CONV, conv(("b.grad += g.sum(axis=0)", "b.grad += g.mean(axis=0)")), "`conv2d`"
        ),
    ),
    (
        "pool-ties-all-get-the-gradient",
        TensorBug(
            13,
            POOL,
            conv(
                (
                    POOL_ADD,
                    "window += (xp[:, :, a : a + stride * Ho : stride, b : b + stride * Wo : "
                    "stride] == out.data) * out.grad",
                )
            ),
            "`max_pool2d`",
        ),
    ),
    (
        "pool-assigns-overlapping-windows",
        TensorBug(
            13,
            POOL,
            conv((POOL_ADD, "window[...] = (first_max == a * size + b) * out.grad")),
            "`max_pool2d`",
        ),
    ),
]
