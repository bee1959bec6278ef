# The two commands of the README, and the rest of the project's chores.
# TORCH picks the PyTorch build: the CPU wheel by default; `make demo TORCH=torch` for your platform's.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
AE := $(VENV)/bin/ae

.PHONY: demo full test install bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
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
