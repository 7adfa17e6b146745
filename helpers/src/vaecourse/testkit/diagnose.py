"""Diagnosing a failed test inside the grading kernel: which known mistake the answer behaves like.

The grader (``autograder/pipeline/diagnose.py``) asks for two things around a test cell that
belongs to a function fill-in:

* :func:`watch` before the test: the student's function in the notebook's namespace is wrapped
  so that the calls the test makes are recorded (their arguments; the function itself runs as
  before and its result is returned unchanged);
* :func:`diagnose` after the test failed: the student's function, the reference answer and each
  catalogued mistake of that fill-in (the course's sample submissions) are called again on the
  recorded arguments, each call with the random generators reseeded the same way, and their
  results compared (the smallest calls, and one where the student's result differs from the
  reference's). The verdict (a dict, returned) names the mistake the student's function
  behaves like, or else the first compared call where it differs from the reference, summarised
  (shapes, dtypes, the first few numbers), or says that it does not differ on those calls (the
  test then failed on something else: a gradient, a compiled graph, a default argument); its
  ``"message"`` is what the feedback shows. A result is the returned value, the gradients of
  it with respect to the tensor arguments, and the weights left in any model or optimizer the
  call was given (each replay starts from the same state; the test's objects are put back).

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
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np

#: calls recorded per test, and compared; seconds spent looking for a call where the answer differs
RECORD, COMPARE, SCAN_SECONDS = 20, 3, 5.0
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
    reference = _define(spec.get("reference"), name, namespace)
    calls, mine, expected = _chosen_calls(student, reference, sorted(calls, key=_size))
    matches = []
    for mistake in spec.get("mistakes", []):
        fn = _define(mistake["source"], name, namespace)
        if fn is None:
            continue
        theirs = [_run(fn, call) for call in calls]
        if all(_same(a, b) for a, b in zip(mine, theirs, strict=True)) and not (
                expected and all(_same(a, b) for a, b in zip(expected, theirs, strict=True))):  # fmt: skip
            matches.append(mistake)
    if matches:  # several catalogued mistakes can give the same results on a test's inputs: all are named
        return _report({"status": "mistake", "function": name, "mistake": matches[0]["name"],
                        "description": matches[0]["description"],
                        "also": [{"mistake": m["name"], "description": m["description"]} for m in matches[1:]]})  # fmt: skip
    if expected is not None:
        for call, got, want in zip(calls, mine, expected, strict=True):
            if not _same(got, want):
                actual, wanted = _contrast(got, want)
                return _report({"status": "differs", "function": name, "call": _describe_call(call),
                                "expected": wanted, "actual": actual})  # fmt: skip
        return _report({"status": "same", "function": name, "calls": len(calls)})
    return _report({"status": "unknown", "function": name})


def _chosen_calls(student: Callable, reference: Callable | None, calls: list[tuple[tuple, dict]]
                  ) -> tuple[list[tuple[tuple, dict]], list[Any], list[Any] | None]:  # fmt: skip
    """The calls compared, with the student's and the reference's results: the ``COMPARE``
    smallest, and where the student's function agrees with the reference on all of them, the
    smallest further call on which it does not (in place of the last; looked for within
    ``SCAN_SECONDS``), so that the verdict rests on a call where the test's failure shows.
    A call on which the reference raises (it needs what this kernel lacks) is no comparison and
    is left out; where it raises on every call, the reference's results are None."""
    head = calls[:COMPARE]
    mine = [_run(student, call) for call in head]
    if reference is None:
        return head, mine, None
    expected = [_run(reference, call) for call in head]
    keep = [k for k, want in enumerate(expected) if not _raised(want)]
    if not keep:
        return head, mine, None
    head, mine, expected = [head[k] for k in keep], [mine[k] for k in keep], [expected[k] for k in keep]
    if all(_same(a, b) for a, b in zip(mine, expected, strict=True)):
        end = time.monotonic() + SCAN_SECONDS
        for call in calls[COMPARE:]:
            if time.monotonic() > end:
                break
            got, want = _run(student, call), _run(reference, call)
            if not _raised(want) and not _same(got, want):
                last = len(head) - 1
                return [*head[:last], call], [*mine[:last], got], [*expected[:last], want]
    return head, mine, expected


