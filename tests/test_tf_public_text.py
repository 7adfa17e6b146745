"""What students can read in the MNIST notebook's modules states none of its answers (issue 22).

The students' build of ``vaecourse`` replaces the bodies between ``# BEGIN FILL-IN`` /
``# BEGIN ANSWER`` and ``# END`` and keeps everything else: code, docstrings and comments. So
the text outside those blocks must say what a function computes, never how a graded cell
computes it, nor what a written question asks students to work out. Each pattern below is an
answer that such text once stated (or would state), with the graded cell it answers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "helpers" / "src" / "vaecourse"
# The modules of the MNIST notebook (part of them answer later notebooks' cells too).
MODULES = ["tf/models.py", "tf/sampling.py", "tf/losses.py", "tf/latent.py", "tf/architecture.py",
           "data.py", "plots.py"]

ANSWERS = {
    "reparameterize, Sampling.call": r"exp\(\s*(0?\.5\s*\*\s*)?(z_)?log_?var\s*(/\s*2\s*)?\)\s*\*\s*(eps|epsilon|noise)",
    "question 3.5 (why the trick works)": r"differentiable function of|would block gradients",
    "compute_loss, question 3.7": r"log p\(z\)\s*-\s*log q\(z\|x\)|log q\(z\|x\)\s*-\s*log p\(z\)",
    "kl_reconstruction_loss": r"1(\.0)?\s*\+\s*(z_)?logvar\s*-\s*(mean|mu)(\*\*2|\^2|²)",
    "build_decoder, question 2.2": r"Reshape\(\(H\s*//\s*4",
    "question 5.1 (the encoder's sizes)": r"28\s*->\s*13\s*->\s*6|unpadded as in the tutorial",
    "build_pooling_decoder, question 11.3": r"//\s*4\s*\+\s*1|8\s*->\s*16\s*->\s*14\s*->\s*28",
    "walk_src_to_dst": r"\(1\s*-\s*t\)\s*\*?\s*z_src",
    "plot_latent_space": r"Uses :func:`get_allClass_encodings`, then",
}

_BEGIN = re.compile(r"^\s*# BEGIN (?:FILL-IN|ANSWER) \S+")
_END = re.compile(r"^\s*# END (?:FILL-IN|ANSWER) \S+")


def public_text(source: str) -> str:
    """``source`` without the lines of its blocks: what the students' build keeps."""
    kept, inside = [], False
    for line in source.splitlines():
        if _BEGIN.match(line):
            inside = True
        elif _END.match(line):
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def test_public_text_drops_exactly_the_blocks():
    source = "def f():\n    \"\"\"doc\"\"\"\n    # BEGIN FILL-IN f\n    return 1\n    # END FILL-IN f\n# after\n"
    assert public_text(source) == 'def f():\n    """doc"""\n# after'


@pytest.mark.parametrize("module", MODULES)
def test_no_answer_outside_the_blocks(module):
    text = public_text((PACKAGE / module).read_text())
    found = {cell: m.group(0) for cell, pattern in ANSWERS.items() if (m := re.search(pattern, text))}
    assert not found, f"{module} states, outside its blocks, the answers of {found}"


@pytest.mark.parametrize("cell, example", [
    ("reparameterize, Sampling.call", "z = mean + exp(0.5 * logvar) * eps"),
    ("reparameterize, Sampling.call", "z = z_mean + exp(0.5 * z_log_var) * eps"),
    ("reparameterize, Sampling.call", "z = mean +\\nexp(logvar/2) * eps".replace("\\n", " ")),
    ("compute_loss, question 3.7", "-mean(log p(x|z) + log p(z) - log q(z|x))"),
    ("kl_reconstruction_loss", "KL = -0.5 * sum(1 + logvar - mean**2 - exp(logvar))"),
    ("question 5.1 (the encoder's sizes)", "Unpadded as in the tutorial (28 -> 13 -> 6)"),
    ("build_pooling_decoder, question 11.3", "s = H // 4 + 1 (28: 8 -> 16 -> 14 -> 28)"),
    ("walk_src_to_dst", "z_t = (1 - t) * z_src + t * z_dst"),
])
def test_the_patterns_catch_the_answers_once_stated(cell, example):
    assert re.search(ANSWERS[cell], example), f"{ANSWERS[cell]!r} misses {example!r}"
