# newsbeam: two commands for a new machine (make demo, make test), and a few more.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
OUTPUT ?= output
# setuptools notes every editable install with "be careful with folders named like
# your package"; the package is newsbeam and no folder here is named so, so the
# note is silenced (only that one: any other warning still shows).
PIP_INSTALL := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet

.PHONY: demo test fuzz hostile eval bench bench-memory lint format clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "newsbeam needs $(PYTHON) on PATH (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs newsbeam and its model only; the tests add the dev extras.
$(DEMO_STAMP): $(BIN)/python pyproject.toml
	$(PIP_INSTALL) -e .
	@touch $(DEMO_STAMP)

$(STAMP): $(BIN)/python pyproject.toml
	$(PIP_INSTALL) -e '.[dev]'
	@touch $(STAMP) $(DEMO_STAMP)

# The example items link to fictional .test hosts, so the demo does not fetch pages.
demo: $(DEMO_STAMP)
	$(BIN)/newsbeam ingest --feeds examples/feeds/local.txt --output $(OUTPUT) --fetch-articles never
	@echo
	@echo "Articles by outlet:"
	@$(BIN)/newsbeam query $(OUTPUT) "SELECT outlet, outlet_country AS country, count(*) AS articles FROM articles GROUP BY ALL ORDER BY articles DESC, outlet"
	@echo
	@echo "Most quoted speakers:"
	@$(BIN)/newsbeam query $(OUTPUT) "SELECT speaker_name AS speaker, count(*) AS quotes, count(DISTINCT article_id) AS articles FROM quotes WHERE speaker_id IS NOT NULL GROUP BY speaker_name ORDER BY quotes DESC, speaker LIMIT 10"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Property-based fuzzing with a longer budget than CI's (random, not derandomised).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

# feedparser's own test corpus (2,000+ files, from its sdist on PyPI) and ../shared's
# real feeds in one feed list, in one CLI run: exit 0, no traceback, every item
# accounted for.
hostile: $(STAMP)
	$(BIN)/python benchmarks/hostile_corpus.py

eval: $(STAMP)
	$(BIN)/python -m eval.quotes
	$(BIN)/python -m eval.actors

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

bench-memory: $(STAMP)
	$(BIN)/python benchmarks/streaming_memory.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(OUTPUT) .pytest_cache .ruff_cache .hypothesis build *.egg-info
