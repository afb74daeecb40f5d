"""An instructor's extra checks: graded like the kit's own, kept out of the students' kit.

    grade batch submissions/ --extra-checks examples/extra-checks
    grade all --submission alice.zip --extra-checks examples/extra-checks

Each check is a function of a Context, declared with @check beside its points. Build the
expression as a list of nodes (["x", i] is input i; ["add", j, k] adds nodes j and k; see
grader/checks/expressions.py for every operation) and let judge_expression compare the student's
gradients with PyTorch's, node by node, naming the rule at fault.
"""

from grader.checks.checking import Expression, check, judge_expression


@check(
    exercise=1,
    points=2,
    name="extra: a sum of three inputs, one used twice",
    hint="each use of a node adds its share to .grad with +=",
)
def sum_of_three(ctx):
    # (x0 + x1) + x0 * x2: d/dx0 = 1 + x2, d/dx1 = 1, d/dx2 = x0
    nodes = [["x", 0], ["x", 1], ["x", 2], ["add", 0, 1], ["mul", 0, 2], ["add", 3, 4]]
    judge_expression(ctx, Expression.of(nodes, [1.5, -2.0, 0.25]), upstream=-0.5)