def _report(verdict: dict) -> dict:
    """The verdict with its message for the student (``"message"``)."""
    verdict["message"] = message(verdict)
    return verdict


def message(verdict: dict) -> str:
    """What the feedback says under the failed test (short, for students, no test code)."""
    fn = f"`{verdict.get('function', 'your function')}`"
    status = verdict.get("status")
    if status == "mistake":
        also = [m["description"] for m in verdict.get("also", [])]
        return (f"Diagnosis: your {fn} behaves like a common mistake: {verdict['description']} "
                "(on the inputs of this test it gives exactly the same results)."
                + (f" These mistakes give the same results here too: {'; '.join(also)}." if also else ""))  # fmt: skip
    if status == "differs":
        verb = "" if verdict["actual"].startswith("raises ") else "gives "
        return (f"Diagnosis: called with {verdict['call']}, your {fn} {verb}{verdict['actual']}; "
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
    is returned as ``("raised", type name)``. Where the call is given models or optimizers (a
    training step), each starts from the same state for every function compared, and what the
    call left in them (the weights) is part of the result: an :class:`_Outcome`."""
    args, kwargs = _copied(call[0]), _copied(call[1])
    objects = _stateful([*args, *kwargs.values()])
    restores = [_snapshot(o) for o in objects]
    inputs = [v for v in [*args, *kwargs.values()] if _differentiable(v)]
    gradients = None
    _seed(seed)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                _recording(inputs) as tape:  # fmt: skip
            value = fn(*args, **kwargs)
        gradients = _gradients(value, inputs, tape) if inputs else None
    except Exception as error:  # noqa: BLE001 (a wrong answer may raise anything)
        value = _Raised(type(error).__name__)
    finally:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")
    try:
        if objects or gradients:
            return _Outcome(value, tuple(_weights(o) for o in objects), gradients or ())
        return value
    finally:
        for restore in reversed(restores):
            with contextlib.suppress(Exception):
                restore()


def _differentiable(value: Any) -> bool:
    """A floating-point tensor argument whose gradient the result should carry (torch: one
    that requires grad; TensorFlow: any float tensor or variable)."""
    if hasattr(value, "requires_grad") and hasattr(value, "grad_fn"):
        return bool(value.requires_grad) and value.dtype.is_floating_point
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.is_tensor(value) and value.dtype.is_floating and not _kind(value)


@contextlib.contextmanager
def _recording(inputs: list[Any]) -> Iterator[Any]:
    """A persistent GradientTape watching the TensorFlow inputs while the call runs (None where
    there are none)."""
    tf = sys.modules.get("tensorflow")
    tf_inputs = [v for v in inputs if tf is not None and tf.is_tensor(v)]
    if not tf_inputs:
        yield None
        return
    with tf.GradientTape(persistent=True) as tape:
        for v in tf_inputs:
            tape.watch(v)
        yield tape


def _gradients(value: Any, inputs: list[Any], tape: Any) -> tuple:
    """The gradient of the sum of the result's floating-point entries with respect to each
    input, as arrays (``"none"`` where no gradient reaches it), or () where the result carries none."""
    outputs = list(value) if isinstance(value, tuple | list) else [value]
    if any(hasattr(v, "grad_fn") for v in outputs):  # torch
        import torch

        live = [v for v in outputs if hasattr(v, "grad_fn") and v.dtype.is_floating_point and v.requires_grad]
        if not live:
            return tuple("none" for _ in inputs)
        grads = torch.autograd.grad(sum(t.sum() for t in live), inputs, allow_unused=True)
        return tuple("none" if g is None else g.detach().cpu().numpy() for g in grads)
    tf = sys.modules.get("tensorflow")
    if tf is None or tape is None:
        return ()
    tensors = [v for v in outputs if tf.is_tensor(v) and v.dtype.is_floating]
    if not tensors:
        return tuple("none" for _ in inputs)
    grads = tape.gradient(tensors, inputs)  # of the sum of every entry (a list target is summed)
    return tuple("none" if g is None else np.asarray(g) for g in grads)


class _Outcome:
    """What a call returned, the weights it left in the models and optimizers it was given, and
    the gradients of its result with respect to its tensor arguments."""

    def __init__(self, value: Any, weights: tuple, gradients: tuple = ()) -> None:
        self.value, self.weights, self.gradients = value, weights, gradients


def _stateful(values: list[Any]) -> list[Any]:
    """The Keras and torch models and optimizers among a call's arguments (one level deep)."""
    found: list[Any] = []
    for value in values:
        if isinstance(value, list | tuple):
            found += _stateful(list(value))
        elif _kind(value) and all(value is not f for f in found):
            found.append(value)
    return found


def _kind(value: Any) -> str:
    if hasattr(value, "named_parameters") and hasattr(value, "state_dict"):
        return "torch module"
    if hasattr(value, "param_groups") and hasattr(value, "state_dict"):
        return "torch optimizer"
    if hasattr(value, "apply_gradients") and hasattr(value, "variables"):
        return "keras optimizer"
    if hasattr(value, "weights") and hasattr(value, "count_params") and hasattr(value, "layers"):
        return "keras model"
    return ""


def _keras_variables(value: Any) -> list:
    variables = value.variables if _kind(value) == "keras optimizer" else value.weights
    return list(variables() if callable(variables) else variables)


def _snapshot(value: Any) -> Callable[[], None]:
    """A function that puts ``value`` back into its present state (weights, gradients,
    optimizer moments; variables an optimizer creates later go back to zero)."""
    kind = _kind(value)
    if kind == "torch module":
        state = {k: v.detach().clone() for k, v in value.state_dict().items()}
        grads = [(p, None if p.grad is None else p.grad.detach().clone()) for p in value.parameters()]

        def restore() -> None:
            value.load_state_dict(state)
            for p, g in grads:
                p.grad = None if g is None else g.clone()

        return restore
    if kind == "torch optimizer":
        state = copy.deepcopy(value.state_dict())
        return lambda: value.load_state_dict(copy.deepcopy(state))
    before = [(v, np.array(v.numpy())) for v in _keras_variables(value)]
    known = {id(v) for v, _ in before}

    def restore_keras() -> None:
        for v, a in before:
            v.assign(a)
        for v in _keras_variables(value):
            if id(v) not in known:
                v.assign(np.zeros(tuple(v.shape), dtype=np.dtype(str(v.dtype))))

    return restore_keras


def _weights(value: Any) -> tuple:
    """The weights a model or optimizer holds now, as arrays."""
    kind = _kind(value)
    if kind == "torch module":
        return tuple(v.detach().cpu().numpy().copy() for v in value.state_dict().values())
    if kind == "torch optimizer":
        return tuple(v.detach().cpu().numpy().copy() for s in value.state_dict()["state"].values()
                     for v in s.values() if hasattr(v, "detach"))  # fmt: skip
    if kind == "keras model":
        return tuple(np.array(v.numpy()) for v in _keras_variables(value))
    return ()  # a Keras optimizer's moments follow from the model's weights


class _Raised:
    """A call that raised."""

    def __init__(self, name: str) -> None:
        self.name = name


def _raised(result: Any) -> bool:
    return isinstance(result, _Raised) or (isinstance(result, _Outcome) and isinstance(result.value, _Raised))


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
    kind = _kind(value)
    if kind == "keras model":
        return ("keras", type(value).__name__, _keras_shapes(value), tuple(_keras_layer(layer) for layer in value.layers))
    if kind == "torch module":
        return ("torch", type(value).__name__, tuple((n, tuple(p.shape)) for n, p in value.named_parameters()),
                tuple(repr(m) for m in value.modules() if not list(m.children())))  # fmt: skip
    if isinstance(value, tuple | list):
        return tuple(_fingerprint(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _fingerprint(v)) for k, v in value.items()))
    return (type(value).__name__,)


