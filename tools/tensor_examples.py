"""Part two's examples for tools/generate_course.py: the small Tensor expression each notebook
and page draws (each box a tensor's shape and first entries), and the pictures a notebook shows
after the page's main code (the digits' weights, confusion matrix and mistakes)."""

BROADCAST = """\
from micrograd.tensor import unbroadcast

x = Tensor(np.arange(6.0).reshape(2, 3), label="x")
b = Tensor([10.0, 20.0, 30.0], label="b")
c = Tensor([[2.0], [-1.0]], label="c")
y = x + b; y.label = "y"          # (2, 3) + (3,)   -> (2, 3)
out = y * c; out.label = "out"    # (2, 3) * (2, 1) -> (2, 3)
display(draw_dot(out))  # before any gradient
"""
BROADCAST_BY_HAND = """\
# + and * backward are exercise 8: here their four lines by hand, with your unbroadcast
out.grad = np.ones(out.shape)
y.grad += unbroadcast(c.data * out.grad, y.shape)
c.grad += unbroadcast(y.data * out.grad, c.shape)
x.grad += unbroadcast(y.grad, x.shape)
b.grad += unbroadcast(y.grad, b.shape)
draw_dot(out)
"""
ELEMENTWISE = """\
x = Tensor([[1.0, -2.0, 3.0], [-1.0, 0.5, 2.0]], label="x")
w = Tensor([0.5, -1.0, 2.0], label="w")
h = (x * w).relu(); h.label = "h"    # (2, 3) * (3,) -> (2, 3)
s = h.sum(axis=1); s.label = "s"     # (2,)
L = (s**2).mean(); L.label = "L"     # ()
display(draw_dot(L))  # before any gradient
"""
MATMUL = """\
X = Tensor(np.linspace(-1.0, 1.0, 8).reshape(4, 2), label="X")
W = Tensor([[1.0, -1.0, 0.5], [0.5, 2.0, -1.0]], label="W")
b = Tensor([0.1, 0.0, -0.1], label="b")
z = X @ W; z.label = "z"              # (4, 2) @ (2, 3) -> (4, 3)
h = (z + b).tanh(); h.label = "h"     # (4, 3)
L = h.sum(); L.label = "L"            # ()
display(draw_dot(L))  # before any gradient
"""
SOFTMAX = """\
from micrograd.tensor import cross_entropy

X = Tensor(np.linspace(-1.0, 1.0, 8).reshape(4, 2), label="X")
W = Tensor([[1.0, -1.0, 0.5], [0.5, 2.0, -1.0]], label="W")
logits = X @ W; logits.label = "logits"                  # (4, 3)
loss = cross_entropy(logits, [0, 2, 1, 2]); loss.label = "loss"
display(draw_dot(loss))  # before any gradient
"""
TENSOR_MLP = """\
from micrograd.tensor import cross_entropy
from micrograd.tensor_nn import MLP

{data}
net = MLP({nin}, [{hidden}, {nout}], np.random.default_rng(0))
for name, p in zip(["W1", "b1", "W2", "b2"], net.parameters()):
    p.label = name
loss = cross_entropy(net(x), labels); loss.label = "loss"
display(draw_dot(loss))  # before any gradient
"""
CONV = """\
from micrograd.conv import conv2d, max_pool2d

rng = np.random.default_rng(0)
x = rng.normal(size=(2, 1, 6, 6))   # 2 images, 1 channel, 6x6: plain data, no grad
w = Tensor(rng.normal(size=(4, 1, 3, 3)), label="w")
b = Tensor(np.zeros(4), label="b")
h = conv2d(x, w, b, padding=1).relu(); h.label = "h"   # (2, 4, 6, 6)
p = max_pool2d(h, 2); p.label = "p"                     # (2, 4, 3, 3)
L = p.mean(); L.label = "L"
display(draw_dot(L))  # before any gradient
"""
TENSOR_EXAMPLES = {
    7: {"draw": BROADCAST, "backprop": BROADCAST_BY_HAND},
    8: {"draw": ELEMENTWISE, "backprop": "L.backward()\ndraw_dot(L)\n"},
    9: {"draw": MATMUL, "backprop": "L.backward()\ndraw_dot(L)\n"},
    10: {"draw": SOFTMAX, "backprop": "loss.backward()\ndraw_dot(loss)\n"},
    11: {
        "draw": TENSOR_MLP.format(
            nin=4,
            hidden=5,
            nout=3,
            data="x = np.linspace(-1.0, 1.0, 24).reshape(6, 4)   # 6 rows of 4 features: "
            "plain data\nlabels = [0, 1, 2, 0, 1, 2]",
        ),
        "backprop": "loss.backward()\ndraw_dot(loss)\n",
    },
    12: {
        "draw": TENSOR_MLP.format(
            nin=64,
            hidden=64,
            nout=10,
            data="from micrograd.data import load_digits\n\n"
            "images, digits = load_digits()\n"
            "x, labels = images[:32], digits[:32]   # one batch: 32 digits of 64 pixels",
        ),
        "backprop": "loss.backward()\ndraw_dot(loss)\n",
    },
    13: {"draw": CONV, "backprop": "L.backward()\ndraw_dot(L)\n"},
}

# Lines added to the page's main code cell: the pictures shown inline.
TENSOR_PICTURES = {
    11: [
        "plot_curves(history)",
        'plot_decision_boundary(score, X_test, y_test, title="held-out points")',
    ],
    12: [
        'plot_curves(history, xlabel="epoch", names=("training loss", "held-out accuracy"))',
        "plot_weights(model.layers[0].W.data)",
        "plot_confusion(y_test, predicted)",
        "plot_misclassified(X_test, y_test, predicted)",
    ],
    13: [
        'plot_images(net.conv.w.data[:, 0], signed=True, title="the 3x3 kernels")',
        "plot_confusion(y_test, predicted)",
        "plot_misclassified(X_test, y_test, predicted)",
    ],
}
