"""The sample format that authors write: checked when a samples.py is loaded."""

from __future__ import annotations

import pytest

from autograder.nb.sample import Sample, function_cell


def test_a_valid_sample_keeps_its_fails_frozen() -> None:
    s = Sample("sigma_as_variance", "mistake", "d", {"reparameterize": "..."}, {"test_reparameterize"})
    assert s.fails == frozenset({"test_reparameterize"}) and isinstance(s.fails, frozenset)
    assert Sample("keras_normal", "alternative", "d", {"reparameterize": "..."}).fails == frozenset()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad-Name"}, "use \\[a-z0-9_\\]\\+"),
        ({"name": "reference"}, "use"),
        ({"kind": "typo"}, "kind must be one of"),
        ({"kind": "alternative"}, "cannot fail tests"),
        ({"fails": set()}, "must name the tests it fails"),
        ({"answers": {}}, "no answers"),
    ],
)
def test_mistakes_in_a_sample_are_refused(kwargs: dict, message: str) -> None:
    good = {"name": "ok", "kind": "mistake", "description": "d", "answers": {"f": "x"}, "fails": {"test_f"}}
    with pytest.raises(ValueError, match=message):
        Sample(**{**good, **kwargs})


def test_function_cell() -> None:
    assert function_cell("f(a, b)", "a + b") == "def f(a, b):\n    return a + b\n"
    assert function_cell("f(a)", "return a") == "def f(a):\n    return a\n"
    assert function_cell("f(a)", "\ny = a * 2\nreturn y\n") == "def f(a):\n    y = a * 2\n    return y\n"
    namespace: dict = {}
    exec(function_cell("g(x)", "import math"), namespace)
    assert namespace["g"](1) is None
