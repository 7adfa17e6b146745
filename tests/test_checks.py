"""vaecourse.checks: strict conversions, comparisons and the tamper-proofing of tests."""

from __future__ import annotations

import builtins
import math

import numpy as np
import pytest
from vaecourse import checks


class AlwaysEqual:
    """The classic cheat: equal to everything, convertible to anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __float__(self) -> float:
        return 1.0

    def __array__(self, dtype=None, copy=None):  # noqa: ANN001
        return np.ones(3)


class FloatSubclass(float):
    def __eq__(self, other: object) -> bool:
        return True


def test_to_numpy_accepts_numbers_arrays_and_lists() -> None:
    assert checks.to_numpy(2).dtype == np.float64
    assert checks.to_numpy(np.float32(1.5)) == 1.5
    out = checks.to_numpy([1, 2.5, np.int64(3)])
    assert out.tolist() == [1.0, 2.5, 3.0]
    arr = np.arange(4.0)
    copy = checks.to_numpy(arr)
    copy[0] = 99
    assert arr[0] == 0  # a copy, never the student's array


@pytest.mark.parametrize("cheat", [AlwaysEqual(), FloatSubclass(3.0), "1.0", None, {"a": 1}, object()])
def test_to_numpy_rejects_lookalikes(cheat: object) -> None:
    with pytest.raises(TypeError):
        checks.to_numpy(cheat, "answer")


def test_assert_close_compares_values_and_shapes() -> None:
    x = np.linspace(-1, 1, 7)
    checks.assert_close(x + 1e-9, x)
    with pytest.raises(AssertionError, match="differs"):
        checks.assert_close(x + 1e-3, x)
    with pytest.raises(AssertionError, match="shape"):
        checks.assert_close(x[:-1], x)
    with pytest.raises(AssertionError, match="NaN"):
        checks.assert_close(np.full(3, np.nan), np.zeros(3))
    with pytest.raises(AssertionError, match="NaN or infinite"):
        checks.assert_close(np.array([np.inf]), np.array([np.inf]))
    with pytest.raises(TypeError):
        checks.assert_close(AlwaysEqual(), x)


def test_assert_shape() -> None:
    checks.assert_shape(np.zeros((2, 3)), (2, 3))
    with pytest.raises(AssertionError, match=r"\(3, 2\)"):
        checks.assert_shape(np.zeros((3, 2)), (2, 3), "z")


def test_assert_equal_and_in_are_strict() -> None:
    checks.assert_equal("B", "B")
    checks.assert_equal(3, 3)
    checks.assert_equal(np.int64(3), 3)
    for wrong in ("b", "B ", ["B"], AlwaysEqual(), FloatSubclass(1.0)):
        with pytest.raises((AssertionError, TypeError)):
            checks.assert_equal(wrong, "B")
    with pytest.raises(AssertionError):
        checks.assert_equal(1, "1")
    checks.assert_in("A", ("A", "B"))
    with pytest.raises(AssertionError, match="one of"):
        checks.assert_in("C", ("A", "B"))
    with pytest.raises(TypeError):
        checks.assert_in(AlwaysEqual(), ("A", "B"))


class StrSubclass(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize(
    ("answer", "multiple", "letters"),
    [("b", False, "B"), (" B. ", False, "B"), (["c"], False, "C"), ("A, D", True, "AD"),
     ("da", True, "AD"), ({"D", "a"}, True, "AD"), (("B", "b"), False, "B"), ("c", True, "C"),
     (StrSubclass("b"), False, "B")],
)
def test_choice_letters_normalizes(answer: object, multiple: bool, letters: str) -> None:
    out = checks.choice_letters(answer, "ABCD", multiple=multiple)
    assert type(out) is str and out == letters


@pytest.mark.parametrize(
    ("answer", "multiple"),
    [("", False), ("AB", False), ("E", False), ("E", True), ("A or B", False), ("", True),
     (None, False), (1, False), (AlwaysEqual(), False), ([1, 2], True)],
)
def test_choice_letters_rejects_malformed(answer: object, multiple: bool) -> None:
    with pytest.raises(AssertionError, match="ANSWER_X should be"):
        checks.choice_letters(answer, "ABCD", multiple=multiple, name="ANSWER_X")


def test_choice_letters_result_cannot_fake_equality() -> None:
    """A str subclass whose __eq__ is always true comes back as a plain str that compares honestly."""
    assert checks.choice_letters(StrSubclass("a")) != "B"
    assert checks.choice_letters("abcde", "ABCDE", multiple=True) == "ABCDE"


def test_assert_all_needs_real_booleans() -> None:
    checks.assert_all(checks.to_numpy([1.0, 2.0]) > 0, "positive")
    with pytest.raises(AssertionError, match="positive"):
        checks.assert_all(checks.to_numpy([1.0, -2.0]) > 0, "positive")
    with pytest.raises(TypeError):
        checks.assert_all(AlwaysEqual())
    checks.assert_all(True)
    with pytest.raises(AssertionError):
        checks.assert_all(False)


def test_assert_untampered_restores_what_was_replaced(capsys: pytest.CaptureFixture[str]) -> None:
    originals = (np.allclose, np.exp, np.testing.assert_allclose, builtins.isinstance, math.exp,
                 checks.assert_close)  # fmt: skip
    checks.refresh_snapshot()
    try:
        np.allclose = lambda *a, **k: True
        np.exp = lambda x: x
        np.testing.assert_allclose = lambda *a, **k: None
        builtins.isinstance = lambda *a, **k: True
        math.exp = lambda x: 0.0
        checks.assert_close = lambda *a, **k: None
        restored = checks.assert_untampered()
        assert set(restored) >= {
            "numpy.allclose", "numpy.exp", "numpy.testing.assert_allclose", "builtins.isinstance",
            "math.exp", "vaecourse.checks.assert_close",
        }  # fmt: skip
        now = (np.allclose, np.exp, np.testing.assert_allclose, builtins.isinstance, math.exp,
               checks.assert_close)  # fmt: skip
        assert all(a is b for a, b in zip(now, originals, strict=True))
        assert "restored" in capsys.readouterr().out
        # and the restored comparison is honest again
        with pytest.raises(AssertionError):
            checks.assert_close(np.ones(2), np.zeros(2))
    finally:
        np.allclose, np.exp, np.testing.assert_allclose, builtins.isinstance, math.exp = originals[:5]
        checks.assert_close = originals[5]
    assert checks.assert_untampered() == []


def test_checks_work_while_builtins_are_replaced() -> None:
    """The module uses its own references: a replaced builtin does not fool it."""
    real = builtins.abs, builtins.len
    try:
        builtins.abs = lambda x: 0
        builtins.len = lambda x: 0
        with pytest.raises(AssertionError):
            checks.assert_close(np.ones(3), np.zeros(3))
    finally:
        builtins.abs, builtins.len = real


def test_tensors_are_converted() -> None:
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    checks.assert_close(t * 2, np.array([2.0, 4.0]))
    checks.assert_shape(torch.zeros(2, 5), (2, 5))


def test_tf_tensors_are_converted() -> None:
    tf = pytest.importorskip("tensorflow")
    checks.assert_close(tf.constant([1.0, 2.0]) + 1, np.array([2.0, 3.0]))
    checks.assert_shape(tf.Variable(np.zeros((3, 1))), (3, 1))


def test_rng_is_fresh_or_seeded() -> None:
    assert checks.rng(1).integers(1 << 30) == checks.rng(1).integers(1 << 30)
    draws = {int(checks.rng().integers(1 << 40)) for _ in range(5)}
    assert len(draws) == 5
