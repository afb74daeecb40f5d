"""What is judged: the check declaration (checking.py), expressions and their strategies, the
torch models, the course secret, and one module per exercise. `grader.checks.registered`
imports every exercise's module, which registers its checks."""
