"""Checking tools for the notebooks' visible and hidden tests.

Student code runs in the same kernel as the tests, so the tests must not trust what
that code may have changed. This module:

* keeps its own references to the builtins and NumPy functions it uses, taken when it
  is first imported (the notebooks import it in their locked setup cell, before any
  student code runs), and compares with NumPy's C-level array operators, which no
  Python code can replace;
* accepts only real numbers and arrays (``float``, ``int``, NumPy arrays and scalars,
  TensorFlow and PyTorch tensors) by exact type, so an object whose ``__eq__`` is
  always true earns nothing;
* reports, through :func:`assert_untampered`, whether the builtins or the testing
  functions of NumPy, TensorFlow or PyTorch were replaced since the setup cell.

Expected values are computed by the tests themselves, never taken from the student.
"""

from __future__ import annotations

import builtins as _builtins_module
import sys as _sys

import numpy as _np

_builtins = dict(vars(_builtins_module))
_isinstance = isinstance
_type = type
_float = float
_len = len
_tuple = tuple
_ndarray = _np.ndarray
_np_array = _np.array
_float64 = _np.float64

_WATCHED_BUILTINS = (
    "abs", "all", "any", "bool", "float", "int", "isinstance", "issubclass", "len",
    "max", "min", "print", "range", "round", "sum", "type", "getattr", "hasattr",
    "callable", "tuple", "list", "zip", "repr", "str",
)  # fmt: skip


def _watched_attributes() -> dict[str, object]:
    """The testing functions a submission might replace, as currently bound."""
    found: dict[str, object] = {}
    for name in _WATCHED_BUILTINS:
        found[f"builtins.{name}"] = getattr(_builtins_module, name, None)
    np_mod = _sys.modules["numpy"]
    for name in ("allclose", "isclose", "array_equal", "all", "any", "abs", "array", "asarray"):
        found[f"numpy.{name}"] = getattr(np_mod, name, None)
    testing = getattr(np_mod, "testing", None)
    for name in ("assert_allclose", "assert_array_equal", "assert_equal", "assert_array_almost_equal"):
        found[f"numpy.testing.{name}"] = getattr(testing, name, None)
    tf = _sys.modules.get("tensorflow")
    if tf is not None:
        debugging = getattr(tf, "debugging", None)
        for name in ("assert_near", "assert_equal", "assert_shapes"):
            found[f"tensorflow.debugging.{name}"] = getattr(debugging, name, None)
    torch = _sys.modules.get("torch")
    if torch is not None:
        testing = getattr(torch, "testing", None)
        found["torch.testing.assert_close"] = getattr(testing, "assert_close", None)
        found["torch.allclose"] = getattr(torch, "allclose", None)
    return found


_snapshot: dict[str, object] = _watched_attributes()


def refresh_snapshot() -> None:
    """Record the frameworks' testing functions once they are imported (setup cell)."""
    for key, value in _watched_attributes().items():
        _snapshot.setdefault(key, value)


def assert_untampered() -> None:
    """Fail if builtins or testing functions were replaced since the setup cell."""
    current = _watched_attributes()
    changed = [k for k, v in _snapshot.items() if current.get(k) is not v]
    if changed:
        raise AssertionError(
            "The testing environment was modified (" + ", ".join(sorted(changed)) + "). "
            "Do not replace builtins or testing functions; restart the kernel and run "
            "the notebook from the top."
        )


def to_numpy(value: object, name: str = "value") -> _np.ndarray:
    """A fresh float64 NumPy copy of a real number, array or tensor.

    Raises:
        TypeError: for anything that is not exactly a number, array or tensor.
    """
    kind = _type(value)
    module = kind.__module__ or ""
    if kind in (_float, int, bool) or kind is _ndarray or _isinstance(value, _np.generic):
        return _np_array(value, dtype=_float64, copy=True)
    if module.startswith(("tensorflow", "keras")) and hasattr(value, "numpy"):
        return _np_array(value.numpy(), dtype=_float64, copy=True)
    if module.startswith("torch") and kind.__name__ in ("Tensor", "Parameter"):
        return _np_array(value.detach().cpu().numpy(), dtype=_float64, copy=True)
    raise TypeError(
        f"{name} should be a number, a NumPy array or a tensor, not {kind.__module__}.{kind.__qualname__}"
    )


def assert_shape(value: object, shape: tuple[int, ...], name: str = "value") -> None:
    """Fail unless ``value`` (number, array or tensor) has exactly ``shape``."""
    actual = _tuple(int(d) for d in to_numpy(value, name).shape)
    if actual != _tuple(shape):
        raise AssertionError(f"{name} has shape {actual}, expected {_tuple(shape)}")


def assert_close(
    actual: object,
    expected: object,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    name: str = "value",
) -> None:
    """Fail unless ``actual`` matches ``expected`` in shape and values.

    ``expected`` must be computed by the test itself. Comparison uses NumPy's
    array operators (C level), not functions a submission could replace.
    """
    a = to_numpy(actual, name)
    e = to_numpy(expected, "expected")
    if a.shape != e.shape:
        raise AssertionError(f"{name} has shape {a.shape}, expected {e.shape}")
    if not (a == a).all() or ((a - a) != 0).any():  # NaN or inf in the answer
        raise AssertionError(f"{name} contains NaN or infinite values")
    err = (a - e).__abs__()
    bound = atol + rtol * e.__abs__()
    bad = err > bound
    if bad.any():
        worst = err.max()
        raise AssertionError(
            f"{name} differs from the expected value: largest difference {worst:.3g} "
            f"(tolerance {atol:g} + {rtol:g}*|expected|), at {int(bad.sum())} of {a.size} entries"
        )


def rng(seed: int | None = None) -> _np.random.Generator:
    """A random generator for hidden tests (fresh entropy unless a seed is given)."""
    return _np.random.default_rng(seed)
