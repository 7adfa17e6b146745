"""The grading kernel's diagnosis (``vaecourse.testkit.diagnose``): which catalogued mistake a
failed answer behaves like, or where it differs from the reference, on the calls the test made."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from vaecourse.testkit import diagnose

REFERENCE = "def kernel(x, bandwidth=None):\n    h = 1.0 if bandwidth is None else bandwidth\n    return np.exp(-x**2 / (2 * h**2))\n"
NOT_SQUARED = "def kernel(x, bandwidth=None):\n    h = 1.0 if bandwidth is None else bandwidth\n    return np.exp(-x**2 / (2 * h))\n"
NO_HALF = "def kernel(x, bandwidth=None):\n    h = 1.0 if bandwidth is None else bandwidth\n    return np.exp(-x**2 / h**2)\n"
MISTAKES = [{"name": "no_half", "description": "leaves out the 1/2 in the exponent", "source": NO_HALF},
            {"name": "not_squared", "description": "divides by 2h instead of 2h^2", "source": NOT_SQUARED}]  # fmt: skip


def _plan(mistakes: list[dict] | None = None, function: str = "kernel", reference: str = REFERENCE) -> str:
    """The grader's plan for ``function``: its reference answer and catalogued mistakes."""
    return json.dumps({"function": function, "reference": reference, "mistakes": MISTAKES if mistakes is None else mistakes})


def _verdict(answer: str, name: str, plan: str, test: Callable[[Callable], object], **names: object) -> dict:
    """The diagnosis of ``answer`` (source defining ``name``, run with NumPy and ``names``
    around it) after ``test`` called it as a test does: through the watched name. The
    function the notebook holds is put back afterwards."""
    namespace: dict = {"np": np, **names}
    exec(answer, namespace)  # noqa: S102 (a student's answer, as the kernel holds it)
    diagnose.watch(namespace, name)
    test(namespace[name])
    verdict = diagnose.diagnose(namespace, plan)
    assert namespace[name].__name__ == name and not hasattr(namespace[name], "_vaecourse_calls")
    return verdict


def _diagnosed(answer: str, calls: list[tuple[np.ndarray, float | None]], plan: str | None = None) -> dict:
    """The diagnosis of a ``kernel`` answer after a test called it on ``calls`` (x, bandwidth)."""

    def test(kernel: Callable) -> None:
        for x, h in calls:
            kernel(x.copy()) if h is None else kernel(x.copy(), bandwidth=h)

    return _verdict(answer, "kernel", plan or _plan(), test)


SMALL = [(np.linspace(-1, 1, 3), None), (np.linspace(-2, 2, 4), None), (np.linspace(0, 1, 5), None)]


def test_a_catalogued_mistake_is_named_in_the_catalogues_words() -> None:
    verdict = _diagnosed(NO_HALF, SMALL)
    assert verdict["status"] == "mistake" and verdict["mistake"] == "no_half"
    assert verdict["message"].startswith("Diagnosis: your `kernel` behaves like a common mistake: leaves out the 1/2")


def test_a_mistake_seen_only_on_a_later_larger_call_is_still_found() -> None:
    """The test's three smallest calls use the default bandwidth, where dividing by 2h and by 2h²
    agree; the failure shows on a fourth, larger call with bandwidth 1.7 (the case that the first
    version, comparing only the three smallest calls, reported as "returns what is expected")."""
    calls = [*SMALL, (np.linspace(-3, 3, 18), 1.7)]
    verdict = _diagnosed(NOT_SQUARED, calls)
    assert verdict["status"] == "mistake" and verdict["mistake"] == "not_squared", verdict


def test_no_matching_mistake_shows_the_call_the_expected_and_the_actual_value() -> None:
    wrong = "def kernel(x, bandwidth=None):\n    return np.ones_like(x) * 0.5\n"
    verdict = _diagnosed(wrong, SMALL)
    assert verdict["status"] == "differs"
    assert "shape (3,) float64: [-1, 0, 1]" in verdict["call"]
    assert verdict["actual"] == "shape (3,) float64: [0.5, 0.5, 0.5]"
    assert verdict["expected"].startswith("shape (3,) float64: [0.6065, 1, 0.6065]")
    assert "your `kernel` gives shape (3,) float64: [0.5, 0.5, 0.5]; expected:" in verdict["message"]


