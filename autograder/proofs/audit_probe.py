"""The answer audit's inside: one source notebook in one process, every candidate tried as every fill-in.

:mod:`autograder.proofs.audit` starts this module as ``python -m autograder.proofs.audit_probe
JOB OUT`` with the student build of the assignment first on ``PYTHONPATH`` (what students have
while the assignment is open) and the grading profile's environment. ``JOB`` (JSON) holds the
source notebook's code cells (solution markers removed: the reference answers, the visible and
the hidden tests), the auditable fill-ins with the tests each owns, and the functions that the
release notebooks define outside their fill-ins (given code, visible tests).

The notebook runs top to bottom in an IPython shell. Just before the first test of a fill-in,
the reference answer is wrapped to record how the tests call it, the tests run (the reference
must pass them all), and then every candidate is tried in its place:

* every public function and class of the installed ``vaecourse`` (``by name``: the candidate
  itself bound to the fill-in's name), and every function the release notebooks define outside
  their fill-ins;
* ``by call``: a function with the fill-in's own signature that forwards its arguments to the
  candidate (all of them, the first k, by keyword, one unpacked), and, where that returns a tuple
  or a dict, each of its items.

A candidate whose outputs on the recorded calls do not have the reference's structure (types
and shapes, not values: many fill-ins are random) is not run further; the others are installed
under the fill-in's name and the fill-in's tests (hidden tests included) are run. Controls: the
reference itself, as a candidate, must pass every test, and the release's stub none.

Standard library and IPython only; the notebook's cells import the rest. Writes ``OUT`` (JSON).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import importlib
import inspect
import io
import json
import os
import pkgutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

#: seconds a candidate may take on one recorded call, and one test cell
CALL_LIMIT = 2.0
TEST_LIMIT = 20.0
#: recorded calls per fill-in: the smallest (by the size of their array arguments) of the first
#: RECORD calls the tests make; candidates run on these only
MAX_CALLS = 4
RECORD = 40
GLUE = "__audit_candidate"


class AuditTimeout(Exception):
    """A candidate ran past its time limit."""


def _on_alarm(signum: int, frame: object) -> None:
    raise AuditTimeout()


@contextlib.contextmanager
def _limit(seconds: float) -> Iterator[None]:
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


# ---- candidates ----------------------------------------------------------------------------
def package_candidates(package: str = "vaecourse") -> dict[str, Any]:
    """Every public function and class defined in ``package`` (and its subpackages), by
    dotted name, imported from the build on ``sys.path``; and every public method of those
    classes as a function, called with ``self=None`` (a method that never uses ``self``, such
    as a model's ``reparameterize``, answers like a function) and bound to an instance made
    without arguments where the class allows it."""
    root = importlib.import_module(package)
    found: dict[str, Any] = {}
    seen: set[int] = set()
    names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
    for name in names:
        if name.startswith(f"{package}.testkit"):  # grading only: students never get it
            continue
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001,S112 (a module the notebook's framework cannot import)
            continue
        for attr, obj in sorted(vars(module).items()):
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            origin = str(getattr(obj, "__module__", ""))
            if not origin.startswith(package) or origin.startswith(f"{package}.testkit") or id(obj) in seen:
                continue
            seen.add(id(obj))
            found[f"{obj.__module__}.{attr}"] = obj
            if inspect.isclass(obj):
                found.update(_methods(obj, f"{obj.__module__}.{attr}"))
    return found


def _methods(cls: type, label: str) -> dict[str, Callable]:
    """The class's own public methods as functions (``self=None``, and bound to ``cls()``)."""
    own = {n: f for n, f in vars(cls).items() if inspect.isfunction(f) and not n.startswith("_")}
    if not own:
        return {}
    found: dict[str, Callable] = {}
    for n, f in own.items():
        found[f"{label}.{n} (self=None)"] = _unbound(f)
    try:
        with contextlib.redirect_stdout(io.StringIO()), _limit(CALL_LIMIT):
            instance = cls()
    except BaseException:  # noqa: BLE001 (needs arguments, or too slow)
        return found
    for n in own:
        bound = getattr(instance, n, None)
        if callable(bound):
            found[f"{label}().{n}"] = bound
    return found


def _unbound(function: Callable) -> Callable:
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(None, *args, **kwargs)

    try:
        params = list(inspect.signature(function).parameters.values())[1:]
        call.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pass
    return call


def visible_candidates(snippets: list[dict], namespace: dict) -> dict[str, Any]:
    """The functions the release notebooks define outside fill-ins, defined in ``namespace``'s
    globals (so that they find the notebook's imports) under a private name."""
    found: dict[str, Any] = {}
    for i, snippet in enumerate(snippets):
        scratch = dict(namespace)
        try:
            exec(compile(snippet["source"], f"<{snippet['origin']}>", "exec"), scratch)  # noqa: S102
        except Exception:  # noqa: BLE001,S112 (needs names of another notebook)
            continue
        obj = scratch.get(snippet["name"])
        if callable(obj):
            found[f"{snippet['origin']}: {snippet['name']} #{i}"] = obj
    return found


def _param_names(header: str) -> list[str]:
    tree = ast.parse(f"def f({header}): pass").body[0]
    args = tree.args  # type: ignore[attr-defined]
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return names + [a.arg for a in args.kwonlyargs]


def forwarding_sources(header: str, target: Any) -> list[tuple[str, str]]:
    """``(label, call)`` ways to forward the fill-in's parameters (its def header) to ``target``."""
    params = _param_names(header)
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        sig = None
    calls: list[tuple[str, str]] = []
    for k in range(len(params), -1, -1):
        if k == 0 and params:
            break
        if sig is not None:
            try:
                sig.bind(*range(k))
            except TypeError:
                continue
        calls.append((f"first {k} positional", ", ".join(params[:k])))
    if sig is not None:
        shared = [p for p in params if p in sig.parameters]
        if shared and shared != params[: len(shared)]:
            calls.append(("by keyword", ", ".join(f"{p}={p}" for p in shared)))
    if len(params) == 1:
        calls.append(("unpacked", f"*{params[0]}"))
    # the candidate's switches flipped (``analytic_kl=False``), on the first way that binds
    if sig is not None and calls:
        label, call = calls[0]
        for p in sig.parameters.values():
            if isinstance(p.default, bool) and p.name not in params and p.kind is not p.VAR_KEYWORD:
                flipped = f"{p.name}={not p.default}"
                calls.append((f"{label}, {flipped}", f"{call}, {flipped}" if call else flipped))
    return calls


def make_function(name: str, header: str, call: str, target: Any, selector: str = "",
                  namespace: dict | None = None) -> Callable:  # fmt: skip
    """A function ``name(<header>)`` that returns ``target(<call>)<selector>``; the header's
    defaults are read in ``namespace`` (the notebook's: ``loss_fn=compute_loss``)."""
    scope = {**(namespace or {}), GLUE: target}
    exec(f"def {name}({header}):\n    return {GLUE}({call}){selector}\n", scope)  # noqa: S102
    return scope[name]


# ---- comparing structures ------------------------------------------------------------------
def _shape_of(value: Any) -> tuple | None:
    shape = getattr(value, "shape", None)
    if shape is None:
        return None
    try:
        return tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | complex) or type(value).__module__ == "numpy" and _shape_of(value) == ()


