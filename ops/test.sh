#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs system packages, starts a
# private PostgreSQL and the dev broker, builds, runs `swift test`, and stops what
# it started. Extra arguments go to `swift test` (e.g. --filter KafkaTests).
#
# Tests read their servers from the environment this script sets:
#   DATABASE_URL  the private PostgreSQL (port IOMT_TEST_PG_PORT, default 55433)
#   KAFKA_BROKERS the dev broker (`iomt broker`)
#   IOMT_PYTHON   a Python with confluent_kafka and jsonschema (/usr/bin/python3)
#   IOMT_BIN      the folder holding the built executables
set -euo pipefail
cd "$(dirname "$0")/.."

ops/bootstrap.sh
mkdir -p .data
pg_port=${IOMT_TEST_PG_PORT:-55433}
eval "export $(ops/dev-postgres.sh start --port "$pg_port" --dir .data/postgres-test)"

swift build --build-tests
bin=$(swift build --show-bin-path)

broker_file=.data/test-broker.env
rm -f "$broker_file"
"$bin/iomt" broker --bootstrap-file "$broker_file" --log-level warning >.data/test-broker.log 2>&1 &
broker_pid=$!
cleanup() {
  kill "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  ops/dev-postgres.sh stop --port "$pg_port" --dir .data/postgres-test || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$broker_file" ] && break; sleep 0.1; done
[ -s "$broker_file" ] || { echo "test: the dev broker did not start; see .data/test-broker.log" >&2; exit 1; }
eval "export $(cat "$broker_file")"
export IOMT_PYTHON=${IOMT_PYTHON:-/usr/bin/python3}
export IOMT_BIN=$bin

swift test --skip-build "$@"
