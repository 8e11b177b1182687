# newsbeam: two commands for a new machine (make demo, make test), and a few more.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUTPUT ?= output

AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
LOCK   := deploy/docker/requirements.lock

.PHONY: demo test eval bench bench-memory bench-pool-memory lint format clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "newsbeam needs $(PYTHON) on PATH (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The image's lock as constraints: the tests run the versions the image ships, and
# `pip check` over this venv checks the lock (tests/test_deploy.py).
$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev]'
	@touch $(STAMP)

# Airflow in its own venv, as deployments keep it apart from newsbeam's: the DAG tests
# load and run deploy/airflow with it. uv installs its ~280 pinned packages in a
# fraction of pip's time.
$(AIRFLOW_STAMP): deploy/airflow/requirements-test.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet uv
	$(AIRFLOW_VENV)/bin/uv pip install --quiet --python $(AIRFLOW_VENV)/bin/python \
	    --no-deps -r deploy/airflow/requirements-test.txt
	@touch $(AIRFLOW_STAMP)

# The example items link to fictional .test hosts, so the demo does not fetch pages.
demo: $(STAMP)
	$(BIN)/newsbeam ingest --feeds examples/feeds/local.txt --output $(OUTPUT) --fetch-articles never
	@echo
	@echo "Most quoted speakers:"
	$(BIN)/newsbeam query $(OUTPUT) "SELECT speaker_name AS speaker, count(*) AS quotes, count(DISTINCT article_id) AS articles FROM quotes WHERE speaker_id IS NOT NULL GROUP BY speaker_name ORDER BY quotes DESC, speaker LIMIT 10"
	$(BIN)/newsbeam report $(OUTPUT) --story uk-russia --stories examples/stories.toml --out $(OUTPUT)/report-uk-russia.html

# The report's browser test drives Debian's chromium (Playwright never downloads one).
/usr/bin/chromium:
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

test: $(STAMP) $(AIRFLOW_STAMP) /usr/bin/chromium
	$(BIN)/python -m pytest -q

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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(OUTPUT) .pytest_cache .ruff_cache build *.egg-info
