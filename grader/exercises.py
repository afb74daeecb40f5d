"""The course's exercises, number -> title: a leaf every part of the grader may read.

Kept apart from the checks so that the reports, the front ends and the class's page can name
the exercises without importing what judges them.
"""

EXERCISES = {
    0: "Slopes and gradient checks",
    1: "The chain rule for + and *",
    2: "Powers, quotients and functions of one input",
    3: "backward(): the whole graph",
    4: "Neurons, layers and the MLP",
    5: "Training on two moons",
    6: "Mean squared error and minibatches",
    # part two: the Tensor engine (reference/micrograd/tensor.py, tensor_nn.py, tensor_train.py,
    # conv.py)
    7: "Broadcasting: result shapes and unbroadcast",
    8: "Tensor rules: elementwise, reductions, reshape, transpose; backward()",
    9: "Matrix products",
    10: "Log-softmax and cross-entropy",
    11: "Linear layers, the MLP and SGD with momentum",
    12: "Training on handwritten digits",
    13: "Convolution and max-pooling",
}
