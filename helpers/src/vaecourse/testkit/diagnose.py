"""Diagnosing a failed test inside the grading kernel: which known mistake the answer behaves like.

The grader (``autograder/pipeline/diagnose.py``) asks for two things around a test cell that
belongs to a function fill-in:

* :func:`watch` before the test: the student's function in the notebook's namespace is wrapped
  so that the calls the test makes are recorded (their arguments; the function itself runs as
  before and its result is returned unchanged);
* :func:`diagnose` after the test failed: the student's function, the reference answer and each
  catalogued mistake of that fill-in (the course's sample submissions) are called again on the
  recorded arguments, each call with the random generators reseeded the same way, and their
  results compared. The verdict (a dict, returned) names the mistake the student's function
  behaves like, or else the first recorded call where it differs from the reference, summarised
  (shapes, dtypes, the first few numbers), or says that it does not differ on those calls (the
  test then failed on something else: a gradient, a compiled graph, a default argument); its
  ``"message"`` is what the feedback shows.

Grading only (the reference answer and the mistakes are passed in by the grader); students never
get this module.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import random
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np

#: calls recorded per test, and compared
RECORD, COMPARE = 20, 3
_WATCHED: dict[str, Any] = {}


def watch(namespace: MutableMapping[str, Any], name: str) -> None:
    """Record the calls of ``namespace[name]`` from now on (and stop recording any other)."""
    unwatch(namespace)
    fn = namespace.get(name)
    if not callable(fn) or isinstance(fn, type):
        return
    calls: list[tuple[tuple, dict]] = []

    @functools.wraps(fn)
    def recording(*args: Any, **kwargs: Any) -> Any:
        if len(calls) < RECORD and _concrete(args) and _concrete(kwargs):
            calls.append((_copied(args), _copied(kwargs)))
        return fn(*args, **kwargs)

    recording._vaecourse_calls = calls  # type: ignore[attr-defined]
    namespace[name] = recording
    _WATCHED[name] = recording


def unwatch(namespace: MutableMapping[str, Any]) -> None:
    """Put back the functions :func:`watch` wrapped (unless the notebook rebound the name)."""
    for name, wrapper in list(_WATCHED.items()):
        if namespace.get(name) is wrapper:
            namespace[name] = wrapper.__wrapped__
        del _WATCHED[name]


def diagnose(namespace: MutableMapping[str, Any], plan: str) -> dict:
    """Compare the student's function with the reference and the catalogued mistakes on the
    recorded calls; return the verdict (see the module docstring).

    ``plan`` (JSON): ``{"function": name, "reference": source or null, "mistakes":
    [{"name", "description", "source"}]}``; each source defines the function under its name.
    """
    spec = json.loads(plan)
    name = spec["function"]
    wrapper = _WATCHED.get(name)
    calls = list(getattr(wrapper, "_vaecourse_calls", [])) if wrapper is not None else []
    unwatch(namespace)
    student = namespace.get(name)
    if not calls or not callable(student):
        verdict = {"status": "not called", "function": name}
        return _report(verdict)
    calls = sorted(calls, key=lambda c: _size(c))[:COMPARE]
    mine = [_run(student, call) for call in calls]
    reference = _define(spec.get("reference"), name, namespace)
    expected = [_run(reference, call) for call in calls] if reference else None
    for mistake in spec.get("mistakes", []):
        fn = _define(mistake["source"], name, namespace)
        if fn is None:
            continue
        theirs = [_run(fn, call) for call in calls]
        if all(_same(a, b) for a, b in zip(mine, theirs, strict=True)) and not (
                expected and all(_same(a, b) for a, b in zip(expected, theirs, strict=True))):  # fmt: skip
            return _report({"status": "mistake", "function": name, "mistake": mistake["name"],
                            "description": mistake["description"]})  # fmt: skip
    if expected is not None:
        for call, got, want in zip(calls, mine, expected, strict=True):
            if not _same(got, want):
                return _report({"status": "differs", "function": name, "call": _describe_call(call),
                                "expected": _summary(want), "actual": _summary(got)})  # fmt: skip
        return _report({"status": "same", "function": name, "calls": len(calls)})
    return _report({"status": "unknown", "function": name})


def _report(verdict: dict) -> dict:
    """The verdict with its message for the student (``"message"``)."""
    verdict["message"] = message(verdict)
    return verdict


def message(verdict: dict) -> str:
    """What the feedback says under the failed test (short, for students, no test code)."""
    fn = f"`{verdict.get('function', 'your function')}`"
    status = verdict.get("status")
    if status == "mistake":
        return (f"Diagnosis: your {fn} behaves like one that {verdict['description']} "
                "(a common mistake: on the inputs of this test it gives exactly the same results).")
    if status == "differs":
        return (f"Diagnosis: called with {verdict['call']}, your {fn} gives {verdict['actual']}; "
                f"expected: {verdict['expected']}.")
    if status == "same":
        return (f"Diagnosis: on the {verdict.get('calls', 'few')} inputs this test gave it, your {fn} returns "
                "what is expected, so the test failed on something else (its message above says what: for "
                "example a gradient, a compiled graph, a default argument or how often it is called).")
    if status == "not called":
        return f"Diagnosis: the test stopped before it called your {fn} (its message above says why)."
    return ""


def _define(source: str | None, name: str, namespace: MutableMapping[str, Any]) -> Callable | None:
    """The function ``name`` that ``source`` defines, with the notebook's names around it."""
    if not source:
        return None
    scratch = dict(namespace)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(source, f"<{name}>", "exec"), scratch)  # noqa: S102 (the grader's own code)
    except Exception:  # noqa: BLE001 (a catalogued cell that needs what this notebook lacks)
        return None
    fn = scratch.get(name)
    return fn if callable(fn) else None


