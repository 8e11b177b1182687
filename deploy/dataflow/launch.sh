#!/usr/bin/env bash
# Build the newsbeam images and flex template, and run it on Dataflow.
#
#   deploy/dataflow/launch.sh build              # images + template spec on GCS
#   deploy/dataflow/launch.sh batch  FEEDS       # one batch pass
#   deploy/dataflow/launch.sh stream FEEDS       # a streaming job polling the feeds
#
# FEEDS is a comma-separated list of feed URLs. Set the variables below in the
# environment first; run from the repository root.
set -euo pipefail

: "${PROJECT:?set PROJECT (the GCP project id)}"
: "${REGION:?set REGION, e.g. europe-west1}"
: "${BUCKET:?set BUCKET (a GCS bucket for output, staging and the template spec)}"
: "${REPOSITORY:=newsbeam}"   # an Artifact Registry Docker repository in REGION
: "${TAG:=$(git rev-parse --short HEAD)}"
: "${OUTPUT:=gs://${BUCKET}/newsbeam}"
: "${MACHINE_TYPE:=n2-standard-4}"
: "${MAX_WORKERS:=4}"          # deploy/SCALE.md: what an hourly batch needs
: "${SERVICE_ACCOUNT:=}"       # a worker service account; empty = Compute default

REGISTRY="${REGION}-docker.pkg.dev/${PROJECT}/${REPOSITORY}"
WORKER_IMAGE="${REGISTRY}/newsbeam:${TAG}"
TEMPLATE_IMAGE="${REGISTRY}/newsbeam-flex:${TAG}"
TEMPLATE_FILE="gs://${BUCKET}/templates/newsbeam-${TAG}.json"

build() {
    docker build -f deploy/docker/Dockerfile -t "${WORKER_IMAGE}" .
    docker push "${WORKER_IMAGE}"
    docker build -f deploy/dataflow/Dockerfile \
        --build-arg NEWSBEAM_IMAGE="${WORKER_IMAGE}" -t "${TEMPLATE_IMAGE}" .
    docker push "${TEMPLATE_IMAGE}"
    gcloud dataflow flex-template build "${TEMPLATE_FILE}" \
        --project "${PROJECT}" \
        --image "${TEMPLATE_IMAGE}" \
        --sdk-language PYTHON \
        --metadata-file deploy/dataflow/metadata.json
    echo "template: ${TEMPLATE_FILE}"
}

run() {
    local mode="$1" feeds="$2"
    local -a extra=()
    if [[ "${mode}" == stream ]]; then
        extra=(--enable-streaming-engine
               --parameters streaming=true
               --parameters poll_interval="${POLL_INTERVAL:-300}")
    fi
    if [[ -n "${SERVICE_ACCOUNT}" ]]; then
        extra+=(--service-account-email "${SERVICE_ACCOUNT}")
    fi
    gcloud dataflow flex-template run "newsbeam-${mode}-$(date -u +%Y%m%d-%H%M%S)" \
        --project "${PROJECT}" \
        --region "${REGION}" \
        --template-file-gcs-location "${TEMPLATE_FILE}" \
        --staging-location "gs://${BUCKET}/staging" \
        --temp-location "gs://${BUCKET}/tmp" \
        --worker-machine-type "${MACHINE_TYPE}" \
        --max-workers "${MAX_WORKERS}" \
        --parameters ^~^feeds="${feeds}" \
        --parameters output="${OUTPUT}" \
        --parameters fetch_articles="${FETCH_ARTICLES:-auto}" \
        --parameters sdk_container_image="${TEMPLATE_IMAGE}" \
        ${extra[@]+"${extra[@]}"}  # bash 3.2 (macOS) rejects an empty "${extra[@]}" under set -u
}

case "${1:-}" in
    build) build ;;
    batch) run batch "${2:?give FEEDS: comma-separated feed URLs}" ;;
    stream) run stream "${2:?give FEEDS: comma-separated feed URLs}" ;;
    *) echo "usage: $0 build | batch FEEDS | stream FEEDS" >&2; exit 2 ;;
esac
