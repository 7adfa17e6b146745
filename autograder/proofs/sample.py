"""What ``autograder/samples/<a>/samples.py`` imports: the sample format (:mod:`autograder.nb.sample`)."""

from ..nb.sample import KINDS, NAME, RESERVED, Sample, function_cell

__all__ = ["KINDS", "NAME", "RESERVED", "Sample", "function_cell"]
