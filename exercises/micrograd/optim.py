"""Stochastic gradient descent with a learning-rate schedule."""


def linear_decay(start=1.0, end=0.1, steps=100):
    """micrograd's schedule: lr(k) = start - (start - end) * k / steps (1.0 - 0.9*k/100)."""
    return lambda k: start - (start - end) * k / steps


class SGD:
    def __init__(self, params, lr=0.1):
        """`lr` is a number, or a function of the step number k (a schedule)."""
        self.params = list(params)
        self.lr = lr

    def rate(self, k):
        return self.lr(k) if callable(self.lr) else self.lr

    def zero_grad(self):
        for p in self.params:
            p.grad = 0

    def step(self, k=0):
        # TODO exercise-5: SGD.step
        # One step of gradient descent at step number k: move every parameter's data
        # against its gradient, by the rate self.rate(k). Change p.data, never p
        # itself: the model holds these very Value objects.
        raise NotImplementedError("exercise-5: SGD.step")
