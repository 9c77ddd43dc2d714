#!/usr/bin/env bash
# `pnpm compat`: the whole conformance suite (checkpointer, store and graph groups) on every reachable
# backend, once per LangGraph version set in scripts/langgraph-versions (the oldest supported and the
# latest), with the packages installed the way an application installs them: every publishable
# package is packed (`pnpm pack`, which turns `workspace:` ranges into versions) and `npm install`ed
# into a fresh app next to exact @langchain/langgraph, @langchain/langgraph-checkpoint and
# @langchain/core versions, so peer dependencies resolve to the app's own copy. The installed tree must
# hold exactly one copy of each of those three, at the requested version. The suite then runs through
# the installed CLI, `npx langgraph-persist conformance <url>`.
#
#   bash scripts/compat.sh [SET...] [--built] [--keep]
#
#   SET       min, latest, ... (a name from scripts/langgraph-versions; default: every set)
#   --built   the workspace is already built (`pnpm test` passes it); otherwise turbo builds it first
#   --keep    keep the temporary apps and logs even when everything passed
#
# Backends: memory:, a SQLite file, and each of TEST_POSTGRES_URL, TEST_REDIS_URL,
# TEST_REDIS_CLUSTER_URL and TEST_MONGODB_URL that scripts/services.sh provides. Each run writes into a
# Postgres schema, Redis key prefix or MongoDB database of its own, dropped afterwards.
#
# Exits non-zero when an install or the one-copy check fails, when a test fails, when a backend
# whose URL is set did not produce a result, or when REQUIRE_<DB>=1 names a backend whose URL is unset.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly VERSIONS_FILE=scripts/langgraph-versions
readonly HELPER=scripts/compat.mjs
# Generous: one run takes 10-30 s. It only keeps a hung server from stalling CI.
readonly RUN_TIMEOUT=900 INSTALL_TIMEOUT=900

log() { printf '[compat] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
with_timeout() { if have timeout; then timeout --kill-after=30 "$@"; else shift; "$@"; fi; }
die() { log "$*"; exit 2; }

# ------------------------------------------------------------------ arguments

built=0 keep=0 wanted=()
for arg in "$@"; do
  case $arg in
    --built) built=1 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) die "unknown option $arg (see --help)" ;;
    *) wanted+=("$arg") ;;
  esac
done

