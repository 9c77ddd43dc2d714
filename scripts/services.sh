#!/usr/bin/env bash
# Finds (and on a Debian machine where we are root, installs and starts) the
# databases the integration tests use, then prints their URLs as
# `export NAME='value'` lines on stdout. Progress and explanations go to stderr.
#
#   eval "$(bash scripts/services.sh)"
#
#   TEST_<DB>_URL already set   used as is; nothing is probed, installed or started for it
#                               (TEST_PGBOUNCER_URL: a PgBouncer with pool_mode = transaction in
#                               front of the TEST_POSTGRES_URL server)
#   SERVICES_SKIP=1             install and start nothing; only report what already answers
#
# A backend that cannot be provided is left unset so its tests skip; a failure in
# one backend never stops the others. Each backend runs in its own `bash` process:
# errexit is silently disabled inside functions called from `if`/`||`, so this is
# the only way to get both "stop at the first error" and "carry on with the next".
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
readonly SELF
readonly PG_HOST=127.0.0.1 PG_PORT=5432
readonly LOCAL_PG_URL="postgres://postgres@127.0.0.1:5432/test"
readonly REDIS_PORT=6379
readonly CLUSTER_PORTS=(7000 7001 7002)
readonly CLUSTER_DIR=/tmp/lgp-redis-cluster
readonly PGB_PORT=6432
readonly PGB_DIR=/tmp/lgp-pgbouncer
readonly PGB_URL="postgres://postgres@127.0.0.1:6432/test"
LOG_DIR="${TMPDIR:-/tmp}/lgp-services-$(id -u)"
readonly LOG_DIR

