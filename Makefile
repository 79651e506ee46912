# nl2en — `make test` and `make translate` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The torch build to install; override, e.g. TORCH_SPEC="torch==2.13.0+cpu" or a CUDA build.
TORCH_SPEC ?= torch==2.13.0
MODEL ?= opus-mt-nl-en
# Empty: distilbart-cnn where present, else the built-in extractive summariser.
SUMMARIZER ?=
OUT ?= outputs
SEEDS ?= $(wildcard seeds/*.txt)
ARGS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
# A folder of <doc>.txt articles and gold.jsonl (sentence end offsets); beside the repository by default.
CORPUS ?= ../shared/corpora/nl-news-ud-dev
EVAL_ARGS ?=

.PHONY: setup translate summarize compare bench test test-quality lint format tiny-models clean eval-segmentation chromium calibrate

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	touch $@

setup: $(BIN)/.installed  ## create .venv and install nl2en with its dev tools (idempotent)

translate: setup  ## translate seeds/*.txt into outputs/ (MODEL=… to choose the model)
	$(BIN)/nl2en translate $(SEEDS) --model $(MODEL) --out $(OUT) $(ARGS)

summarize: setup  ## translate and summarise seeds/*.txt (MODEL=…, SUMMARIZER=…|extractive)
	$(BIN)/nl2en run $(SEEDS) --translator $(MODEL) $(if $(SUMMARIZER),--summarizer $(SUMMARIZER)) --out $(OUT) $(ARGS)

compare: setup  ## score every run under outputs/ and write outputs/<doc>/compare.html
	$(BIN)/nl2en score $(OUT) && $(BIN)/nl2en compare $(OUT) --format html

bench: setup  ## speed and memory of each engine on the seed (random models of the real architectures)
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

test: setup chromium  ## the test suite, on tiny random models (no weights, no network)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-quality: setup  ## quality tests with the real models (skipped where their weights are absent)
	$(BIN)/python -m pytest -m quality $(PYTEST_ARGS)

chromium:  ## Debian's chromium for the report's browser test: installed when missing (as root, with apt-get)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get)" >&2; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: the browser test will skip" >&2; fi; }

calibrate: setup  ## store MODEL's low_confidence threshold, calibrated on CORPUS (ARGS="--limit 500")
	$(BIN)/nl2en models calibrate $(MODEL) --corpus "$(CORPUS)" $(ARGS)

lint: setup  ## ruff and mypy
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format pipeline tests
	$(BIN)/ruff check --fix pipeline tests

tiny-models: setup  ## build tiny random models into models/tiny/ for offline trials
	$(BIN)/python -m tests.support.tiny models/tiny

eval-segmentation: setup  ## sentence-boundary P/R/F1 and each error in context (CORPUS=…, EVAL_ARGS="--half odd")
	@test -f "$(CORPUS)/gold.jsonl" || { echo "eval-segmentation: no corpus at $(CORPUS) (set CORPUS=folder with <doc>.txt and gold.jsonl)" >&2; exit 2; }
	$(BIN)/nl2en eval segmentation "$(CORPUS)" $(EVAL_ARGS)

clean:  ## remove outputs, caches and build debris (keeps .venv and models/)
	rm -rf outputs/* .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -not -path "./$(VENV)/*" -exec rm -rf {} +
