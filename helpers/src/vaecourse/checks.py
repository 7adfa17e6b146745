"""Checking tools for the notebooks' visible and hidden tests.

Student code runs in the same kernel as the tests, so the tests must not trust anything
that code may have changed. This module:

* keeps its own references to the builtins and NumPy functions it uses, taken when it is
  first imported (the notebooks import it in their locked setup cell, before any student
  code runs), and compares with NumPy's C-level array operators, which no Python code can
  replace;
* accepts only real numbers, strings, arrays and tensors (``float``, ``int``, ``bool``,
  ``str``, NumPy arrays and scalars, TensorFlow/Keras and PyTorch tensors, lists/tuples of
  numbers) by exact type, so an object whose ``__eq__`` is always true earns nothing;
* with :func:`assert_untampered` (first line of every test) puts back whatever a submission
  replaced since the setup cell: builtins, the public functions of NumPy, ``math``,
  ``numpy.testing``, ``numpy.linalg``, the testing functions of TensorFlow and PyTorch and
  this module's own functions. The test then runs in the environment it was written for:
  a monkeypatch earns nothing, and it costs nothing that was earned honestly. What was
  put back is printed (stdout) and flagged by the grader's scan.

Expected values are computed by the tests themselves, never taken from the student.
What this cannot do: protect against code that replaces *this module* in the notebook's
namespace or rewrites how IPython runs cells; the grader checks that each test ran to
its end (a sentinel) and flags such code for a human (see ``autograder/README.md``).
"""

from __future__ import annotations

import builtins as _builtins_module
import contextlib as _contextlib
import math as _math
import sys as _sys
from collections.abc import Iterable, Iterator, MutableMapping, Sequence

import numpy as _np

#: printed by every notebook's setup cell: what the visible checks are, and what more grading runs
GRADING_NOTE = (
    "The check under each exercise tests the basics only, so that you can see it works. When the "
    "notebook is graded, hidden tests also run it on other inputs, shapes and random seeds, with the "
    "default arguments, and compare it with an independent computation; a passed check is not yet "
    "full marks. Run the last cell before you hand in: it checks that every cell ran."
)

# ---- private references, taken before any student code runs -----------------------------
_isinstance = isinstance
_type = type
_float = float
_int = int
_bool = bool
_str = str
_len = len
_tuple = tuple
_list = list
_set = set
_frozenset = frozenset
_all = all
_getattr = getattr
_setattr = setattr
_hasattr = hasattr
_sorted = sorted
_print = print
_repr = repr
_ndarray = _np.ndarray
_generic = _np.generic
_np_array = _np.array
_float64 = _np.float64
_bool_ = _np.bool_
_errstate = _np.errstate

_PUBLIC = (
    "assert_untampered", "refresh_snapshot", "to_numpy", "assert_shape", "assert_close",
    "assert_equal", "assert_in", "assert_all", "choice_letters", "rng", "stand_ins",
)  # fmt: skip
_BUILTIN_DUNDERS = ("__import__", "__build_class__")
# swapped by IPython/ipykernel for every cell (stdin forwarding, exit handling): not tampering
_KERNEL_MANAGED = frozenset({"input", "raw_input", "getpass", "exit", "quit", "display", "get_ipython", "help"})

# (module object, attribute name) -> original value
_snapshot: dict[tuple[int, str], tuple[object, str, object]] = {}
_tensor_types: dict[str, tuple[type, ...]] = {}


def _watch_module(module: object, label: str, names: Iterable[str] | None = None) -> None:
    """Remember the current public attributes of ``module`` (first sight wins)."""
    if module is None:
        return
    namespace = _getattr(module, "__dict__", {})
    for name in _list(namespace) if names is None else names:
        if names is None and name.startswith("_") and name not in _BUILTIN_DUNDERS:
            continue
        if module is _builtins_module and name in _KERNEL_MANAGED:
            continue
        if name not in namespace:
            continue
        key = (id(module), name)
        if key not in _snapshot:
            _snapshot[key] = (module, f"{label}.{name}", namespace[name])


