# The two commands of the README, and the rest of the project's chores.
# TORCH is the PyTorch requirement (default torch==2.13.0, as pip resolves it: on Linux from the
# default index that is the CUDA build, with ~17 nvidia-* packages, a few GB). TORCH_INDEX takes
# it from another index instead, e.g. PyTorch's CPU-only wheels (about 200 MB):
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
PYTHON ?= python3
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
VENV := .venv
PY := $(VENV)/bin/python
AE := $(VENV)/bin/ae

.PHONY: demo full test install bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url "$(TORCH_INDEX)") "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(AE) data fetch mnist
	$(AE) reproduce --recipe fast --out reproduce-demo

full: install
	$(AE) data fetch mnist
	$(AE) reproduce --profile full --recipe both --out reproduce

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) runs reproduce reproduce-demo reproduce-quick .pytest_cache
