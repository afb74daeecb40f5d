"""The hint ladders of part two (exercises 7-13): (nudge, formula) by the rule a failing check
names, as hints.py has them for part one. Kept apart because part two's rules share names with
part one's (`+`, `*`, `relu`) and their formulas differ: a tensor's + needs unbroadcast.
"""

from __future__ import annotations

FIRST = 7  # the first exercise of part two

RULES: dict[str, tuple[str, str]] = {
    "broadcast_shape": (
        "Pad the shorter shape with 1s on the left, then look at the sizes axis by axis: which "
        "pairs broadcast, and to what?",
        "Sizes n and n give n, 1 and n give n; any other pair raises ValueError.",
    ),
    "unbroadcast": (
        "Which axes of grad did the input not have, and along which did it have size 1? Each "
        "entry of the input was used once per copy.",
        "grad.sum(axis=leading axes), then .sum(axis=size-1 axes, keepdims=True): exactly the "
        "input's shape.",
    ),
    "+": (
        "out.grad has the result's shape; each input's grad must have the input's own shape.",
        "self.grad += unbroadcast(out.grad, self.data.shape); likewise for other.",
    ),
    "*": (
        "Each input's share is the other input's data times out.grad, then back to its shape.",
        "self.grad += unbroadcast(other.data * out.grad, self.data.shape); "
        "other.grad += unbroadcast(self.data * out.grad, other.data.shape).",
    ),
    "**": (
        "The power rule, entry by entry; the exponent is a plain number.",
        "self.grad += other * self.data ** (other - 1) * out.grad.",
    ),
    "exp": (
        "Which array did the forward pass already compute?",
        "self.grad += out.data * out.grad.",
    ),
    "log": ("d ln x / dx, entry by entry.", "self.grad += out.grad / self.data."),
    "tanh": (
        "Write the derivative with tanh(x) itself: out.data.",
        "(1 - out.data**2) * out.grad.",
    ),
    "relu": (
        "A mask of where the input is positive; at exactly 0 PyTorch uses 0.",
        "self.grad += (self.data > 0) * out.grad.",
    ),
    "sum": (
        "Each input entry was added into one output entry: its grad is that entry's out.grad. "
        "Without keepdims, out.grad lacks the reduced axes.",
        "self.grad += out.grad if keepdims else np.expand_dims(out.grad, axes) (broadcast).",
    ),
    "mean": (
        "A mean is a sum divided by how many entries were averaged into each output.",
        "n = self.data.size // out.data.size; the sum's gradient divided by n.",
    ),
    "max": (
        "Only the entries equal to their maximum move it; how do k tied entries share?",
        "mask = self.data == out.data (axes put back); self.grad += mask * g / mask.sum(axes, "
        "keepdims=True).",
    ),
    "reshape": ("Every entry moves unchanged.", "self.grad += out.grad.reshape(self.data.shape)."),
    "transpose": (
        "Axis i of out is axis axes[i] of self: which permutation takes out's axes back?",
        "self.grad += out.grad.transpose(np.argsort(axes)).",
    ),
    "a backward rule": (
        "A backward rule raised while backward() ran: the line named is in it. Which input's "
        "grad is it adding into, and what shape has the array it adds?",
        "The exercise of that rule (8-10 for tensor.py) grades it alone, naming its op, "
        "operand and shape: grade that exercise first.",
    ),
    "seed": (
        "What is d(out)/d(out) for each entry of out?",
        "self.grad = np.ones_like(self.data) before walking the graph.",
    ),
    "@": (
        "C = A @ B, C_ij = sum_k A_ik B_kj: which product of G with B has A's shape?",
        "dA = G @ B^T, dB = A^T @ G (swapaxes(-1, -2)), each unbroadcast over the batch axes.",
    ),
    "log_softmax": (
        "Each x_j moves every output of its row: through x_i itself and through the log-sum.",
        "self.grad += g - np.exp(out.data) * g.sum(axis=axis, keepdims=True).",
    ),
    "cross_entropy": (
        "For one row, d/dz_c of log sum e**z - z_y is softmax_c minus 1 at the label; and the "
        "loss is a mean over the N rows.",
        "d = probs.copy(); d[rows, labels] -= 1; logits.grad += d * (out.grad / n).",
    ),
    "linear": (
        "out = x @ W + b is exercise 9's product and exercise 7's broadcast in one node.",
        "W.grad += x^T @ g; b.grad += g.sum(axis=0); x.grad += g @ W^T when x is a Tensor.",
    ),
    "Linear.__init__": (
        "Read the draws' order on the page: which array first, which shape, which bound?",
        "bound = 1/sqrt(nin); W = Tensor(rng.uniform(-bound, bound, (nin, nout))); then b, "
        "size nout.",
    ),
    "MLP.__call__": (
        "Which layers are followed by a ReLU, and which is not?",
        "for layer in self.layers[:-1]: x = layer(x).relu(); return self.layers[-1](x).",
    ),
    "MLP.parameters": (
        "Layer by layer, each layer's W then b.",
        "[p for layer in self.layers for p in layer.parameters()].",
    ),
    "Module.zero_grad": ("Every parameter's grad, back to zeros.", "p.grad.fill(0.0) for each p."),
    "SGD.step": (
        "The velocity must outlive the step: change it in place, then move p against it.",
        "v *= momentum; v += p.grad; p.data -= lr * v.",
    ),
    "training step": (
        "Compare one step with the page: logits, loss, zero_grad, backward, step.",
        "loss = cross_entropy(model(X[idx]), y[idx]); zero_grad(); loss.backward(); step().",
    ),
    "batches": (
        "One draw of the rng for the whole epoch, then cut in order.",
        "order = rng.permutation(n); [order[i:i + batch_size] for i in range(0, n, batch_size)].",
    ),
    "accuracy": (
        "A row's prediction is its largest logit's index, along the classes' axis.",
        "float(np.mean(logits.argmax(axis=1) == y)).",
    ),
    "train_epoch": (
        "The batches in rng's order; each batch's loss kept before its step.",
        "for idx in batches(len(X), batch_size, rng): loss = cross_entropy(model(X[idx]), "
        "y[idx]); optimizer.zero_grad(); loss.backward(); optimizer.step(); "
        "losses.append(float(loss.data)).",
    ),
    "im2col": (
        "For a kernel offset (a, b), which rows and columns of the padded x does every output "
        "position read?",
        "cols[:, :, :, :, a, b] = xp[:, :, a:a + s*Ho:s, b:b + s*Wo:s].transpose(0, 2, 3, 1).",
    ),
    "col2im": (
        "Undo im2col's copies by adding them back; overlapping windows add up.",
        "xp[:, :, a:a + s*Ho:s, b:b + s*Wo:s] += cols[..., a, b].transpose(0, 3, 1, 2); cut "
        "the padding off.",
    ),
    "conv2d": (
        "y = cols @ Wm^T + b is a matrix product: exercise 9 gives its gradients; col2im takes "
        "d(cols) back to x.",
        "w.grad += (g^T @ cols).reshape(w.shape); b.grad += g.sum(0); "
        "x.grad += col2im(g @ Wm, x.shape, ...).",
    ),
    "max_pool2d": (
        "Each output is one entry of its window: the first maximum. Windows may overlap.",
        "for each offset (a, b): dxp[..., a:a + s*Ho:s, b:b + s*Wo:s] += (first_max == a*size "
        "+ b) * out.grad.",
    ),
}

# by "exercise-N: check name", for checks whose failures name no rule
CHECKS: dict[str, tuple[str, str]] = {}
TABLES = (CHECKS, RULES)