#: what of a Keras layer's configuration tells two architectures apart (not its name or seed)
_KERAS_CONFIG = ("units", "filters", "kernel_size", "strides", "padding", "activation", "use_bias",
                 "target_shape", "pool_size", "size", "rate", "axis")  # fmt: skip


def _keras_shapes(value: Any) -> str:
    """A Keras model's or layer's output shapes (Keras 3 has no ``output_shape``)."""
    try:
        outputs = value.outputs if getattr(value, "outputs", None) else [value.output]
        return str([tuple(o.shape) for o in outputs])
    except Exception:  # noqa: BLE001 (a layer that was never called, or a subclassed model)
        return ""


def _keras_layer(layer: Any) -> tuple:
    """A layer as compared: its type, the parts of its configuration that shape the model, its
    output shape and number of weights."""
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 (a custom layer without get_config)
        config = {}
    try:
        params = int(layer.count_params()) if layer.built else -1
    except Exception:  # noqa: BLE001
        params = -1
    return (type(layer).__name__, tuple((k, str(config[k])) for k in _KERAS_CONFIG if k in config),
            _keras_shapes(layer), params)  # fmt: skip


def _same(a: Any, b: Any) -> bool:
    """Whether two results agree: arrays of one shape within a small tolerance, the same
    structure otherwise (both raised the same kind of error; models with the same layers)."""
    if isinstance(a, _Outcome) and isinstance(b, _Outcome):
        return _same(a.value, b.value) and _same(a.weights, b.weights) and _same(a.gradients, b.gradients)
    if isinstance(a, str) or isinstance(b, str):  # "none": no gradient
        return isinstance(a, str) and isinstance(b, str) and a == b
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
    if _fingerprint(a) != _fingerprint(b):
        return False
    # models of one architecture: the same weights too (a clone has new ones; random ones are
    # seeded alike), and the same outputs on one seeded input (a constant or a Lambda inside)
    return not _kind(a) or (_same(_weights(a), _weights(b)) and _same(_forward(a), _forward(b)))