def test_an_answer_right_on_every_call_says_the_test_checked_something_else() -> None:
    verdict = _diagnosed(REFERENCE, [*SMALL, (np.linspace(-3, 3, 18), 1.7)])
    assert verdict["status"] == "same" and verdict["calls"] == 3
    assert "returns what is expected, so the test failed on something else" in verdict["message"]


def test_a_mistake_that_is_also_right_on_these_calls_is_not_named() -> None:
    """Dividing by 2h equals the reference at h = 1: on default-bandwidth calls alone it must not
    be named for an answer that differs elsewhere."""
    wrong = "def kernel(x, bandwidth=None):\n    return np.exp(-x**2 / 3)\n"
    verdict = _diagnosed(wrong, SMALL, _plan([MISTAKES[1]]))
    assert verdict["status"] == "differs"


def test_a_test_that_stopped_before_calling_says_so() -> None:
    verdict = _diagnosed(NO_HALF, [])
    assert verdict["status"] == "not called"
    assert "stopped before it called your `kernel`" in verdict["message"]


@pytest.mark.parametrize("raising", ["def kernel(x, bandwidth=None):\n    raise ValueError('no')\n"])
def test_an_answer_that_raises_is_summarised_not_propagated(raising: str) -> None:
    def test(kernel: Callable) -> None:
        with pytest.raises(ValueError):
            kernel(np.zeros(3))

    verdict = _verdict(raising, "kernel", _plan(), test)
    assert verdict["status"] == "differs" and verdict["actual"] == "raises ValueError"


def test_arguments_changed_in_place_by_the_answer_are_replayed_as_the_test_gave_them() -> None:
    mutating = "def kernel(x, bandwidth=None):\n    x *= 0\n    return np.exp(-x**2 / 2)\n"
    verdict = _diagnosed(mutating, SMALL)
    assert verdict["status"] == "differs" and "[-1, 0, 1]" in verdict["call"]


BUILD = """def build(latent_dim, filters=32):
    inputs = keras.Input(shape=(latent_dim,))
    x = keras.layers.Dense(7 * 7 * filters, activation="relu")(inputs)
    x = keras.layers.Reshape((7, 7, filters))(x)
    return keras.Model(inputs, keras.layers.Conv2DTranspose(1, 3, strides=4, padding="same")(x))
"""


def test_keras_models_are_compared_by_their_architecture() -> None:
    """Models are told apart by layer types, the configuration that shapes them (filters,
    activation, padding, ...), output shapes and weights: Keras 3 has no ``output_shape``, and a
    comparison of layer types alone called every wrong decoder "what is expected"."""
    keras = pytest.importorskip("keras")
    wrong_default = BUILD.replace("filters=32", "filters=16")
    sigmoid = BUILD.replace('strides=4, padding="same")', 'strides=4, padding="same", activation="sigmoid")')
    plan = _plan([{"name": "sigmoid", "description": "puts a sigmoid on the last layer", "source": sigmoid},
                  {"name": "default_16", "description": "changes the default to filters=16", "source": wrong_default}],
                 "build", BUILD)  # fmt: skip

    def build_2(build: Callable) -> None:
        build(2)

    def build_2_fails(build: Callable) -> None:
        with pytest.raises(ValueError):
            build(2)

    for answer, expected in [(wrong_default, "default_16"), (sigmoid, "sigmoid")]:
        verdict = _verdict(answer, "build", plan, build_2, keras=keras)
        assert verdict.get("mistake") == expected, verdict
    verdict = _verdict(BUILD.replace("7 * 7 * filters,", "7 * 7 * filters + 1,"), "build", plan, build_2_fails, keras=keras)
    assert verdict["actual"] == "raises ValueError" and "your `build` raises ValueError; expected: another" in verdict["message"]
    verdict = _verdict(BUILD.replace('activation="relu"', 'activation="tanh"'), "build", plan, build_2, keras=keras)
    assert verdict["status"] == "differs" and "Dense(units=1568, activation=tanh)" in verdict["actual"]
    assert verdict["expected"] == "another architecture (the exercise's instructions say which layers)"
    assert "relu" not in verdict["message"]  # the reference's layers are the exercise's answer


