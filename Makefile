# The course's commands. `make all` installs everything and runs the main job;
# `make test` runs the tests. VAECOURSE_DATA defaults to ../shared/data when present.
SHELL := /bin/bash
PYTHON ?= python3
SHARED_DATA := $(shell [ -d ../shared/data ] && cd ../shared/data && pwd)
export VAECOURSE_DATA ?= $(SHARED_DATA)
export TF_ENABLE_ONEDNN_OPTS := 0
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: all install demo test lint unit nbval release samples audit bench bench-diagnosis bench-grading bench-memory bench-fair-share bench-celeba student-helpers mnist-demo \
	fullscale colab-check slurm

all: install demo

install:
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m pip install -q -e helpers

# The main job: grade the sample submissions end to end (collect, repair, autograde,
# feedback, export) and print the score table; exits non-zero on any unexpected score.
demo:
	$(PYTHON) -m autograder demo -j 2

# Train the reference MNIST VAE in the CI profile and write its figures to out/mnist-demo.
mnist-demo:
	VAECOURSE_PROFILE=ci $(PYTHON) benchmarks/mnist_demo.py --out out/mnist-demo

release:
	$(PYTHON) -m autograder release

samples:
	$(PYTHON) -m autograder samples --pack -j 2

student-helpers:
	$(PYTHON) -m autograder student-helpers build/student-helpers

# Grade every assignment's samples with Colab's library versions (Python 3.13, TF 2.20, ...):
# builds build/colab-venv from requirements-colab.txt (about 7 GB). See .ci/colab-versions;
# e.g. make colab-check COLAB_ARGS="--tests kl_theory".
colab-check:
	.ci/colab-versions $(COLAB_ARGS)

bench:
	$(PYTHON) benchmarks/mnist_tf.py --latent 2 --epochs 10
	$(PYTHON) benchmarks/mnist_tf.py --latent 2 --epochs 10 --width 16 --lr 1e-3 --schedule constant --baseline-width 32
	$(PYTHON) benchmarks/mnist_tf.py --latent 16 --epochs 10 --width 16 --lr 1e-3 --schedule constant --baseline-steps 0
	$(PYTHON) benchmarks/celeba_torch.py

# One epoch of the CelebA notebook's training on the local faces (about 35 min on 2 CPU cores),
# FLOPs per image and the Colab T4 projection; writes docs/results/celeba_vae/measure.json.
bench-celeba:
	$(PYTHON) benchmarks/celeba_epoch.py --out docs/results/celeba_vae

# Every notebook in the full profile (real data sizes, every evaluation), training capped.
fullscale:
	$(PYTHON) benchmarks/fullscale.py

# Try everything students are given as the answer of every graded cell (issue 22; CI runs it too).
audit:
	$(PYTHON) -m autograder audit

# Feedback on automatic one-site mutants of the reference answers: named function, concrete discrepancy.
bench-diagnosis:
	$(PYTHON) benchmarks/diagnosis.py --per-fill-in 3 -j 2

bench-grading:
	$(PYTHON) benchmarks/grading.py --students 4 --jobs 1 2 4

# Peak data segment and resident memory of each assignment's grading kernel (the sandbox's limit).
bench-memory:
	$(PYTHON) benchmarks/kernel_memory.py

# The autograder README's Slurm recipe on a one-node Slurm cluster started here (slurm-wlm and
# munge from apt): the demo unsharded, then its downloads in 3 shards through sbatch, compared
# row for row (benchmarks/slurm_local.py; about 15 minutes on 2 cores).
slurm:
	$(PYTHON) benchmarks/slurm_local.py --shards 3

# An honest kernel's time next to a fork storm, with and without the per-kernel cgroups.
bench-fair-share:
	$(PYTHON) benchmarks/fair_share.py --work 3 --spinners 6 --repeat 3

lint:
	$(PYTHON) -m ruff check .

unit:
	VAECOURSE_PROFILE=ci $(PYTHON) -m pytest -q tests

nbval:
	VAECOURSE_PROFILE=ci $(PYTHON) -m pytest -q --nbval --nbval-current-env solutions

# Everything CI runs, in one pytest session (one summary line): unit tests, the autograder's
# tests (the real demo included) and nbval on every stored source notebook.
test: lint
	VAECOURSE_PROFILE=ci $(PYTHON) -m pytest -q --durations=10 tests autograder/tests \
		--nbval --nbval-current-env solutions
