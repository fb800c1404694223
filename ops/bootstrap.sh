#!/usr/bin/env bash
# Installs what the project needs on Debian or Ubuntu: librdkafka, PostgreSQL, kcat
# and the Python packages the tests use as independent Kafka and JSON Schema
# clients. Idempotent: installs only what is missing. Needs root or sudo.
set -euo pipefail

packages=(
  librdkafka-dev          # the Kafka client library (2.0.x) the Kafka module wraps
  postgresql              # projections, device tokens, audit
  kcat                    # independent Kafka client: interop tests and the kafka benchmark
  python3-confluent-kafka # independent Kafka client for tests
  python3-jsonschema      # independent JSON Schema validator for the contract tests
  python3-yaml            # reads schemas/asyncapi.yaml and the OpenAPI documents in tests
  python3-venv            # the private environment for schemathesis, below
  pkg-config              # locates librdkafka for the Swift build
  curl
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "bootstrap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "bootstrap: system packages present" >&2
fi

if ! command -v swift >/dev/null 2>&1; then
  echo "bootstrap: the Swift toolchain (6.2 or later) is not on PATH; install it from swift.org" >&2
  exit 1
fi

# schemathesis (PyPI) checks the query service against its OpenAPI document. It lives
# in a project-local virtual environment so the system Python stays untouched.
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.data/venv"
schemathesis_version="4.32.5"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "bootstrap: installing schemathesis $schemathesis_version into .data/venv" >&2
  mkdir -p "$root/.data"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$schemathesis_version"
else
  echo "bootstrap: schemathesis present" >&2
fi