def test_torch_modules_are_compared_with_their_activations() -> None:
    """... and their weights: seeded alike, one architecture gives the same weights; a clone
    (new, untrained weights) of a given model does not."""
    torch = pytest.importorskip("torch")

    def seeded(*layers: object) -> object:
        torch.manual_seed(0)
        return torch.nn.Sequential(*[layer() for layer in layers])

    relu = seeded(lambda: torch.nn.Linear(3, 4), torch.nn.ReLU)
    assert diagnose._same(relu, seeded(lambda: torch.nn.Linear(3, 4), torch.nn.ReLU))
    assert not diagnose._same(relu, seeded(lambda: torch.nn.Linear(3, 4), torch.nn.Sigmoid))
    assert not diagnose._same(relu, seeded(lambda: torch.nn.Linear(3, 5), torch.nn.ReLU))
    assert not diagnose._same(relu, torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU()))  # other weights


def test_a_result_without_gradients_is_told_from_the_right_numbers() -> None:
    """Right numbers computed outside the autodiff graph (NumPy, a detached tensor): the
    gradient with respect to each tensor argument is part of what is compared."""
    torch = pytest.importorskip("torch")
    reference = "def scale(mu, logvar):\n    return mu * torch.exp(0.5 * logvar)\n"
    detached = "def scale(mu, logvar):\n    return mu * torch.exp(0.5 * logvar).detach()\n"
    numpy = "def scale(mu, logvar):\n    return torch.tensor(mu.detach().numpy() * np.exp(0.5 * logvar.detach().numpy()))\n"
    plan = _plan([{"name": "numpy", "description": "computes in NumPy: no gradient", "source": numpy},
                  {"name": "detached", "description": "detaches the standard deviation", "source": detached}],
                 "scale", reference)  # fmt: skip

    def test(scale: Callable) -> None:
        scale(torch.ones(2, requires_grad=True), torch.zeros(2, requires_grad=True))

    for answer, expected in [(detached, "detached"), (numpy, "numpy")]:
        verdict = _verdict(answer, "scale", plan, test, torch=torch)
        assert verdict.get("mistake") == expected and not verdict["also"], verdict
    verdict = _verdict(numpy, "scale", _plan([], "scale", reference), test, torch=torch)
    assert verdict["status"] == "differs" and "but no gradient reaches its tensor argument 1" in verdict["actual"]


def test_tensorflow_gradients_are_compared_too() -> None:
    tf = pytest.importorskip("tensorflow")
    reference = "def energy(x):\n    return tf.reduce_sum(x ** 2)\n"
    numpy = "def energy(x):\n    return tf.constant(np.sum(np.asarray(x) ** 2))\n"
    plan = _plan([{"name": "numpy", "description": "right numbers computed in NumPy: no gradient", "source": numpy}],
                 "energy", reference)  # fmt: skip
    verdict = _verdict(numpy, "energy", plan, lambda energy: energy(tf.constant([1.0, 2.0])), tf=tf)
    assert verdict.get("mistake") == "numpy"


def test_mistakes_with_the_same_results_are_all_named() -> None:
    """Two catalogued mistakes that agree on the test's inputs: the feedback names both (the
    student's may be either)."""
    twice = "def kernel(x, bandwidth=None):\n    return np.exp(-x**2)\n"
    plan = _plan([*MISTAKES, {"name": "twice", "description": "drops the 2 of 2h^2", "source": twice}])
    verdict = _diagnosed(NO_HALF, SMALL, plan)
    assert verdict.get("mistake") == "no_half" and [m["mistake"] for m in verdict["also"]] == ["twice"], verdict
    assert verdict["message"].endswith("These mistakes give the same results here too: drops the 2 of 2h^2.")


STEP = """def train_step(model, x, optimizer):
    optimizer.zero_grad()
    loss = ((model(x) - x) ** 2).sum()
    loss.backward()
    optimizer.step()
    return loss.detach()
"""
STEP_MISTAKES = [
    {"name": "no_zero_grad", "description": "never clears the gradients", "source": STEP.replace("    optimizer.zero_grad()\n", "")},
    {"name": "no_step", "description": "forgets optimizer.step()", "source": STEP.replace("    optimizer.step()\n", "")},
]  # fmt: skip


