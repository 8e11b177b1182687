# newsbeam: two commands for a new machine (make demo, make test), and a few more.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
OUTPUT ?= output
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
LOCK   := deploy/docker/requirements.lock
# setuptools notes every editable install with "be careful with folders named like
# your package"; the package is newsbeam and no folder here is named so, so the
# note is silenced (only that one: any other warning still shows). The image's lock
# is the constraint: the tests and the demo run the versions the image ships, and
# `pip check` over this venv checks the lock (tests/test_deploy.py).
PIP_INSTALL := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -c $(LOCK)

.PHONY: demo test java fuzz hostile eval bench bench-memory bench-pool-memory bench-query lint format clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "newsbeam needs $(PYTHON) on PATH (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs newsbeam and its model only; the tests add the dev extras.
$(DEMO_STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(PIP_INSTALL) -e .
	@touch $(DEMO_STAMP)

$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(PIP_INSTALL) -e '.[dev]'
	@touch $(STAMP) $(DEMO_STAMP)

# Airflow in its own venv, as deployments keep it apart from newsbeam's: the DAG tests
# load and run deploy/airflow with it. uv installs its ~280 pinned packages in a
# fraction of pip's time.
$(AIRFLOW_STAMP): deploy/airflow/requirements-test.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet uv
	$(AIRFLOW_VENV)/bin/uv pip install --quiet --python $(AIRFLOW_VENV)/bin/python \
	    --no-deps -r deploy/airflow/requirements-test.txt
	@touch $(AIRFLOW_STAMP)

# The report's browser test drives Debian's chromium (Playwright never downloads one).
/usr/bin/chromium:
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

# The example items link to fictional .test hosts, so the demo does not fetch pages.
demo: $(DEMO_STAMP)
	$(BIN)/newsbeam ingest --feeds examples/feeds/local.txt --output $(OUTPUT) --fetch-articles never
	@echo
	@echo "Articles by outlet:"
	@$(BIN)/newsbeam query $(OUTPUT) "SELECT outlet, outlet_country AS country, count(*) AS articles FROM articles GROUP BY ALL ORDER BY articles DESC, outlet"
	@echo
	@echo "Most quoted speakers:"
	@$(BIN)/newsbeam query $(OUTPUT) "SELECT speaker_name AS speaker, count(*) AS quotes, count(DISTINCT article_id) AS articles FROM quotes WHERE speaker_id IS NOT NULL GROUP BY speaker_name ORDER BY quotes DESC, speaker LIMIT 10"
	@echo
	@$(BIN)/newsbeam report $(OUTPUT) --story uk-russia --stories examples/stories.toml --out $(OUTPUT)/report-uk-russia.html

test: $(STAMP) $(AIRFLOW_STAMP) /usr/bin/chromium java
	$(BIN)/python -m pytest -q

# Property-based fuzzing with a longer budget than CI's (random, not derandomised).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

# feedparser's own test corpus (2,000+ files, from its sdist on PyPI) and ../shared's
# real feeds in one feed list, in one CLI run: exit 0, no traceback, every item
# accounted for.
hostile: $(STAMP)
	$(BIN)/python benchmarks/hostile_corpus.py

# PySpark needs a Java runtime (tests/test_spark.py): Debian's, when none is here.
java:
	@command -v java >/dev/null 2>&1 || { apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless; }

eval: $(STAMP)
	$(BIN)/python -m eval.quotes
	$(BIN)/python -m eval.actors

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_fetch.py

bench-memory: $(STAMP)
	$(BIN)/python benchmarks/streaming_memory.py

bench-pool-memory: $(STAMP)
	$(BIN)/python benchmarks/worker_pool_memory.py

bench-query: $(STAMP)
	$(BIN)/python benchmarks/bench_query.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(OUTPUT) .pytest_cache .ruff_cache .hypothesis build *.egg-info