# set name -> "langgraph checkpoint core", in file order
declare -A SET_VERSIONS=()
all_sets=()
while read -r name lg cp core rest; do
  [[ -z $name || $name == \#* ]] && continue
  [[ -n $core && -z $rest ]] || die "$VERSIONS_FILE: expected 'set langgraph checkpoint core', got: $name $lg $cp $core $rest"
  SET_VERSIONS[$name]="$lg $cp $core"
  all_sets+=("$name")
done <"$VERSIONS_FILE"
((${#wanted[@]})) || wanted=("${all_sets[@]}")
for set in "${wanted[@]}"; do
  [[ -n ${SET_VERSIONS[$set]:-} ]] || die "unknown version set '$set' (in $VERSIONS_FILE: ${all_sets[*]})"
done
readonly -a sets=("${wanted[@]}")

# The sets are only worth their names while they match what the packages declare.
if [[ -n ${SET_VERSIONS[min]:-} && -n ${SET_VERSIONS[latest]:-} ]]; then
  # shellcheck disable=SC2086 # three versions each, split on purpose
  node "$HELPER" declared ${SET_VERSIONS[min]} ${SET_VERSIONS[latest]} || exit 1
fi

# ------------------------------------------------------------------ workspace

started=$SECONDS
step_times=()
step_start=$SECONDS
step_done() { # name
  step_times+=("$1 $((SECONDS - step_start)) s")
  log "$1: $((SECONDS - step_start)) s"
  step_start=$SECONDS
}

work=$(mktemp -d "${TMPDIR:-/tmp}/lgp-compat.XXXXXX")
readonly work
mkdir -p "$work/tarballs" "$work/logs"
bg_pids=()
finish() {
  local status=$?
  local pid
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ((status == 0 && !keep)); then
    rm -rf "$work"
  else
    log "apps, install logs and conformance logs kept in $work"
  fi
  exit "$status"
}
trap finish EXIT

service_env=$(bash scripts/services.sh)
eval "$service_env"
step_done services

if ((!built)); then
  pnpm exec turbo run build --output-logs=errors-only
  step_done build
fi

# name=tarball for every publishable package
packed=()
while IFS= read -r dir; do
  json=$(cd "$dir" && pnpm pack --pack-destination "$work/tarballs" --json 2>"$work/logs/pack.log") || {
    cat "$work/logs/pack.log" >&2
    die "pnpm pack failed in $dir"
  }
  # shellcheck disable=SC2016 # JavaScript, not shell
  pair=$(node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(`${j.name}=${j.filename}`)' <<<"$json")
  if [[ $(tar -xzOf "${pair#*=}" package/package.json) == *'"workspace:'* ]]; then
    die "${pair%%=*}: the packed package.json still has a workspace: range"
  fi
  packed+=("$pair")
done < <(node "$HELPER" publishable)
log "packed ${#packed[@]} packages: ${packed[*]%%=*}"
step_done pack

# ------------------------------------------------------------------ install

# Every set installs at once, with --ignore-scripts: the only install script in the tree is
# better-sqlite3's native build (a minute or more of compiling where no prebuilt binary can be
# downloaded), which is the same for every app and made once afterwards (see below).
declare -A install_rc=() verified=() install_pid=()
for set in "${sets[@]}"; do
  mkdir -p "$work/$set"
  read -r lg cp core <<<"${SET_VERSIONS[$set]}"
  node "$HELPER" manifest "$work/$set" "$set" "$lg" "$cp" "$core" "${packed[@]}"
  log "$set: npm install @langchain/langgraph@$lg @langchain/langgraph-checkpoint@$cp @langchain/core@$core + ${#packed[@]} tarballs (log: $work/logs/$set-install.log)"
  (cd "$work/$set" && with_timeout "$INSTALL_TIMEOUT" npm install --ignore-scripts --no-audit --no-fund --loglevel=warn) \
    </dev/null >"$work/logs/$set-install.log" 2>&1 &
  install_pid[$set]=$!
  bg_pids+=("$!")
done
for set in "${sets[@]}"; do
  rc=0
  wait "${install_pid[$set]}" || rc=$?
  install_rc[$set]=$rc
  if ((rc)); then
    log "$set: npm install failed (exit $rc); the end of its log:"
    tail -n 30 "$work/logs/$set-install.log" >&2
  fi
done
bg_pids=()

# better-sqlite3's native module: the workspace's own when it is the same version (pnpm built it for
# this Node), else one app's `npm rebuild better-sqlite3` (what `npm install` runs), shared by every
# app with that version. Each app then opens a database with it.
if [[ -d /usr/include/node && -z ${npm_config_nodedir:-} ]]; then
  export npm_config_nodedir=/usr # compiling needs the Node headers, as in .ci/run
fi
readonly NATIVE=build/Release/better_sqlite3.node
version_of() { node -p 'require(process.argv[1] + "/package.json").version' "$1" 2>/dev/null || true; }
sqlite_loads() { (cd "$1" && node -e 'new (require("better-sqlite3"))(":memory:").close()') </dev/null >>"$2" 2>&1; }
workspace_sqlite=$(cd packages/sqlite && node -p 'require("path").dirname(require.resolve("better-sqlite3/package.json"))' 2>/dev/null) || workspace_sqlite=
declare -A native_from=() # better-sqlite3 version -> a directory holding $NATIVE that loads
[[ -n $workspace_sqlite && -f $workspace_sqlite/$NATIVE ]] && native_from[$(version_of "$workspace_sqlite")]=$workspace_sqlite
for set in "${sets[@]}"; do
  ((install_rc[$set] == 0)) || continue
  app=$work/$set
  dest=$app/node_modules/better-sqlite3
  version=$(version_of "$dest")
  if [[ -n ${native_from[$version]:-} ]]; then
    mkdir -p "$(dirname "$dest/$NATIVE")"
    cp "${native_from[$version]}/$NATIVE" "$dest/$NATIVE"
    sqlite_loads "$app" "$work/logs/$set-install.log" && log "$set: better-sqlite3 $version: native module copied from ${native_from[$version]}" && continue
    rm -f "$dest/$NATIVE"
  fi
  log "$set: better-sqlite3 $version: npm rebuild better-sqlite3"
  (cd "$app" && with_timeout "$INSTALL_TIMEOUT" env JOBS="${JOBS:-max}" npm rebuild better-sqlite3) </dev/null >>"$work/logs/$set-install.log" 2>&1 || true
  if sqlite_loads "$app" "$work/logs/$set-install.log"; then
    native_from[$version]=$dest
  else
    log "$set: better-sqlite3 does not load (log: $work/logs/$set-install.log)"
    install_rc[$set]=1
  fi
done
step_done install

for set in "${sets[@]}"; do
  verified[$set]=0
  ((install_rc[$set] == 0)) || continue
  read -r lg cp core <<<"${SET_VERSIONS[$set]}"
  if summary=$(node "$HELPER" verify "$work/$set" "$lg" "$cp" "$core" "${packed[@]}" 2>"$work/logs/$set-verify.log"); then
    verified[$set]=1
    log "$set: $summary"
  else
    cat "$work/logs/$set-verify.log"
    (cd "$work/$set" && npm ls @langchain/langgraph @langchain/langgraph-checkpoint @langchain/core) >"$work/logs/$set-npm-ls.log" 2>&1 || true
  fi
done
step_done verify

# ------------------------------------------------------------------ conformance

backends=(memory sqlite)
declare -A backend_url=([memory]=memory:)
[[ -n ${TEST_POSTGRES_URL:-} ]] && backends+=(postgres) && backend_url[postgres]=$TEST_POSTGRES_URL
[[ -n ${TEST_REDIS_URL:-} ]] && backends+=(redis) && backend_url[redis]=$TEST_REDIS_URL
[[ -n ${TEST_REDIS_CLUSTER_URL:-} ]] && backends+=(redis-cluster) && backend_url[redis-cluster]=$TEST_REDIS_CLUSTER_URL
[[ -n ${TEST_MONGODB_URL:-} ]] && backends+=(mongodb) && backend_url[mongodb]=$TEST_MONGODB_URL
unset_backends=()
for var in TEST_POSTGRES_URL TEST_REDIS_URL TEST_REDIS_CLUSTER_URL TEST_MONGODB_URL; do
  [[ -n ${!var:-} ]] || unset_backends+=("$var")
done
((${#unset_backends[@]} == 0)) || log "not set, so not run: ${unset_backends[*]}"
# REQUIRE_<DB>=1 (as the test suites read it): that backend must run here, a missing URL is a failure.
for var in "${unset_backends[@]}"; do
  require=REQUIRE_${var#TEST_}
  require=${require%_URL}
  if [[ ${!require:-} == 1 || ${!require:-} == true ]]; then
    die "$require is set but $var is not: that backend cannot be left out"
  fi
done

with_param() { # url name=value
  if [[ $1 == *\?* ]]; then printf '%s&%s' "$1" "$2"; else printf '%s?%s' "$1" "$2"; fi
}
run_tag=$(date +%s)_$$

# The URL the CLI gets for one (set, backend): data of its own, so runs never see each other's.
conformance_url() { # set backend
  local set=$1 url=${backend_url[$2]:-}
  case $2 in
    sqlite) printf 'sqlite:%s' "$work/$set/conformance.db" ;;
    postgres) with_param "$url" "schema=lgp_compat_${set}_$run_tag" ;;
    redis) with_param "$url" "keyPrefix=lgp-compat-$set-${run_tag//_/-}" ;;
    redis-cluster)
      [[ $url == *+cluster://* || $url =~ [?\&]cluster= ]] || url=$(with_param "$url" cluster=true)
      with_param "$url" "keyPrefix=lgp-compat-$set-${run_tag//_/-}"
      ;;
    mongodb) with_param "$url" "dbName=lgp_compat_${set}_$run_tag" ;;
    *) printf '%s' "$url" ;;
  esac
}

cleanup_data() { # set
  local set=$1 json redis=()
  [[ -n ${backend_url[redis]:-} ]] && redis+=("{\"name\":\"redis\",\"url\":$(json_str "${backend_url[redis]}"),\"cluster\":false,\"prefix\":\"lgp-compat-$set-${run_tag//_/-}\"}")
  [[ -n ${backend_url[redis-cluster]:-} ]] && redis+=("{\"name\":\"redis-cluster\",\"url\":$(json_str "${backend_url[redis-cluster]}"),\"cluster\":true,\"prefix\":\"lgp-compat-$set-${run_tag//_/-}\"}")
  json="{\"redis\":[$(IFS=,; echo "${redis[*]}")]"
  [[ -n ${backend_url[postgres]:-} ]] && json+=",\"postgres\":{\"url\":$(json_str "${backend_url[postgres]}"),\"schema\":\"lgp_compat_${set}_$run_tag\"}"
  [[ -n ${backend_url[mongodb]:-} ]] && json+=",\"mongodb\":{\"url\":$(json_str "${backend_url[mongodb]}"),\"dbName\":\"lgp_compat_${set}_$run_tag\"}"
  json+="}"
  node "$HELPER" cleanup "$work/$set" "$json" </dev/null || log "$set: leftover test data (see above)"
}
json_str() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

# One row per (set, backend): set backend passed failed skipped seconds result, where result is ok,
# FAIL (a test failed or the run did not finish), FAIL-tree (the tests passed on a tree with more than
# one copy of a LangGraph package), no-result or not-installed.
rows=()
# "set|test" -> the backends where it failed (or was skipped), in the order first seen
declare -A failed_on=() skipped_on=()
failed_order=() skipped_order=()
problems=()
total_passed=0 total_failed=0 total_skipped=0

for set in "${sets[@]}"; do
  read -r lg cp core <<<"${SET_VERSIONS[$set]}"
  if ((install_rc[$set] != 0)); then
    for backend in "${backends[@]}"; do rows+=("$set $backend - - - - not-installed"); done
    problems+=("$set: npm install failed (log: $work/logs/$set-install.log)")
    continue
  fi
  if ((!verified[$set])); then
    while IFS= read -r line; do problems+=("$set: $line"); done < <(sed -n 's/^  //p' "$work/logs/$set-verify.log")
    problems+=("$set: npm ls of the three: $work/logs/$set-npm-ls.log")
  fi
  for backend in "${backends[@]}"; do
    url=$(conformance_url "$set" "$backend")
    logfile="$work/logs/$set-$backend.log"
    t0=$SECONDS
    rc=0
    (cd "$work/$set" && with_timeout "$RUN_TIMEOUT" npx --no -- langgraph-persist conformance "$url") </dev/null >"$logfile" 2>&1 || rc=$?
    secs=$((SECONDS - t0))
    counts=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$logfile" | tail -n 1)
    if [[ -z $counts ]]; then
      rows+=("$set $backend - - - $secs no-result")
      problems+=("$set/$backend: no result (exit $rc; log: $logfile)")
      printf '%-7s %-14s no result (exit %d, %d s); the end of its log:\n' "$set" "$backend" "$rc" "$secs"
      tail -n 20 "$logfile" | sed 's/^/    /'
      continue
    fi
    read -r p f k <<<"$counts"
    total_passed=$((total_passed + p)) total_failed=$((total_failed + f)) total_skipped=$((total_skipped + k))
    result=ok
    if ((f > 0)); then
      result=FAIL
      problems+=("$set/$backend: $f failed")
    elif ((rc != 0)); then
      result=FAIL
      problems+=("$set/$backend: the CLI exited $rc (log: $logfile)")
    elif ((p == 0)); then
      result=FAIL
      problems+=("$set/$backend: no test passed (log: $logfile)")
    fi
    ((verified[$set])) || [[ $result == FAIL ]] || result=FAIL-tree
    rows+=("$set $backend $p $f $k $secs $result")
    printf '%-7s %-14s %d passed, %d failed, %d skipped (%d s)\n' "$set" "$backend" "$p" "$f" "$k" "$secs"
    while IFS= read -r line; do
      printf '    %s\n' "${line#  }"
      key="$set|${line#  ✗ }"
      [[ -n ${failed_on[$key]:-} ]] || failed_order+=("$key")
      failed_on[$key]+="${failed_on[$key]:+, }$backend"
    done < <(grep '^  ✗ ' "$logfile" || true)
    while IFS= read -r line; do
      key="$set|${line#  - }"
      [[ -n ${skipped_on[$key]:-} ]] || skipped_order+=("$key")
      skipped_on[$key]+="${skipped_on[$key]:+, }$backend"
    done < <(grep '^  - ' "$logfile" || true)
  done
  cleanup_data "$set"
  step_done "conformance $set"
done

# ------------------------------------------------------------------ summary

steps=$(printf '%s, ' "${step_times[@]}")
printf '\nLangGraph compatibility (%s)\n\n' "${steps%, }"
fmt='%-7s %-20s %-31s %-15s %-14s %7s %7s %8s %6s  %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" set @langchain/langgraph @langchain/langgraph-checkpoint @langchain/core backend passed failed skipped time result
for row in "${rows[@]}"; do
  read -r set backend p f k secs result <<<"$row"
  read -r lg cp core <<<"${SET_VERSIONS[$set]}"
  [[ $secs == - ]] || secs="${secs}s"
  # shellcheck disable=SC2059
  printf "$fmt" "$set" "$lg" "$cp" "$core" "$backend" "$p" "$f" "$k" "$secs" "$result"
done
((${#unset_backends[@]} == 0)) || printf '\nnot run (not set): %s\n' "${unset_backends[*]}"
if ((${#skipped_order[@]})); then
  printf '\nSkipped tests:\n'
  for key in "${skipped_order[@]}"; do printf '  %s (%s) %s\n' "${key%%|*}" "${skipped_on[$key]}" "${key#*|}"; done
fi
if ((${#failed_order[@]})); then
  printf '\nFailed tests:\n'
  for key in "${failed_order[@]}"; do printf '  %s (%s) %s\n' "${key%%|*}" "${failed_on[$key]}" "${key#*|}"; done
fi
if ((${#problems[@]})); then
  printf '\nProblems:\n'
  printf '  %s\n' "${problems[@]}"
fi
printf '\nTotal %d s\n' "$((SECONDS - started))"
printf 'compat: %d passed, %d failed, %d skipped\n' "$total_passed" "$total_failed" "$total_skipped"
((${#problems[@]} == 0))
