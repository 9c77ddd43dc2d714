#!/usr/bin/env bash
# `pnpm test`: find or start the test databases, build, run every suite, then the LangGraph
# compatibility run (scripts/compat.sh: the conformance suite on the packed packages, installed with
# npm next to the oldest and the latest supported LangGraph).
# Extra arguments go to turbo, e.g. `pnpm test --filter=@langgraph-persist/postgres`, and then only
# the selected suites run (no compatibility run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Assigned first so that a failing services.sh stops the run (eval "$(...)" would hide it).
service_env=$(bash scripts/services.sh)
eval "$service_env"

pnpm exec turbo run build
# One package at a time: the suites share one database per backend.
pnpm exec turbo run test --concurrency=1 "$@"
if (($# == 0)); then
  bash scripts/compat.sh --built
fi