def _forward(model: Any) -> tuple:
    """A Keras model's outputs on a seeded random batch of two of its inputs (() for a torch
    module, whose input shape is not known, or where the call fails)."""
    if _kind(model) != "keras model":
        return ()
    try:
        rng = np.random.default_rng(0)
        inputs = [rng.random((2, *[d or 1 for d in tuple(i.shape)[1:]])).astype("float32") for i in model.inputs]
        _seed(0)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            out = model(inputs if len(inputs) > 1 else inputs[0], training=False)
        return tuple(np.asarray(o) for o in (out if isinstance(out, list | tuple) else [out]))
    except Exception:  # noqa: BLE001 (a model that cannot be called on its declared input)
        return ()


def _summary(value: Any) -> str:
    """A short description of a value: type, shape, dtype and its first numbers."""
    if isinstance(value, _Outcome):
        return _summary(value.value)
    if isinstance(value, _Raised):
        return f"raises {value.name}"
    array = _array(value)
    if array is not None:
        if array.ndim == 0:
            return f"{type(value).__name__} {array.item():.4g}" if array.dtype.kind in "fiu" else repr(array.item())
        return f"shape {tuple(array.shape)} {array.dtype}: {_numbers(array)}"
    if isinstance(value, tuple | list):
        return f"{type(value).__name__} of {len(value)}: (" + "; ".join(_summary(v) for v in value[:3]) + ")"
    fingerprint = _fingerprint(value)
    if fingerprint[0] == "keras":
        layers = [f"{name}{_short_config(config)} -> {shape.strip('[]')}" for name, config, shape, _ in fingerprint[3]
                  if name != "InputLayer"]  # fmt: skip
        shown = "; ".join(layers[:6]) + ("; ..." if len(layers) > 6 else "")
        return f"a Keras {fingerprint[1]} of {len(layers)} layers ({shown})"
    if fingerprint[0] == "torch":
        return f"a torch {fingerprint[1]} with {len(fingerprint[2])} parameter tensors"
    return f"a {type(value).__name__}"


