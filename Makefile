# The two entry points a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo local test bench

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(PY) requirements.txt requirements-dev.txt
	env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy $(PY) -m pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) -m rolegate demo

local: setup
	$(PY) -m rolegate local

test: setup
	$(PY) -m pytest -q -n 2

bench: setup
	$(PY) -m bench

.PHONY: package
# Each function's Function Compute code package under build/<fn>/ (what `s deploy` uploads; see deploy/README.md).
package: setup
	env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy $(PY) -m rolegate package
