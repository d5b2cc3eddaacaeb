# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
DEMO_DIR ?= build/demo

TINY_DIR ?= build/tiny-demo
TINY_OUT ?= checkpoints/tiny-demo
TINY_SEED ?= 0

.PHONY: demo test lint system-deps clean tiny-demo

# The venv is rebuilt when the requirements change.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "== installing into $(VENV): torch (CPU), then requirements.txt (a few minutes the first time) =="
	$(PIP) install --quiet --upgrade pip
	# torch first: the exact pin takes the local CPU wheel.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -r requirements.txt
	# The project itself, editable: the codebench-eval and codebench-board commands.
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# System packages some tests need (WordNet for METEOR). Installed where we are root
# with apt; elsewhere the tests that need them skip with a message naming the package.
system-deps:
	@bash scripts/system_deps.sh

# The demo data uses seed 1: the shipped tiny-demo was trained on seed 0's train split only.
demo: $(VENV)/.installed system-deps
	@echo "== the synthetic demo benchmark: 300 checkups in the COde layout (seed 1) =="
	$(PY) -m eval_harness data synth --out $(DEMO_DIR)/data --checkups 300 --seed 1
	$(PY) -m eval_harness data validate $(DEMO_DIR)/data
	$(PY) -m eval_harness data info $(DEMO_DIR)/data
	$(PY) -m eval_harness run --model majority --data $(DEMO_DIR)/data --split test \
		--output $(DEMO_DIR)/runs/majority --quiet
	@echo "== hf backend: the shipped tiny-demo checkpoint (a tiny Qwen2.5-VL trained on synthetic data) =="
	$(PY) -m eval_harness run --model hf --model-args checkpoint=tiny-demo \
		--data $(DEMO_DIR)/data --split test --output $(DEMO_DIR)/runs/tiny-demo
	@echo "== tiny-demo (B) next to the majority baseline (A), paired over the same checkups =="
	$(PY) -m eval_harness compare $(DEMO_DIR)/runs/majority $(DEMO_DIR)/runs/tiny-demo
	@echo "== the space: http://127.0.0.1:7860 (Ctrl-C to stop) =="
	$(PY) app.py --data-dir $(DEMO_DIR)/data

# The shipped demo model, rebuilt from its seed: synthetic data, a tiny Qwen2.5-VL base with a
# tokenizer trained on the train split, then the `tiny` recipe (every parameter trained, the
# vision tower first) and the harness's evaluation on the test split. 23-35 min on 2 cores
# with other work running (README).
tiny-demo: $(VENV)/.installed
	$(PY) -m eval_harness data synth --out $(TINY_DIR)/data --checkups 1000 --seed $(TINY_SEED)
	$(PY) -m eval_harness.models.tiny_qwen --out $(TINY_DIR)/base --seed $(TINY_SEED) \
		--hidden 128 --vocab-size 2000 --corpus $(TINY_DIR)/data
	$(PY) -m eval_harness finetune --base $(TINY_DIR)/base --data $(TINY_DIR)/data \
		--recipe tiny --seed $(TINY_SEED) --output $(TINY_OUT) --no-resume --quiet
	rm -rf $(TINY_OUT)/trainer

# Three runs: the fast tests on both cores; then the space's tests on their own (beside
# the heaviest tests a browser upload stalled now and then, see issue 13's closing note);
# then the reliability suite's slow tests (load, faults, outages, secrets, browser
# injection), one at a time, since the load test measures read latency.
test: $(VENV)/.dev-installed system-deps
	$(PY) scripts/readme_figures.py --check
	$(PY) -m pytest -q -n 2 -m "not slow" --ignore=tests/space
	$(PY) -m pytest -q tests/space
	$(PY) -m pytest -q -m slow tests/reliability

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf build
