# The course's commands. `make all` installs everything and runs the main job;
# `make test` runs the tests. VAECOURSE_DATA defaults to ../shared/data when present.
SHELL := /bin/bash
PYTHON ?= python3
SHARED_DATA := $(shell [ -d ../shared/data ] && cd ../shared/data && pwd)
export VAECOURSE_DATA ?= $(SHARED_DATA)
export TF_ENABLE_ONEDNN_OPTS := 0
export TF_CPP_MIN_LOG_LEVEL := 2
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: all install demo test lint unit

all: install demo

install:
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m pip install -q -e helpers

demo:
	VAECOURSE_PROFILE=ci $(PYTHON) -m vaecourse.tf.demo --out out/demo

lint:
	$(PYTHON) -m ruff check .

unit:
	VAECOURSE_PROFILE=ci $(PYTHON) -m pytest -q tests

test: lint
	VAECOURSE_PROFILE=ci $(PYTHON) -m pytest -q