def similar(reference: Any, candidate: Any) -> bool:
    """Whether ``candidate`` could stand for ``reference`` as a test sees it: the same kind
    of value and the same shape (values are not compared: many fill-ins draw random numbers)."""
    if reference is None:
        return candidate is None
    if isinstance(reference, tuple | list):
        return (isinstance(candidate, tuple | list) and len(candidate) == len(reference)
                and all(similar(r, c) for r, c in zip(reference, candidate, strict=True)))  # fmt: skip
    if isinstance(reference, dict):
        return (isinstance(candidate, dict) and set(candidate) == set(reference)
                and all(similar(reference[k], candidate[k]) for k in reference))  # fmt: skip
    if isinstance(reference, bool | str):
        return type(candidate) is type(reference)
    ref_shape = _shape_of(reference)
    if ref_shape is not None or _is_number(reference):
        cand_shape = _shape_of(candidate)
        if cand_shape is None and _is_number(candidate):
            cand_shape = ()
        if ref_shape is None:
            ref_shape = ()
        return cand_shape is not None and (cand_shape == ref_shape or (not ref_shape and cand_shape in ((), (1,))))
    for kind in _kinds(reference):
        if isinstance(candidate, kind):
            return True
    if callable(reference):
        return callable(candidate)
    return type(candidate) is type(reference)


