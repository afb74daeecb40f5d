"""The grader of the micrograd course kit."""
