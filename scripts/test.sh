#!/usr/bin/env bash
# `pnpm test`: find or start the test databases, build, then run every suite.
# Extra arguments go to turbo, e.g. `pnpm test --filter=@langgraph-persist/postgres`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Assigned first so that a failing services.sh stops the run (eval "$(...)" would hide it).
service_env=$(bash scripts/services.sh)
eval "$service_env"

pnpm exec turbo run build
# One package at a time: the suites share one database per backend.
exec pnpm exec turbo run test --concurrency=1 "$@"
