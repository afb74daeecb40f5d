"""exercise-5: the hinge loss, L2, the SGD step, the training step; then training on moons."""

from grader.checking import check

# placeholder until the moons check lands