def _kinds(value: Any) -> list[type]:
    """The framework base classes ``value`` is an instance of (a model, a layer, a figure)."""
    kinds = []
    for module, name in (("keras", "Layer"), ("keras", "Model"), ("torch.nn", "Module"),
                         ("matplotlib.figure", "Figure")):  # fmt: skip
        mod = sys.modules.get(module)
        base = getattr(getattr(mod, "layers", mod), name, None) if mod else None
        if isinstance(base, type) and isinstance(value, base):
            kinds.append(base)
    return kinds


def _copy(value: Any) -> Any:
    """A copy of a recorded argument that a candidate may change in place (NumPy arrays)."""
    if type(value).__module__ == "numpy":
        return copy.copy(value)
    if isinstance(value, list | tuple):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _size(value: Any) -> int:
    """How many numbers the arrays in ``value`` hold (a call's cost, roughly)."""
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    shape = _shape_of(value)
    if shape:
        total = 1
        for d in shape:
            total *= d or 1
        return total
    return 1


def _smallest(calls: list) -> list:
    """The calls the candidates are tried on: the smallest ones (at most ten times the size of
    the smallest, at most :data:`MAX_CALLS`), one per distinct size."""
    ranked = sorted(calls, key=lambda c: _size(c[:2]))
    if not ranked:
        return []
    bound = max(1000, 10 * _size(ranked[0][:2]))
    chosen, sizes = [], set()
    for call in ranked:
        size = _size(call[:2])
        if size <= bound and size not in sizes:
            chosen.append(call)
            sizes.add(size)
    return chosen[:MAX_CALLS]


