"""Hourly newsbeam batch ingest, scheduled by Airflow's Apache Beam provider.

Why each setting:

* ``max_active_runs=1``: two ingests never write one output at once; a slow hour
  delays the next instead of racing it.
* ``catchup=True``: a backfill (``airflow backfill create``) or hours missed while the
  scheduler was down run one by one. That is safe because ingest is idempotent: an
  article already stored is counted as a duplicate, not written again, so a rerun of
  any hour adds no rows. (Feeds only carry their recent items, so a backfill fetches
  what the feeds hold now; the data interval names the run, it does not select
  articles.)
* retries with exponential backoff: a failure is usually a feed host or the object
  store being briefly unavailable, and a retry redoes only what was not stored.
* the run id comes from the data interval, so the run record of hour H is
  ``OUTPUT/_runs/hourly-<H>.json`` whichever try or backfill wrote it last.

Deployment settings come from the environment of the Airflow workers, read at parse
time (no Airflow Variables, which would cost a metadata-database query per parse):
``NEWSBEAM_PYTHON`` (the interpreter of a venv where newsbeam is installed),
``NEWSBEAM_FEEDS`` (comma-separated feeds or a feed-list file), ``NEWSBEAM_OUTPUT``,
``NEWSBEAM_RUNNER`` and ``NEWSBEAM_LAUNCHER``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.providers.apache.beam.operators.beam import (
    BeamRunPythonPipelineOperator,
)

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

# Beam's in-process runner: the provider always passes --runner, and Beam 2.77's
# "DirectRunner" would first try to download Prism.
FN_API_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
# deploy/dataflow/main.py: template-style --name=value options to `newsbeam ingest`.
DEFAULT_LAUNCHER = Path(__file__).resolve().parents[1] / "dataflow" / "main.py"

PYTHON = os.environ.get("NEWSBEAM_PYTHON", "/opt/newsbeam/.venv/bin/python")
LAUNCHER = os.environ.get("NEWSBEAM_LAUNCHER", str(DEFAULT_LAUNCHER))
FEEDS = os.environ.get("NEWSBEAM_FEEDS", "/etc/newsbeam/feeds.txt")
OUTPUT = os.environ.get("NEWSBEAM_OUTPUT", "/var/lib/newsbeam/output")
RUNNER = os.environ.get("NEWSBEAM_RUNNER", FN_API_RUNNER)

with DAG(
    dag_id="newsbeam_hourly",
    description="Feeds -> entities, quotes and speakers -> Parquet, every hour.",
    schedule="7 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=True,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    default_args={
        "owner": "newsbeam",
        "depends_on_past": False,
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "execution_timeout": timedelta(minutes=50),
    },
    tags=["newsbeam", "beam", "ingest"],
) as dag:
    ingest = BeamRunPythonPipelineOperator(
        task_id="ingest",
        runner=RUNNER,
        py_file=LAUNCHER,
        py_interpreter=PYTHON,
        py_options=[],
        pipeline_options={
            "feeds": FEEDS,
            "output": OUTPUT,
            "fetch_articles": "auto",
            "run_id": "hourly-{{ data_interval_start.strftime('%Y%m%dT%H%MZ') }}",
        },
    )