def _watch_frameworks() -> None:
    modules = _sys.modules
    np_mod = modules.get("numpy")
    _watch_module(np_mod, "numpy")
    for sub in ("testing", "linalg"):
        _watch_module(modules.get(f"numpy.{sub}"), f"numpy.{sub}")
    _watch_module(modules.get("math"), "math")
    tf = modules.get("tensorflow")
    if tf is not None:
        for sub in ("debugging", "math"):
            _watch_module(_getattr(tf, sub, None), f"tensorflow.{sub}")
        _watch_module(tf, "tensorflow", ("reduce_sum", "reduce_mean", "exp", "sqrt", "abs", "equal"))
        if "tf" not in _tensor_types:
            kinds = [_getattr(tf, "Tensor", None), _getattr(tf, "Variable", None)]
            keras = modules.get("keras")
            if keras is not None:
                kinds.append(_getattr(keras, "Variable", None))
            _tensor_types["tf"] = _tuple(k for k in kinds if _isinstance(k, _type))
    torch = modules.get("torch")
    if torch is not None:
        _watch_module(_getattr(torch, "testing", None), "torch.testing")
        _watch_module(torch, "torch", ("allclose", "isclose", "equal", "exp", "sqrt", "sum"))
        if "torch" not in _tensor_types:
            nn = _getattr(torch, "nn", None)
            kinds = [_getattr(torch, "Tensor", None), _getattr(nn, "Parameter", None)]
            _tensor_types["torch"] = _tuple(k for k in kinds if _isinstance(k, _type))


def refresh_snapshot() -> None:
    """Record the frameworks' functions once they are imported (locked setup cell), and start
    the log of the cells that run, for the notebook's last cell (:mod:`vaecourse.submission`)."""
    from . import submission

    submission.start()
    _watch_frameworks()


def assert_untampered() -> list[str]:
    """Put back every watched function a submission replaced; return their names.

    Call it first in every test. It never fails for tampering (the test then runs with
    the original functions, so tampering earns nothing); it raises only when a replaced
    function cannot be put back.
    """
    _watch_frameworks()  # frameworks imported after the setup cell
    restored: list[str] = []
    for module, label, original in _list(_snapshot.values()):
        name = label.rsplit(".", 1)[1]
        namespace = _getattr(module, "__dict__", {})
        if namespace.get(name, _MISSING) is not original:
            try:
                namespace[name] = original
            except TypeError:  # a read-only namespace: fall back to setattr
                _setattr(module, name, original)
            restored.append(label)
    if restored:
        _print(
            "checks: the test environment had been modified and was restored before this "
            "test (" + ", ".join(_sorted(restored)) + ")"
        )
    return restored


class _Missing:
    pass


_MISSING = _Missing()


def to_numpy(value: object, name: str = "value") -> _np.ndarray:
    """A fresh float64 NumPy copy of a real number, array, tensor or list of numbers.

    Raises:
        TypeError: for anything that is not exactly one of those.
    """
    kind = _type(value)
    if kind in (_float, _int, _bool) or kind is _ndarray or _isinstance(value, _generic):
        return _np_array(value, dtype=_float64, copy=True)
    if kind in (_list, _tuple):
        parts = [to_numpy(v, name) for v in value]  # type: ignore[attr-defined]
        return _np_array(parts, dtype=_float64) if parts else _np_array([], dtype=_float64)
    _watch_frameworks()
    module = kind.__module__ or ""
    if module.startswith(("tensorflow", "keras")) and _isinstance(value, _tensor_types.get("tf", ())):
        return _from_framework(_getattr(value, "numpy")(), name)
    if module.startswith("torch") and _isinstance(value, _tensor_types.get("torch", ())):
        detached = _getattr(value, "detach")()
        return _from_framework(_getattr(_getattr(detached, "cpu")(), "numpy")(), name)
    raise TypeError(
        f"{name} should be a number, a NumPy array or a tensor, not {kind.__module__}.{kind.__qualname__}"
    )


def _from_framework(array: object, name: str) -> _np.ndarray:
    if _type(array) is not _ndarray and not _isinstance(array, _generic):
        raise TypeError(f"{name}: the tensor did not convert to a NumPy array")
    return _np_array(array, dtype=_float64, copy=True)


def assert_shape(value: object, shape: Sequence[int], name: str = "value") -> None:
    """Fail unless ``value`` (number, array or tensor) has exactly ``shape``."""
    actual = _tuple(_int(d) for d in to_numpy(value, name).shape)
    expected = _tuple(_int(d) for d in shape)
    if actual != expected:
        raise AssertionError(f"{name} has shape {actual}, expected {expected}")


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
    with _errstate(all="ignore"):  # no warnings: stderr output would fail the grade cell
        if not (a == a).all() or ((a - a) != 0).any():  # NaN or inf in the answer
            raise AssertionError(f"{name} contains NaN or infinite values")
        err = (a - e).__abs__()
        bound = _float(atol) + _float(rtol) * e.__abs__()
        bad = err > bound
    if bad.any():
        worst = _float(err.max())
        raise AssertionError(
            f"{name} differs from the expected value: largest difference {worst:.3g} "
            f"(tolerance {atol:g} + {rtol:g}*|expected|), at {_int(bad.sum())} of {a.size} entries"
        )