def _run(fn: Callable, call: tuple[tuple, dict], seed: int = 1234) -> Any:
    """``fn`` on a recorded call with every random generator seeded by ``seed``; an exception
    is returned as ``("raised", type name)``."""
    args, kwargs = call
    _seed(seed)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return fn(*_copied(args), **_copied(kwargs))
    except Exception as error:  # noqa: BLE001 (a wrong answer may raise anything)
        return _Raised(type(error).__name__)
    finally:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")


class _Raised:
    """A call that raised."""

    def __init__(self, name: str) -> None:
        self.name = name


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.set_random_seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


# ---- values --------------------------------------------------------------------------------
def _array(value: Any) -> np.ndarray | None:
    if isinstance(value, bool | int | float | np.generic | np.ndarray):
        return np.asarray(value)
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy") and hasattr(value, "shape"):  # TensorFlow
        try:
            return np.asarray(value.numpy())
        except Exception:  # noqa: BLE001 (a symbolic tensor)
            return None
    return None


def _fingerprint(value: Any) -> Any:
    """What is compared of a value that is no array: a model's layers and output shape."""
    if isinstance(value, _Raised):
        return ("raised", value.name)
    layers = getattr(value, "layers", None)
    if layers is not None and hasattr(value, "count_params"):  # Keras
        return ("keras", type(value).__name__, str(getattr(value, "output_shape", "")),
                tuple((type(layer).__name__, str(getattr(layer, "output_shape", ""))) for layer in layers))
    if hasattr(value, "named_parameters"):  # torch.nn.Module
        return ("torch", type(value).__name__, tuple((n, tuple(p.shape)) for n, p in value.named_parameters()))
    if isinstance(value, tuple | list):
        return tuple(_fingerprint(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _fingerprint(v)) for k, v in value.items()))
    return (type(value).__name__,)


def _same(a: Any, b: Any) -> bool:
    """Whether two results agree: arrays of one shape within a small tolerance, the same
    structure otherwise (both raised the same kind of error; models with the same layers)."""
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    x, y = _array(a), _array(b)
    if x is not None and y is not None:
        if x.shape != y.shape:
            return False
        try:
            return bool(np.allclose(x.astype(np.float64), y.astype(np.float64), rtol=1e-4, atol=1e-5, equal_nan=True))
        except (TypeError, ValueError):
            return bool(np.array_equal(x, y))
    if (x is None) != (y is None):
        return False
    return _fingerprint(a) == _fingerprint(b)


def _summary(value: Any) -> str:
    """A short description of a value: type, shape, dtype and its first numbers."""
    if isinstance(value, _Raised):
        return f"raises {value.name}"
    array = _array(value)
    if array is not None:
        if array.ndim == 0:
            return f"{type(value).__name__} {array.item():.4g}" if array.dtype.kind in "fiu" else repr(array.item())
        flat = array.reshape(-1)[:4]
        numbers = ", ".join(f"{v:.4g}" if array.dtype.kind in "fiu" else repr(v) for v in flat)
        more = ", ..." if array.size > 4 else ""
        return f"shape {tuple(array.shape)} {array.dtype}: [{numbers}{more}]"
    if isinstance(value, tuple | list):
        return f"{type(value).__name__} of {len(value)}: (" + "; ".join(_summary(v) for v in value[:3]) + ")"
    fingerprint = _fingerprint(value)
    if fingerprint[0] == "keras":
        return f"a Keras {fingerprint[1]} with {len(fingerprint[3])} layers, output {fingerprint[2]}"
    if fingerprint[0] == "torch":
        return f"a torch {fingerprint[1]} with {len(fingerprint[2])} parameter tensors"
    return f"a {type(value).__name__}"


def _describe_call(call: tuple[tuple, dict]) -> str:
    args, kwargs = call
    parts = [_summary(a) for a in args] + [f"{k}={_summary(v)}" for k, v in kwargs.items()]
    return "(" + "; ".join(parts) + ")"


def _size(call: tuple[tuple, dict]) -> int:
    total = 0
    for value in [*call[0], *call[1].values()]:
        array = _array(value)
        total += array.size if array is not None else 1
    return total


def _concrete(values: Any) -> bool:
    """False for symbolic tensors (a call recorded while a graph or a Keras model was traced)."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and not tf.executing_eagerly():
        return False
    if isinstance(values, list | tuple):
        return all(_concrete(v) for v in values)
    if isinstance(values, dict):
        return all(_concrete(v) for v in values.values())
    return "KerasTensor" not in type(values).__name__ and "Symbolic" not in type(values).__name__


def _copied(value: Any) -> Any:
    """A copy of a recorded argument that a call may change in place (arrays, lists, dicts)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "detach") and hasattr(value, "clone"):  # torch
        return value.detach().clone()
    if isinstance(value, list | tuple):
        return type(value)(_copied(v) for v in value)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    try:
        return copy.copy(value) if isinstance(value, int | float | str | bytes) else value
    except Exception:  # noqa: BLE001
        return value
