# Quick start: `make run` (app on http://localhost:8501 with demo data) and `make test` (every test).
# Python 3.11 to 3.13. `make` says which interpreter it uses; choose one with PYTHON=, e.g.
# `make install PYTHON=python3.13`. Without PYTHON it keeps the interpreter of a finished .venv, else takes the
# first of python3.11, python3.12, python3.13, python3 that runs and is supported.
VENV ?= .venv
PY := $(VENV)/bin/python
SUPPORTED_PYTHON_CHECK := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(shell for candidate in \
	"$$(sed -n 's/^executable=//p' $(VENV)/.installed 2>/dev/null)" python3.11 python3.12 python3.13 python3; do \
	[ -n "$$candidate" ] && "$$candidate" -c '$(SUPPORTED_PYTHON_CHECK)' >/dev/null 2>&1 && { echo "$$candidate"; break; }; \
	done))
endif
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test install install-test lint bench clean-db check-python lock
.DEFAULT_GOAL := install

# A pyenv shim for a version that is not installed, a typo or a missing file: say so instead of falling back.
check-python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "make: no supported Python (3.11 to 3.13) found; choose one with PYTHON=/path/to/python3.13" >&2; exit 1; \
	fi
	@output=$$("$(PYTHON)" -c 'import sys' 2>&1) || { \
		echo "make: the interpreter PYTHON=$(PYTHON) does not run:" >&2; echo "$$output" | sed 's/^/    /' >&2; \
		echo "make: choose one that runs, e.g. PYTHON=/path/to/python3.13 (supported: 3.11 to 3.13)" >&2; exit 1; }

install: check-python
	@"$(PYTHON)" scripts/ensure_venv.py --venv $(VENV)

install-test: check-python
	@"$(PYTHON)" scripts/ensure_venv.py --venv $(VENV) --extras test

run: install
	$(PY) -m scripts.run_app

test: install-test
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-test
	$(PY) -m ruff check .

bench: install-test
	$(PY) -m bench

# Refresh the pinned list that CI's dependency audit checks (requirements.lock) from the installed environment.
lock: install-test
	$(PY) -m pip freeze --exclude-editable | grep -v '^iop-medication' > requirements.lock

clean-db:
	rm -f data/iop.db data/iop.db-wal data/iop.db-shm
