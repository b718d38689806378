# Two entry points for a fresh clone: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SECONDS ?= 60

.PHONY: demo test bench lint protos models clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/edge demo --seconds $(SECONDS)

test: $(VENV)/.installed
	bash scripts/helm-tools.sh
	$(PY) -m pytest -q

protos: $(VENV)/.installed
	$(PY) scripts/gen_protos.py

models: $(VENV)/.installed
	$(PY) scripts/train_kpi_anomaly.py

clean:
	rm -rf $(VENV) .tools build *.egg-info
