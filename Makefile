# `make demo`: set up, get Fashion-MNIST, train the demo preset (under 5 CPU minutes), write a sample grid.
# `make test`: set up, lint (ruff), check the import layers (pyproject.toml), build the docs strictly, run the tests
# on both cores (pytest-xdist; `pytest tests/x.py` alone runs in one process).
# `make docs`: the documentation site in build/site (open build/site/index.html).
VENV   ?= .venv
DEBIAN ?= dataset-fashion-mnist
MAKEFLAGS += -j2  # pip's install and apt's at once: most of a fresh machine's set-up is waiting on either
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= runs/demo

.PHONY: demo test docs install data debian clean

install: $(STAMP)

# torch and torchvision are pinned to the releases this project is tested with (pip's cap on these machines)
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[test,tensorboard,docs]'
	touch $(STAMP)

# the Debian packages of the target asked for, in one apt run beside pip's
debian:
	scripts/get-debian.sh $(DEBIAN)

data: $(STAMP) debian
	PYTHON=$(PY) scripts/get-data.sh

demo: data
	$(VENV)/bin/acgan train --preset demo --out $(DEMO) --force
	@echo "sample grid (one row per class, fixed z): $(DEMO)/samples/latest.png"

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# chromium: the report's browser test
test: DEBIAN += chromium
test: data
	$(VENV)/bin/ruff check src tests scripts research benchmarks
	$(VENV)/bin/lint-imports --no-cache
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict
	$(PY) -m pytest -n 2 --dist worksteal

clean:
	rm -rf $(VENV) runs build