def _exact(value: object, name: str) -> object:
    kind = _type(value)
    if kind in (_str, _int, _bool, _float) or kind is type(None):
        return value
    if _isinstance(value, _generic):
        return _np_array(value).item()
    raise TypeError(
        f"{name} should be a str, int, float or bool, not {kind.__module__}.{kind.__qualname__}"
    )


def assert_equal(actual: object, expected: object, name: str = "value") -> None:
    """Fail unless ``actual`` is exactly ``expected`` (strings, integers, booleans).

    Only plain built-in values are compared, with their own type's equality, so
    look-alike objects earn nothing.
    """
    a, e = _exact(actual, name), _exact(expected, "expected")
    if _type(a) is _str and _type(e) is _str:
        same = _str.__eq__(a, e)
    elif _type(a) is _str or _type(e) is _str:
        same = False
    else:
        same = _float(a) == _float(e) if _type(a) is _float or _type(e) is _float else _int(a) == _int(e)
    if same is not True:
        raise AssertionError(f"{name} is {_repr(a)}, which is not the expected answer")


def assert_in(actual: object, options: Sequence[object], name: str = "value") -> None:
    """Fail unless ``actual`` is exactly one of ``options`` (e.g. a multiple-choice letter)."""
    for option in options:
        try:
            assert_equal(actual, option, name)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{name} should be one of {', '.join(_repr(o) for o in options)}, not {_repr(_exact(actual, name))}")


def assert_all(condition: object, message: str = "condition does not hold") -> None:
    """Fail unless every entry of a boolean array/tensor (or a bool) is true.

    Use with comparisons computed from converted values, e.g.
    ``assert_all(to_numpy(kl) >= 0, "KL must be non-negative")``.
    """
    kind = _type(condition)
    if kind is _bool or kind is _bool_:
        ok = condition is True or condition is _np.True_
    elif kind is _ndarray and condition.dtype == _bool_:  # type: ignore[attr-defined]
        ok = _bool(condition.all())  # type: ignore[attr-defined]
    else:
        raise TypeError(f"assert_all needs a bool or a boolean NumPy array, not {kind.__qualname__}")
    if not ok:
        raise AssertionError(message)


def choice_letters(answer: object, options: str = "ABCD", multiple: bool = False,
                   name: str = "answer") -> str:
    """The letters of a multiple-choice answer, normalized: upper case, sorted, no repeats.

    Accepts a string (``"b"``, ``"A, D"``, ``"a d"``) or a list/tuple/set of
    letters. Raises ``AssertionError`` with a message for the student unless the answer
    holds exactly one letter of ``options`` (or, with ``multiple=True``, at least one).
    The result is a plain ``str`` built here, so comparing it with ``==`` is safe.
    """
    kind = _type(answer)
    if _isinstance(answer, _str):
        raw = _str.__str__(answer)  # a plain copy of a str subclass
    elif kind in (_list, _tuple, _set, _frozenset) and _all(_type(c) is _str for c in answer):  # type: ignore[attr-defined]
        raw = _str.join("", answer)  # type: ignore[arg-type]
    else:
        raise AssertionError(f"{name} should be a string of letters, not {kind.__qualname__}")
    letters = "".join(_sorted({c for c in _str.upper(raw) if _str.isalnum(c)}))
    count = "one or more letters" if multiple else "one letter"
    well_formed = (_len(letters) >= 1 if multiple else _len(letters) == 1) and _all(
        c in options for c in letters)
    if not well_formed:
        raise AssertionError(f"{name} should be {count} from {options[0]} to {options[-1]}, not {_repr(answer)}")
    return letters


def rng(seed: int | None = None) -> _np.random.Generator:
    """A random generator for hidden tests (fresh entropy unless a seed is given)."""
    return _np.random.default_rng(seed)


_MISSING_NAME = object()


@_contextlib.contextmanager
def stand_ins(namespace: MutableMapping[str, object], **objects: object) -> Iterator[None]:
    """Temporarily bind ``objects`` by name in ``namespace`` (e.g. a notebook's ``globals()``).

    A test of one fill-in puts its own versions of the others in their place, so that it
    does not depend on them being right. Names that did not exist are removed again
    afterwards; the others get back their values, even when the body raises.
    """
    saved = {name: namespace.get(name, _MISSING_NAME) for name in objects}
    namespace.update(objects)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING_NAME:
                namespace.pop(name, None)
            else:
                namespace[name] = value

# watch builtins, NumPy, math and this module's own functions from the first import on
_watch_module(_builtins_module, "builtins")
_watch_frameworks()
_watch_module(_sys.modules[__name__], __name__, _PUBLIC)
_ = _math  # imported so that ``math`` is watched even when a notebook never imports it