def _eager(values: Any) -> bool:
    """False for arguments that are symbolic (a call recorded while a graph or a Keras model
    was traced): they mean nothing outside that trace."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and not tf.executing_eagerly():
        return False
    if isinstance(values, list | tuple):
        return all(_eager(v) for v in values)
    if isinstance(values, dict):
        return all(_eager(v) for v in values.values())
    return "KerasTensor" not in type(values).__name__ and "SymbolicTensor" not in type(values).__name__


# ---- running the notebook ------------------------------------------------------------------
class Probe:
    """One source notebook, run in an IPython shell, its fill-ins audited as their tests come."""

    def __init__(self, job: dict) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.job = job
        self.shell = InteractiveShell.instance()
        self.ns = self.shell.user_ns
        self.cells = job["cells"]
        self.by_id = {c["grade_id"]: c for c in self.cells if c.get("grade_id")}
        self.pending = {gid: spec for gid, spec in job["fill_ins"].items()}
        self.report: dict[str, Any] = {"fill_ins": {}, "errors": [], "skipped": job.get("skipped", {})}
        signal.signal(signal.SIGALRM, _on_alarm)

    def run_cell(self, source: str, limit: float = TEST_LIMIT) -> tuple[bool, str]:
        """Run ``source``; (success, the error's last line)."""
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), _limit(limit):
                result = self.shell.run_cell(source, store_history=False, silent=True)
        except AuditTimeout:
            return False, "timed out"
        error = result.error_in_exec or result.error_before_exec
        self._close_figures()
        if error is not None:
            return False, f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        return True, ""

    def _close_figures(self) -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")

    def run(self) -> dict:
        started = time.perf_counter()
        for index, cell in enumerate(self.cells):
            gid = cell.get("grade_id")
            owner = next((f for f, spec in self.pending.items() if gid in spec["tests"]), None)
            if owner is not None:
                spec = self.pending.pop(owner)
                self.audit(owner, spec)
                continue  # the audit ran this fill-in's tests with the reference in place
            if any(gid in spec["tests"] for spec in self.report["fill_ins"].values()):
                continue
            ok, error = self.run_cell(cell["source"], limit=600.0)
            if not ok and cell.get("kind") != "given-may-fail":
                self.report["errors"].append(f"cell {index} ({gid or 'given code'}): {error}")
        self.report["seconds"] = time.perf_counter() - started
        return self.report

    # -- one fill-in ---------------------------------------------------------------------------
    def audit(self, gid: str, spec: dict) -> None:
        started = time.perf_counter()
        entry: dict[str, Any] = {"tests": spec["tests"], "target": spec["target"], "solved_by": [],
                                 "partial": [], "tried": 0, "ran_tests": 0}  # fmt: skip
        self.report["fill_ins"][gid] = entry
        name, method = spec["target"], spec.get("method")
        reference = self.ns.get(name)
        if reference is None:
            entry["error"] = f"the reference cell defines no {name}"
            return
        calls: list[tuple[tuple, dict, Any]] = []
        self._record(name, method, reference, calls)
        passed = self.run_tests(spec["tests"])
        self._install(name, method, reference)
        if set(passed) != set(spec["tests"]):
            entry["error"] = f"the reference answer fails {sorted(set(spec['tests']) - set(passed))}"
            return
        calls[:] = _smallest(calls)
        entry["calls"] = len(calls)
        candidates = dict(package_candidates())
        candidates.update(visible_candidates(self.job["visible"], self.ns))
        header = spec["header"]
        # controls: a copy of the reference answer as a candidate (must solve), the stub (must not)
        if method:
            entry["control_reference"] = True  # the reference class itself passed above
        else:
            copy_ref = make_function(name, header, _call_of(header), reference, namespace=self.ns)
            entry["control_reference"] = self._try(name, method, header, reference, copy_ref,
                                                   spec["tests"]) == set(spec["tests"])
        stub = make_function(name, header, _call_of(header), _raise_not_implemented, namespace=self.ns)
        entry["control_stub"] = not self._try(name, method, header, reference, stub, spec["tests"])
        for cand_name, cand in candidates.items():
            clock = time.perf_counter()
            for label, fn in self._variants(name, method, header, cand, calls, spec):
                entry["tried"] += 1
                ok = self._try(name, method, header, reference, fn, spec["tests"])
                entry["ran_tests"] += 1
                if ok == set(spec["tests"]):
                    entry["solved_by"].append(f"{cand_name} ({label})")
                elif ok:
                    entry["partial"].append({"candidate": f"{cand_name} ({label})", "passes": sorted(ok)})
                else:
                    entry.setdefault("failed", []).append(f"{cand_name} ({label})")
            if time.perf_counter() - clock > 1.0:
                entry.setdefault("slow", {})[cand_name] = round(time.perf_counter() - clock, 2)
        entry["seconds"] = round(time.perf_counter() - started, 2)

    def _record(self, name: str, method: str | None, reference: Any, calls: list) -> None:
        target = getattr(reference, method) if method else reference

        def recorder(*args: Any, **kwargs: Any) -> Any:
            out = target(*args, **kwargs)
            if len(calls) < RECORD and _eager(args) and _eager(kwargs):
                calls.append((tuple(_copy(a) for a in (args[1:] if method else args)), _copy(kwargs), out))
            return out

        recorder.__wrapped__ = target  # type: ignore[attr-defined]  (signature and source stay the reference's)
        if method:
            patched = type(name, (reference,), {method: recorder})
            patched.__module__ = reference.__module__
            self.ns[name] = patched
        else:
            self.ns[name] = recorder

    def _install(self, name: str, method: str | None, value: Any) -> None:
        self.ns[name] = value

    def run_tests(self, tests: list[str]) -> list[str]:
        return [t for t in tests if self.run_cell(self.by_id[t]["source"])[0]]

    def _try(self, name: str, method: str | None, header: str, reference: Any, fn: Any,
             tests: list[str]) -> set[str]:  # fmt: skip
        """Install ``fn`` as the fill-in (a function, or the method of a subclass of the
        reference class), run the tests, put the reference back; the tests passed."""
        if method:
            forward = make_function(method, "self, " + header, _call_of(header), fn, namespace=self.ns)
            value = type(name, (reference,), {method: forward})
        else:
            value = fn
        self._install(name, method, value)
        try:
            return set(self.run_tests(tests))
        finally:
            self._install(name, method, reference)

    def _variants(self, name: str, method: str | None, header: str, cand: Any, calls: list,
                  spec: dict) -> Iterator[tuple[str, Any]]:  # fmt: skip
        """The ways ``cand`` can stand for the fill-in that behave like it on the recorded calls."""
        if spec.get("kind") == "class":
            if inspect.isclass(cand):
                yield "by name", cand
            return
        forms: list[tuple[str, Any]] = []
        if not method:
            forms.append(("by name", cand))
        for label, call in forwarding_sources(header, cand):
            forms.append((f"by call, {label}", make_function(name, header, call, cand, namespace=self.ns)))
        self.too_slow = False
        for label, fn in forms:
            if self.too_slow:  # slower than CALL_LIMIT on a recorded call: not an answer (references take ms)
                return
            outs = self._outputs(fn, calls)
            if outs is None:
                continue
            for glue, post in _glue(outs[0]):
                try:
                    ok = all(similar(ref, post(out)) for (_, _, ref), out in zip(calls, outs, strict=True))
                except Exception:  # noqa: BLE001 (this glue does not fit these outputs)
                    ok = False
                if ok:
                    yield label + glue, fn if not glue else _composed(fn, post)

    def _outputs(self, fn: Any, calls: list) -> list | None:
        """``fn`` on every recorded call, or None when a call fails or takes too long."""
        if not calls:
            return None
        outs = []
        sink = io.StringIO()
        for args, kwargs, _ in calls:
            try:
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), _limit(CALL_LIMIT):
                    outs.append(fn(*_copy(args), **_copy(kwargs)))
            except BaseException as error:  # noqa: BLE001 (any failure, SystemExit too, rules it out)
                self.too_slow = isinstance(error, AuditTimeout)
                self._close_figures()
                return None
        self._close_figures()
        return outs


