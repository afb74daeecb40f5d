"""The checks, one module per exercise; importing this package registers them all."""

from grader.checks import ex0, ex1, ex2, ex3, ex4, ex5, ex6  # noqa: F401