@pytest.mark.parametrize("mistake", ["no_zero_grad", "no_step"])
def test_a_training_steps_effect_on_the_weights_is_compared(mistake: str) -> None:
    """A training step returns the same loss whether or not it updates the weights: the weights
    it leaves are compared too, each function starting from the same model, gradients and
    optimizer state (and the test's model is left as the test left it)."""
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(2, 2, dtype=torch.float64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    after_test: dict = {}

    def test(train_step: Callable) -> None:
        for _ in range(2):
            train_step(model, torch.ones(3, 2, dtype=torch.float64), optimizer)
        after_test.update({k: v.clone() for k, v in model.state_dict().items()})

    answer = next(m["source"] for m in STEP_MISTAKES if m["name"] == mistake)
    verdict = _verdict(answer, "train_step", _plan(STEP_MISTAKES, "train_step", STEP), test, torch=torch)
    assert verdict.get("mistake") == mistake, verdict
    assert all(torch.equal(after_test[k], v) for k, v in model.state_dict().items())


def test_a_step_with_an_unknown_mistake_shows_the_weight_it_leaves_otherwise() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(1, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        model.weight.fill_(3.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    twice = STEP.replace("    optimizer.step()\n", "    optimizer.step()\n    optimizer.step()\n")
    verdict = _verdict(twice, "train_step", _plan(STEP_MISTAKES, "train_step", STEP),
                       lambda step: step(model, torch.ones(1, 1, dtype=torch.float64), optimizer), torch=torch)
    assert verdict["status"] == "differs", verdict
    assert verdict["call"].startswith("(a Linear; shape (1, 1) float64: [1]; a SGD)")
    assert "as expected, but leaves weight 0 of the model (shape (1, 1)) at [" in verdict["actual"]
    assert verdict["expected"].startswith("weight 0 of the model (shape (1, 1)) at [")


KERAS_STEP = """def train_step(model, x, optimizer):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum((model(x) - x) ** 2)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss
"""
ASCENT = KERAS_STEP.replace("zip(gradients,", "zip([-g for g in gradients],")


def test_a_keras_training_step_is_compared_by_the_weights_it_leaves() -> None:
    """Adam creates its moments at its first step: every function compared starts from the
    same weights and moments (moments created during a replay go back to zero)."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    plan = _plan([{"name": "ascent", "description": "applies the negated gradients (maximizes the loss)",
                   "source": ASCENT}], "train_step", KERAS_STEP)  # fmt: skip
    for answer, mistake in [(ASCENT, "ascent"), (KERAS_STEP, None)]:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
        optimizer = keras.optimizers.Adam(0.1)
        after_test: list = []

        def test(step: Callable, model: object = model, optimizer: object = optimizer, after: list = after_test) -> None:
            step(model, np.ones((3, 2), np.float32), optimizer)
            after += [w.numpy().copy() for w in model.weights]

        verdict = _verdict(answer, "train_step", plan, test, tf=tf)
        assert verdict.get("mistake") == mistake and verdict["status"] == ("mistake" if mistake else "same"), verdict
        assert all(np.array_equal(a, w.numpy()) for a, w in zip(after_test, model.weights, strict=True))


def test_where_the_reference_cannot_run_the_mistakes_are_still_compared() -> None:
    """A reference that raises here (it needs something this kernel lacks) is no comparison: the
    verdict must not call the answer right; a catalogued mistake with the same results is named."""
    broken = "def kernel(x, bandwidth=None):\n    raise NotImplementedError('not in this build')\n"
    plan = _plan(MISTAKES, "kernel", broken)
    verdict = _diagnosed(NO_HALF, SMALL, plan)
    assert verdict["status"] == "mistake" and verdict["mistake"] == "no_half", verdict
    verdict = _diagnosed("def kernel(x, bandwidth=None):\n    return x\n", SMALL, plan)
    assert verdict["status"] == "unknown" and verdict["message"] == ""


def test_keras_models_with_one_architecture_are_told_apart_by_their_outputs() -> None:
    """A model whose layers and weights agree but whose Lambda adds another constant (a fixed
    log-variance of 1 instead of 0)."""
    keras = pytest.importorskip("keras")
    source = """def fix(latent=2):
    inputs = keras.Input(shape=(3,))
    mean = keras.layers.Dense(latent)(inputs)
    logvar = keras.layers.Lambda(lambda m: m * 0 + {c})(mean)
    return keras.Model(inputs, [mean, logvar])
"""
    plan = _plan([{"name": "ones", "description": "fixes the log-variance to 1", "source": source.format(c="1.0")}],
                 "fix", source.format(c="0.0"))  # fmt: skip

    def test(fix: Callable) -> None:
        fix()
        fix(2)

    assert _verdict(source.format(c="1.0"), "fix", plan, test, keras=keras).get("mistake") == "ones"