def _short_config(config: tuple) -> str:
    keep = [f"{k}={v}" for k, v in config if k in ("units", "filters", "strides", "padding", "activation", "target_shape")]
    return f"({', '.join(keep)})" if keep else ""


def _contrast(got: Any, want: Any) -> tuple[str, str]:
    """The student's and the reference's results, summarised where they differ: for a training
    step that returns the same, the first weight it leaves otherwise."""
    if isinstance(got, _Outcome) and isinstance(want, _Outcome) and _same(got.value, want.value):
        for k, (a, b) in enumerate(zip(got.gradients, want.gradients, strict=False)):
            if not _same(a, b):
                if isinstance(a, str):
                    return (f"{_summary(got.value)} as expected, but no gradient reaches its tensor argument {k + 1}",
                            "a result that passes gradients to it")  # fmt: skip
                return (f"{_summary(got.value)} as expected, but its gradient with respect to tensor argument {k + 1} "
                        f"is {_numbers(a)}", f"a gradient of {_numbers(b)}")  # fmt: skip
        mine = [w for group in got.weights for w in group]
        theirs = [w for group in want.weights for w in group]
        for k, (a, b) in enumerate(zip(mine, theirs, strict=False)):
            if not _same(a, b):
                where = f"weight {k} of the model (shape {tuple(np.shape(a))})"
                return (f"{_summary(got.value)} as expected, but leaves {where} at {_numbers(a)}",
                        f"{where} at {_numbers(b)}")  # fmt: skip
    if _is_model(want) or (isinstance(want, _Outcome) and _is_model(want.value)):
        # the reference's layers would be the exercise's answer: only the student's are shown
        g, w = (got.value if isinstance(got, _Outcome) else got), (want.value if isinstance(want, _Outcome) else want)
        if not isinstance(g, _Raised) and _fingerprint(g) == _fingerprint(w):
            return (f"{_summary(got)}: the expected layers, but other weights",
                    "these layers with other weights (which layers does the exercise reuse?)")
        return _summary(got), "another architecture (the exercise's instructions say which layers)"
    return _summary(got), _summary(want)


def _is_model(value: Any) -> bool:
    return any(_is_model(v) for v in value) if isinstance(value, tuple | list) else (
        _kind(value) in ("keras model", "torch module"))  # fmt: skip


def _numbers(value: Any) -> str:
    """An array's first four entries, ``[a, b, c, d, ...]``."""
    array = np.asarray(value)
    shown = ", ".join(f"{v:.4g}" if array.dtype.kind in "fiu" else repr(v) for v in array.reshape(-1)[:4])
    return f"[{shown}{', ...' if array.size > 4 else ''}]"


def _describe_call(call: tuple[tuple, dict]) -> str:
    args, kwargs = call

    def short(value: Any) -> str:
        return f"a {type(value).__name__}" if _kind(value) else _summary(value)

    parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()]
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
    if hasattr(value, "detach") and hasattr(value, "clone"):  # torch: a leaf that needs grad as the original
        return value.detach().clone().requires_grad_(bool(getattr(value, "requires_grad", False)))
    if isinstance(value, list | tuple):
        return type(value)(_copied(v) for v in value)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    try:
        return copy.copy(value) if isinstance(value, int | float | str | bytes) else value
    except Exception:  # noqa: BLE001
        return value