log() { printf '[services] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
skipping() { [[ ${SERVICES_SKIP:-} == 1 ]]; }
is_root() { [[ $(id -u) -eq 0 ]]; }
can_apt() { ! skipping && is_root && have apt-get && [[ -f /etc/debian_version ]]; }
with_timeout() { if have timeout; then timeout "$@"; else shift; "$@"; fi; }

# Exports are collected in a file, not on a pipe: a daemon started below that
# inherited the pipe would keep `$(...)` in the caller waiting forever.
emit() {
  local value=${2//\'/\'\\\'\'}
  printf "export %s='%s'\n" "$1" "$value" >>"$LGP_EXPORTS"
}

# Runs a function of this script in a fresh bash (see the header for why).
run_step() { "$BASH" "$SELF" --step "$@"; }

# Daemons and package installs get no inherited descriptors: their output goes to
# a log file, never to a pipe that someone upstream is reading to EOF.
quiet() {
  local logfile=$1; shift
  "$@" </dev/null >>"$logfile" 2>&1
}

# Polls a predicate every 0.1 s for at most $1 seconds.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

apt_install() {
  local logfile="$LOG_DIR/apt.log"
  log "apt-get install $* (log: $logfile)"
  export DEBIAN_FRONTEND=noninteractive
  quiet "$logfile" apt-get -o DPkg::Lock::Timeout=300 update -qq
  quiet "$logfile" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@"
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() {
  if have pg_isready; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
  else
    with_timeout 2 bash -c "exec 5<>/dev/tcp/$PG_HOST/$PG_PORT" 2>/dev/null
  fi
}

pgsql() {
  local db=$1; shift
  PGCONNECT_TIMEOUT=5 PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$db" "$@"
}

# "<version> <name>" of the local Debian cluster that owns port 5432, if any.
pg_cluster() {
  have pg_lsclusters || return 1
  pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; found = 1; exit } END { exit !found }'
}

pg_ctl_cluster() { # action
  local ver name
  read -r ver name < <(pg_cluster)
  quiet "$LOG_DIR/postgres.log" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" "$1"
}

vector_available() {
  [[ $(pgsql postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'") == 1 ]]
}

step_install_pgvector() {
  local ver name mirror src logfile="$LOG_DIR/pgvector-build.log"
  read -r ver name < <(pg_cluster)
  local pg_config="/usr/lib/postgresql/$ver/bin/pg_config"
  log "postgres: pgvector is missing; building it from Debian trixie's source package (~20 s, log: $logfile)"
  : >"$logfile"
  export DEBIAN_FRONTEND=noninteractive
  # pgvector is not packaged for bookworm, but trixie's source builds against
  # bookworm's server headers. Use the mirror this machine already trusts.
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [[ -n $mirror ]] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n $mirror ]] || mirror=http://deb.debian.org/debian
  echo "deb-src $mirror trixie main" >/etc/apt/sources.list.d/trixie-src.list
  quiet "$logfile" apt-get -o DPkg::Lock::Timeout=300 update -qq
  quiet "$logfile" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
    "postgresql-server-dev-$ver" build-essential dpkg-dev
  rm -rf /tmp/lgp-pgvector-build && mkdir -p /tmp/lgp-pgvector-build && cd /tmp/lgp-pgvector-build
  quiet "$logfile" apt-get source -qq pgvector
  src=$(find . -maxdepth 1 -type d -name 'pgvector-*' -print -quit)
  [[ -n $src ]] || { log "postgres: apt-get source pgvector produced no source tree"; return 1; }
  quiet "$logfile" make -C "$src" PG_CONFIG="$pg_config" -j"$(nproc)"
  quiet "$logfile" make -C "$src" PG_CONFIG="$pg_config" install
  # Installing the server headers may have upgraded (and stopped) the server.
  log "postgres: pgvector $(basename "$src" | sed 's/^pgvector-//') installed; restarting cluster $ver/$name"
  pg_ctl_cluster restart || pg_ctl_cluster start
  wait_until 60 pg_ready
}

explain_postgres() {
  log "postgres: $1 - the Postgres tests will be skipped. To run them:"
  log "    docker compose up -d --wait postgres"
  log "    export TEST_POSTGRES_URL=postgres://postgres:postgres@127.0.0.1:55432/test"
  log "  (or point TEST_POSTGRES_URL at any PostgreSQL with pgvector available)"
}

backend_postgres() {
  if [[ -n ${TEST_POSTGRES_URL:-} ]]; then
    log "postgres: using TEST_POSTGRES_URL"
    emit TEST_POSTGRES_URL "$TEST_POSTGRES_URL"
    return
  fi
  if ! pg_ready && ! skipping && is_root && have pg_ctlcluster && pg_cluster >/dev/null; then
    log "postgres: cluster $(pg_cluster | tr ' ' /) is installed but not running; starting it"
    pg_ctl_cluster start || true
    wait_until 30 pg_ready || true
  fi
  if ! pg_ready; then
    explain_postgres "nothing answers on $PG_HOST:$PG_PORT"
    return 1
  fi
  if ! have psql; then
    log "postgres: psql is missing, so the test database and pgvector were not checked"
    emit TEST_POSTGRES_URL "$LOCAL_PG_URL"
    return
  fi
  if ! pgsql postgres -c 'SELECT 1' >/dev/null; then
    explain_postgres "$PG_HOST:$PG_PORT does not accept user postgres without a password"
    return 1
  fi
  if [[ -z $(pgsql postgres -c "SELECT 1 FROM pg_database WHERE datname = 'test'") ]]; then
    log "postgres: creating database test"
    pgsql postgres -c 'CREATE DATABASE test'
  fi
  if ! vector_available; then
    if can_apt && pg_cluster >/dev/null; then
      run_step step_install_pgvector ||
        log "postgres: building pgvector failed (see $LOG_DIR/pgvector-build.log)"
    else
      log "postgres: pgvector is not available and cannot be installed here (needs root on Debian, SERVICES_SKIP unset)"
    fi
  fi
  if pg_ready && vector_available; then
    pgsql test -c 'CREATE EXTENSION IF NOT EXISTS vector'
    log "postgres: ready at $PG_HOST:$PG_PORT (pgvector $(pgsql test -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'"))"
  else
    wait_until 30 pg_ready || { explain_postgres "the server did not come back"; return 1; }
    log "postgres: ready at $PG_HOST:$PG_PORT WITHOUT pgvector - vector search tests will fail or skip"
  fi
  emit TEST_POSTGRES_URL "$LOCAL_PG_URL"
}

# ----------------------------------------------------------------- PgBouncer
# PgBouncer in transaction pooling mode in front of the local cluster: consecutive statements of one
# client connection may run on different server connections, so named prepared statements and
# session state break there. Debian's package (1.18) predates protocol-level prepared statements (1.21).

pgbsql() { # db, psql args...
  local db=$1; shift
  PGCONNECT_TIMEOUT=5 psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGB_PORT" -U postgres -d "$db" "$@"
}

# A PgBouncer answers whose admin console reports transaction pooling, and database test is
# reachable through it.
pgbouncer_ok() {
  have psql || return 1
  [[ $(pgbsql pgbouncer -c 'SHOW CONFIG' 2>/dev/null | awk -F'|' '$1 == "pool_mode" { print $2 }') == transaction ]] &&
    [[ $(pgbsql test -c 'SELECT 1' 2>/dev/null) == 1 ]]
}

port_taken() { with_timeout 2 bash -c "exec 5<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

pgbouncer_pid() { # the pid of the instance started from $PGB_DIR, if it runs
  local pid
  pid=$(cat "$PGB_DIR/pgbouncer.pid" 2>/dev/null) && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

pgbouncer_config() {
  cat <<EOF
[databases]
test = host=$PG_HOST port=$PG_PORT dbname=test

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
admin_users = postgres
pool_mode = transaction
; The suite's pools hold up to ~20 client connections; 5 server connections make them share.
max_client_conn = 200
default_pool_size = 5
reserve_pool_size = 0
logfile = $PGB_DIR/pgbouncer.log
pidfile = $PGB_DIR/pgbouncer.pid
EOF
}

explain_pgbouncer() {
  log "pgbouncer: $1 - the Postgres conformance run through PgBouncer will be skipped. To run it, point"
  log "    TEST_PGBOUNCER_URL at a PgBouncer with pool_mode = transaction in front of the TEST_POSTGRES_URL server"
}

backend_pgbouncer() {
  if [[ -n ${TEST_PGBOUNCER_URL:-} ]]; then
    log "pgbouncer: using TEST_PGBOUNCER_URL"
    emit TEST_PGBOUNCER_URL "$TEST_PGBOUNCER_URL"
    return
  fi
  # The suite checks through TEST_POSTGRES_URL what it wrote through PgBouncer: one server only.
  if [[ -n ${TEST_POSTGRES_URL:-} && $TEST_POSTGRES_URL != "$LOCAL_PG_URL" ]]; then
    explain_pgbouncer "TEST_POSTGRES_URL is not the local cluster this PgBouncer would serve"
    return 1
  fi
  if pgbouncer_ok; then
    log "pgbouncer: reusing the transaction-mode PgBouncer on 127.0.0.1:$PGB_PORT"
    emit TEST_PGBOUNCER_URL "$PGB_URL"
    return
  fi
  if skipping; then
    explain_pgbouncer "no transaction-mode PgBouncer answers on 127.0.0.1:$PGB_PORT (SERVICES_SKIP=1)"
    return 1
  fi
  if ! pg_ready || ! have psql; then
    explain_pgbouncer "it needs PostgreSQL on $PG_HOST:$PG_PORT and psql"
    return 1
  fi
  local pid
  pid=$(pgbouncer_pid) || true
  if [[ -n $pid ]]; then
    # Ours, but not answering as configured (an older configuration): start over.
    log "pgbouncer: stopping the instance of $PGB_DIR (pid $pid), which does not answer as configured"
    kill "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid 2>/dev/null" || { log "pgbouncer: pid $pid does not stop"; return 1; }
  fi
  if port_taken "$PGB_PORT"; then
    explain_pgbouncer "127.0.0.1:$PGB_PORT is taken by something that is not a transaction-mode PgBouncer serving database test"
    return 1
  fi
  if ! have pgbouncer && can_apt; then
    apt_install pgbouncer
  fi
  if ! have pgbouncer; then
    explain_pgbouncer "pgbouncer is not installed and cannot be installed here (needs root on Debian, SERVICES_SKIP unset)"
    return 1
  fi
  mkdir -p "$PGB_DIR"
  pgbouncer_config >"$PGB_DIR/pgbouncer.ini"
  echo '"postgres" ""' >"$PGB_DIR/userlist.txt"
  log "pgbouncer: starting $(pgbouncer --version 2>/dev/null | head -1) on 127.0.0.1:$PGB_PORT, pool_mode = transaction (log: $PGB_DIR/pgbouncer.log)"
  if is_root; then
    # pgbouncer refuses to run as root: it runs as postgres, which must own its files.
    id postgres >/dev/null 2>&1 || { explain_pgbouncer "running as root and there is no postgres user to run pgbouncer as"; return 1; }
    chown -R postgres: "$PGB_DIR"
    quiet "$LOG_DIR/pgbouncer-start.log" su postgres -s /bin/sh -c "pgbouncer -d '$PGB_DIR/pgbouncer.ini'"
  else
    quiet "$LOG_DIR/pgbouncer-start.log" pgbouncer -d "$PGB_DIR/pgbouncer.ini"
  fi
  wait_until 10 pgbouncer_ok || {
    explain_pgbouncer "pgbouncer did not answer (logs: $LOG_DIR/pgbouncer-start.log, $PGB_DIR/pgbouncer.log)"
    return 1
  }
  log "pgbouncer: ready at 127.0.0.1:$PGB_PORT (pool_mode = transaction) -> $PG_HOST:$PG_PORT/test"
  emit TEST_PGBOUNCER_URL "$PGB_URL"
}

# --------------------------------------------------------------------- Redis

redis_ping() { # port
  if have redis-cli; then
    [[ $(with_timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]
  else
    # shellcheck disable=SC2016 # $line belongs to the inner shell
    with_timeout 2 bash -c 'exec 5<>/dev/tcp/127.0.0.1/'"$1"' && printf "PING\r\n" >&5 && IFS= read -r line <&5 && [[ $line == +PONG* ]]' 2>/dev/null
  fi
}

ensure_redis_binaries() {
  have redis-server && have redis-cli && return
  if can_apt; then
    apt_install redis-server
    have redis-server && have redis-cli && return
  fi
  log "redis: redis-server is not installed and cannot be installed here (needs root on Debian, SERVICES_SKIP unset)"
  return 1
}

explain_redis() { # what, service, var, url
  log "$1 - the $2 tests will be skipped. To run them:"
  log "    docker compose up -d --wait $2"
  log "    export $3=$4"
}

backend_redis() {
  if [[ -n ${TEST_REDIS_URL:-} ]]; then
    log "redis: using TEST_REDIS_URL"
    emit TEST_REDIS_URL "$TEST_REDIS_URL"
    return
  fi
  if ! redis_ping "$REDIS_PORT"; then
    if skipping || ! ensure_redis_binaries; then
      explain_redis "redis: nothing answers on 127.0.0.1:$REDIS_PORT" redis TEST_REDIS_URL redis://127.0.0.1:56379
      return 1
    fi
    local dir=/var/lib/redis logfile=/var/log/redis/ci.log
    if ! is_root; then dir="$LOG_DIR/redis" logfile="$LOG_DIR/redis.log"; fi
    mkdir -p "$dir" "$(dirname "$logfile")"
    log "redis: starting redis-server on 127.0.0.1:$REDIS_PORT"
    quiet "$LOG_DIR/redis-start.log" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
      --save "" --appendonly no --dir "$dir" --logfile "$logfile"
    wait_until 10 redis_ping "$REDIS_PORT" || {
      explain_redis "redis: redis-server did not answer (log: $logfile)" redis TEST_REDIS_URL redis://127.0.0.1:56379
      return 1
    }
  fi
  log "redis: ready at 127.0.0.1:$REDIS_PORT"
  emit TEST_REDIS_URL "redis://127.0.0.1:$REDIS_PORT"
}

# ------------------------------------------------------------- Redis Cluster

cluster_ok() {
  local port
  have redis-cli || return 1
  for port in "${CLUSTER_PORTS[@]}"; do
    with_timeout 2 redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

cluster_down() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    ! redis_ping "$port" || return 1
  done
}

backend_redis_cluster() {
  local port url="redis://127.0.0.1:${CLUSTER_PORTS[0]}"
  if [[ -n ${TEST_REDIS_CLUSTER_URL:-} ]]; then
    log "redis-cluster: using TEST_REDIS_CLUSTER_URL"
    emit TEST_REDIS_CLUSTER_URL "$TEST_REDIS_CLUSTER_URL"
    return
  fi
  if cluster_ok; then
    log "redis-cluster: reusing the cluster on 127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[2]}"
    emit TEST_REDIS_CLUSTER_URL "$url"
    return
  fi
  if skipping || ! ensure_redis_binaries; then
    explain_redis "redis-cluster: no healthy cluster on 127.0.0.1:${CLUSTER_PORTS[0]}" redis-cluster \
      TEST_REDIS_CLUSTER_URL redis://127.0.0.1:57000
    return 1
  fi

  # Half-built or stale (nodes up but not clustered, old nodes.conf): start over.
  # Nothing is persisted, so there is nothing to lose.
  for port in "${CLUSTER_PORTS[@]}"; do
    if redis_ping "$port"; then
      log "redis-cluster: stopping the unhealthy node on port $port"
      with_timeout 5 redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
  done
  if ! wait_until 10 cluster_down; then
    for port in "${CLUSTER_PORTS[@]}"; do
      if [[ -f $CLUSTER_DIR/$port.pid ]]; then kill "$(cat "$CLUSTER_DIR/$port.pid")" 2>/dev/null || true; fi
    done
    wait_until 10 cluster_down || { log "redis-cluster: ports ${CLUSTER_PORTS[*]} stay busy"; return 1; }
  fi
  rm -rf "$CLUSTER_DIR"

  log "redis-cluster: creating 3 masters on 127.0.0.1:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[2]} (logs: $CLUSTER_DIR)"
  for port in "${CLUSTER_PORTS[@]}"; do
    mkdir -p "$CLUSTER_DIR/$port"
    quiet "$CLUSTER_DIR/start.log" redis-server --port "$port" --bind 127.0.0.1 \
      --cluster-enabled yes --cluster-config-file "$CLUSTER_DIR/$port/nodes.conf" \
      --save "" --appendonly no --daemonize yes \
      --pidfile "$CLUSTER_DIR/$port.pid" --logfile "$CLUSTER_DIR/$port.log" --dir "$CLUSTER_DIR/$port"
  done
  for port in "${CLUSTER_PORTS[@]}"; do
    wait_until 10 redis_ping "$port" || { log "redis-cluster: node $port did not start (log: $CLUSTER_DIR/$port.log)"; return 1; }
  done
  local nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  quiet "$CLUSTER_DIR/create.log" redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes
  # Slots are assigned at once, but each node reports ok only after gossip converges.
  wait_until 30 cluster_ok || { log "redis-cluster: cluster_state never became ok (log: $CLUSTER_DIR/create.log)"; return 1; }
  log "redis-cluster: ready at 127.0.0.1:${CLUSTER_PORTS[0]}"
  emit TEST_REDIS_CLUSTER_URL "$url"
}

# ------------------------------------------------------------------- MongoDB

backend_mongodb() {
  if [[ -n ${TEST_MONGODB_URL:-} ]]; then
    log "mongodb: using TEST_MONGODB_URL"
    emit TEST_MONGODB_URL "$TEST_MONGODB_URL"
    return
  fi
  log "mongodb: TEST_MONGODB_URL is not set and no MongoDB server can be installed here - the MongoDB tests will be skipped. To run them:"
  log "    docker compose up -d --wait mongodb"
  log "    export TEST_MONGODB_URL='mongodb://127.0.0.1:57017/?replicaSet=rs0&directConnection=true'"
  return 1
}

# ---------------------------------------------------------------------- main

main() {
  if [[ ${1:-} == --step ]]; then
    shift
    "$@"
    return
  fi

  # One run at a time: apt and the cluster bootstrap must not race each other.
  # -o keeps the lock descriptor away from the daemons we start.
  if [[ -z ${LGP_SERVICES_LOCKED:-} ]] && have flock; then
    export LGP_SERVICES_LOCKED=1
    exec flock -o -w 900 "${TMPDIR:-/tmp}/lgp-services-$(id -u).lock" "$BASH" "$SELF" "$@"
  fi

  mkdir -p "$LOG_DIR"
  local backend ready=() missing=()
  LGP_EXPORTS=$(mktemp)
  export LGP_EXPORTS
  trap 'rm -f "$LGP_EXPORTS"' EXIT
  for backend in postgres pgbouncer redis redis_cluster mongodb; do
    # stdout -> stderr: only emit() may write what the caller evals.
    if run_step "backend_$backend" >&2; then
      ready+=("${backend//_/-}")
    else
      missing+=("${backend//_/-}")
    fi
  done
  log "ready: ${ready[*]:-none}; skipped: ${missing[*]:-none}"
  cat "$LGP_EXPORTS"
}

main "$@"