def _glue(example: Any) -> list[tuple[str, Callable[[Any], Any]]]:
    """The one-line glue a student could put around a candidate's result, judged from one
    result: nothing, one item of a tuple or dict, and the (negated) mean of a vector (a
    per-example quantity turned into a batch loss)."""
    picks: list[tuple[str, Callable[[Any], Any]]] = [("", lambda out: out)]
    if isinstance(example, tuple | list) and 1 < len(example) <= 8:
        picks += [(f", item {k}", lambda out, k=k: out[k]) for k in range(len(example))]
    elif isinstance(example, dict) and len(example) <= 16:
        picks += [(f", item {k!r}", lambda out, k=k: out[k]) for k in example]
    glue = list(picks)
    for label, pick in picks:
        try:
            shape = _shape_of(pick(example))
        except Exception:  # noqa: BLE001,S112
            continue
        if shape is not None and len(shape) == 1:
            glue.append((f"{label}, mean", lambda out, p=pick: _mean(p(out))))
            glue.append((f"{label}, minus the mean", lambda out, p=pick: -_mean(p(out))))
    return glue


def _mean(value: Any) -> Any:
    """The mean in the value's own framework (a TensorFlow or PyTorch mean keeps gradients)."""
    module = type(value).__module__
    if module.startswith("tensorflow"):
        return sys.modules["tensorflow"].reduce_mean(value)
    if module.startswith("torch"):
        return value.float().mean()
    import numpy as np

    return np.mean(np.asarray(value, dtype=np.float64))


def _composed(fn: Callable, post: Callable[[Any], Any]) -> Callable:
    def glued(*args: Any, **kwargs: Any) -> Any:
        return post(fn(*args, **kwargs))

    glued.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return glued


def _raise_not_implemented(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError()


def _call_of(header: str) -> str:
    """The call that passes a def header's parameters on (positional ones by position)."""
    tree = ast.parse(f"def f({header}): pass").body[0].args  # type: ignore[attr-defined]
    names = [a.arg for a in (*tree.posonlyargs, *tree.args)]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    parts = names + ([f"*{tree.vararg.arg}"] if tree.vararg else [])
    parts += [f"{a.arg}={a.arg}" for a in tree.kwonlyargs]
    parts += [f"**{tree.kwarg.arg}"] if tree.kwarg else []
    return ", ".join(parts)


def main(argv: list[str]) -> int:
    job_path, out_path = argv
    with open(job_path) as f:
        job = json.load(f)
    os.chdir(job.get("workdir", os.getcwd()))
    try:
        report = Probe(job).run()
    except Exception:  # noqa: BLE001 (the orchestrator reports it)
        report = {"crash": traceback.format_exc()}
    with open(out_path, "w") as f:
        json.dump(report, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
