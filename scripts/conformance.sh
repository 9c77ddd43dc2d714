#!/usr/bin/env bash
# `pnpm conformance`: find or start the test databases, build, then run the conformance suite of every
# built-in adapter and print the matrix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

service_env=$(bash scripts/services.sh)
eval "$service_env"

pnpm exec turbo run build --output-logs=errors-only
exec node conformance/dist/matrix.js
