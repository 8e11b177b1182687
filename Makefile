# newsbeam: two commands for a new machine (make demo, make test), and a few more.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUTPUT ?= output

.PHONY: demo test java eval bench bench-memory bench-query lint format clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "newsbeam needs $(PYTHON) on PATH (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The example items link to fictional .test hosts, so the demo does not fetch pages.
demo: $(STAMP)
	$(BIN)/newsbeam ingest --feeds examples/feeds/local.txt --output $(OUTPUT) --fetch-articles never
	@echo
	@echo "Most quoted speakers:"
	$(BIN)/newsbeam query $(OUTPUT) "SELECT speaker_name AS speaker, count(*) AS quotes, count(DISTINCT article_id) AS articles FROM quotes WHERE speaker_id IS NOT NULL GROUP BY speaker_name ORDER BY quotes DESC, speaker LIMIT 10"

test: $(STAMP) java
	$(BIN)/python -m pytest -q

# PySpark needs a Java runtime (tests/test_spark.py): Debian's, when none is here.
java:
	@command -v java >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless; }

eval: $(STAMP)
	$(BIN)/python -m eval.quotes
	$(BIN)/python -m eval.actors

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

bench-memory: $(STAMP)
	$(BIN)/python benchmarks/streaming_memory.py

bench-query: $(STAMP)
	$(BIN)/python benchmarks/bench_query.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(OUTPUT) .pytest_cache .ruff_cache build *.egg-info
