"""Hourly newsbeam batch ingest, then a daily compaction, scheduled by Airflow.

Why each setting:

* ``max_active_runs=1``: two ingests never write one output at once; a slow hour
  delays the next instead of racing it, and compaction (a task of the same run)
  never overlaps an ingest either.
* ``catchup=False``: feeds only carry their recent items, so an hour replayed later
  fetches what the feeds hold *now*; catching up on every hour since ``start_date``
  would queue hundreds of identical runs on first deploy. A missed hour is covered
  by the next run (an article stays in its feed for hours to days). Backfills stay
  possible on demand (``airflow backfill create`` / ``airflow dags backfill``) and are
  safe: ingest is idempotent, an article already stored is a duplicate, not a row.
* retries with exponential backoff: a failure is usually a feed host or the object
  store being briefly unavailable, and a retry redoes only what was not stored.
* ``execution_timeout``: on a timeout Airflow kills the task, and for the
  DataflowRunner the Beam provider cancels the job by the id it read from the log
  line "Created job with id: [...]", which ``newsbeam ingest`` prints for remote
  runners.
* the run id comes from the data interval, so the record of hour H is
  ``OUTPUT/_runs/hourly-<H>.json`` whichever try or backfill wrote it last.
* compaction once a day, in the run after ``COMPACT_HOUR`` o'clock UTC, of every
  date up to the day before: each hourly run adds files to the dates it touches, and
  rewriting a date is worth doing once its day is over. Compacting after every hour
  would rewrite yesterday's whole partition for each late article, 24 times a day.

Deployment settings are environment variables of the Airflow workers, read when the
file is parsed (no metadata-database query per parse): ``NEWSBEAM_PYTHON`` (the
interpreter of the venv where newsbeam is installed), ``NEWSBEAM_LAUNCHER``,
``NEWSBEAM_FEEDS``, ``NEWSBEAM_OUTPUT`` and ``NEWSBEAM_RUNNER``. Runner settings that
change per environment are Airflow Variables read when a task runs (``newsbeam_*``,
see ``RUN_SETTINGS``), and each can be overridden for one run with the run's params
(trigger with config). An empty value is dropped by the launcher, so Beam's default
applies.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.providers.apache.beam.operators.beam import (
    BeamRunPythonPipelineOperator,
)

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import ShortCircuitOperator
    from airflow.sdk import DAG, Param
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.models.param import Param
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import ShortCircuitOperator

# Beam's in-process runner: the provider always passes --runner, and Beam 2.77's
# "DirectRunner" would first try to download Prism.
FN_API_RUNNER = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"

PYTHON = os.environ.get("NEWSBEAM_PYTHON", "/opt/newsbeam/.venv/bin/python")
# deploy/dataflow/main.py, copied beside this file (see README.md): it turns
# template-style --name=value options into `newsbeam ingest` arguments.
LAUNCHER = os.environ.get("NEWSBEAM_LAUNCHER", str(Path(__file__).with_name("main.py")))
FEEDS = os.environ.get("NEWSBEAM_FEEDS", "/etc/newsbeam/feeds.txt")
OUTPUT = os.environ.get("NEWSBEAM_OUTPUT", "/var/lib/newsbeam/output")
# "DataflowRunner" exactly (not a dotted path): the provider only then sets the job
# name, project and region and watches the log for the job id.
RUNNER = os.environ.get("NEWSBEAM_RUNNER", FN_API_RUNNER)
COMPACT_HOUR = 1  # UTC: the first run after midnight's late articles came in
# Every date up to the day before the run; a retried or backfilled run compacts the
# same dates.
COMPACT_OPTIONS = (
    "--until {{ (data_interval_end - macros.timedelta(days=1)).strftime('%Y-%m-%d') }}"
)

# Pipeline options that differ between environments: Airflow Variable
# ``newsbeam_<name>`` (read at run time), overridden by the run's param ``<name>``.
RUN_SETTINGS = (
    "fetch_articles",
    "temp_location",
    "staging_location",
    "sdk_container_image",
    "max_num_workers",
    "machine_type",
)
# The same for the Dataflow project and region, which the provider passes itself.
DATAFLOW_SETTINGS = ("project", "region")


def run_setting(name: str, default: str = "") -> str:
    """A Jinja template: the run's param, else the Variable, else ``default``."""
    return f"{{{{ params.{name} or var.value.get('newsbeam_{name}', '{default}') }}}}"


def compaction_due(data_interval_end: datetime) -> bool:
    """Compact once a day: in the run whose interval ends in ``COMPACT_HOUR``."""
    return data_interval_end.astimezone(UTC).hour == COMPACT_HOUR


with DAG(
    dag_id="newsbeam_hourly",
    description="Feeds -> entities, quotes and speakers -> Parquet, every hour.",
    schedule="7 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    params={
        name: Param("", type="string") for name in RUN_SETTINGS + DATAFLOW_SETTINGS
    },
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
            "run_id": "hourly-{{ data_interval_start.strftime('%Y%m%dT%H%MZ') }}",
            **{name: run_setting(name) for name in RUN_SETTINGS},
        },
        dataflow_config={
            "project_id": run_setting("project"),
            "location": run_setting("region", "us-central1"),
        },
    )
    due = ShortCircuitOperator(
        task_id="compaction_due",
        python_callable=compaction_due,
        retries=0,
    )
    compact = BashOperator(
        task_id="compact",
        # `newsbeam compact` waits for or refuses an ingest holding the output (its
        # lease); rewriting a date again later (late articles) is idempotent.
        bash_command=(
            f'exec "{PYTHON}" -m newsbeam.pipeline.cli compact "{OUTPUT}" '
            f"{COMPACT_OPTIONS}"
        ),
        execution_timeout=timedelta(minutes=50),
    )
    ingest >> due >> compact
