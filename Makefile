# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
DEMO_DIR ?= build/demo

.PHONY: demo test lint system-deps clean

# The venv is rebuilt when the requirements change.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first: the exact pin takes the local CPU wheel.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# System packages some tests need (WordNet for METEOR). Installed where we are root
# with apt; elsewhere the tests that need them skip with a message naming the package.
system-deps:
	@bash scripts/system_deps.sh

demo: $(VENV)/.installed
	$(PY) -m eval_harness data synth --out $(DEMO_DIR)/data --checkups 300 --seed 0
	$(PY) -m eval_harness data validate $(DEMO_DIR)/data
	$(PY) -m eval_harness data info $(DEMO_DIR)/data
	$(PY) -m eval_harness run --model majority --data $(DEMO_DIR)/data --split test \
		--output $(DEMO_DIR)/runs/majority --quiet
	@echo "== hf backend on a freshly built, UNTRAINED tiny Qwen2.5-VL (random weights: expect ~0) =="
	$(PY) -m eval_harness.models.tiny_qwen --out $(DEMO_DIR)/tiny-qwen25vl
	$(PY) -m eval_harness run --model hf --model-args model=$(DEMO_DIR)/tiny-qwen25vl \
		--data $(DEMO_DIR)/data --split test --output $(DEMO_DIR)/runs/tiny-qwen --quiet

test: $(VENV)/.dev-installed system-deps
	$(PY) -m pytest -q -n 2

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf build
