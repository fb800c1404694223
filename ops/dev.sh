#!/usr/bin/env bash
# Runs the development stack with one command on a fresh machine: installs system
# packages, builds, and starts `iomt dev` (private PostgreSQL, dev broker and every
# service). Ctrl-C stops everything. Extra arguments go to `iomt dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/bootstrap.sh
swift build
exec "$(swift build --show-bin-path)/iomt" dev "$@"
