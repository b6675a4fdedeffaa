#!/usr/bin/env bash
# The whole pipeline on one machine, on loopback, with nothing to install by hand:
#   SQLite source (demo schema + change tables) --cdc-producer--> cdc-devbroker (embedded Kafka)
#   --cdc-consumer--> PostgreSQL (local cluster) --cdc-api--> HTTP, fed by cdc-workload.
#
#   deploy/quickstart.sh [--rate N] [--no-workload] [--api-port N] [--format avro|json] [--reset]
#
# State lives in .quickstart/ (git-ignored): the PostgreSQL cluster, the SQLite source, logs, PID
# files, the ports it chose (state.env) and the config it runs with (config.yaml). Ctrl-C stops
# every process it started, by PID. Running it again resumes: the source and the replica survive;
# the dev broker keeps its topics in memory only, so on a restart the producer re-publishes the
# change tables from their start and the consumer replays them from the beginning; the version
# guard makes that exact. --reset deletes .quickstart/ first.
#
# Every step is idempotent, so a run after a failed, interrupted or killed one resumes or repairs:
# services a killed run left behind are stopped (by recorded PID, checked against the program), an
# interrupted initdb is redone, a cluster without the role or database gets them, and each port is
# (re)checked right before its service starts - a remembered port that is now taken is replaced.
# A failure ends with the failing service's own last log lines and the command that recovers.
#
# As root, PostgreSQL runs as `postgres`: when that user cannot reach .quickstart/ (a clone under
# /root or any 0700 folder), the cluster and its log live in /var/tmp/cdc-quickstart-<hash>/,
# linked from .quickstart/pg and .quickstart/logs/postgres.log. As another user it runs as that user.
#
# For tests: QUICKSTART_TEST_KILL_AT=initdb|postgres|broker|consumer makes the script SIGKILL itself
# right after that step (after initdb; after PostgreSQL started, before its role and database
# exist; after the broker or the consumer started), as a crash or a closed terminal would.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() {
  cat <<EOF
usage: deploy/quickstart.sh [options]
  --rate N          workload changes per second (default 100)
  --no-workload     start the pipeline without the workload generator
  --api-port N      port of cdc-api (default: the last run's, else 8080, else any free port)
  --format F        event format: avro (default) or json
  --reset           delete .quickstart/ (source, replica, logs) and start from scratch
  --dir DIR         state directory (default: .quickstart in the repository)
  --bin-dir DIR     use the binaries built in DIR (e.g. build) instead of a Release build
  --exit-when-ready start, print the summary, then stop everything and exit 0 (for scripts)
EOF
}

args=("$@")
rate=100
workload=1
api_port=""
format=""
reset=0
qs="$root/.quickstart"
bin_dir=""
exit_when_ready=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate) rate="$2"; shift 2 ;;
    --no-workload) workload=0; shift ;;
    --api-port) api_port="$2"; shift 2 ;;
    --format) format="$2"; shift 2 ;;
    --reset) reset=1; shift ;;
    --dir) qs="$2"; shift 2 ;;
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --exit-when-ready) exit_when_ready=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quickstart: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$rate" =~ ^[0-9]+$ && "$rate" -gt 0 ]] || { echo "quickstart: --rate: expected a positive integer, got \"$rate\"" >&2; exit 2; }
[[ -z "$api_port" || ( "$api_port" =~ ^[0-9]+$ && "$api_port" -ge 1 && "$api_port" -le 65535 ) ]] \
  || { echo "quickstart: --api-port: expected a port number, got \"$api_port\"" >&2; exit 2; }
[[ -z "$format" || "$format" == avro || "$format" == json ]] \
  || { echo "quickstart: --format: expected avro or json, got \"$format\"" >&2; exit 2; }
api_explicit=0
[[ -n "$api_port" ]] && api_explicit=1
mkdir -p "$qs"
qs=$(cd "$qs" && pwd)
run="$qs/run"
logs="$qs/logs"
is_root=0
[[ $(id -u) -eq 0 ]] && is_root=1
# The output as started, for the EXIT trap: a Ctrl-C during a function whose output goes to a log
# runs the trap inside that redirection. Services and PostgreSQL do not inherit these two.
exec 7>&1 8>&2

# The commands that recover, as this run was invoked: again (resumes and repairs) and again --reset.
again_args=()
for a in "${args[@]}"; do [[ "$a" == --reset ]] || again_args+=("$a"); done
again=$(printf '%q ' "$0" "${again_args[@]}")
again=${again% }

say() { printf '%s\n' "quickstart: $*"; }
die() { printf '%s\n' "quickstart: $*" >&2; exit 1; }
# fail WHAT RECOVERY...: ends the run (the EXIT trap stops what it started), then prints WHAT and
# the RECOVERY lines (the commands that recover) last. Print the cause (a log's tail) before it.
failure="" recovery=()
fail() { failure=$1; shift; recovery=("$@"); exit 1; }
print_failure() {
  printf '%s\n' "quickstart: FAILED: $failure" >&2
  printf 'quickstart: %s\n' "${recovery[@]}" >&2
}
retry="run again (it resumes and repairs what it can): $again"
reset_hint="if that cannot be fixed, start over (deletes the source and the replica): $again --reset"
# log_since FILE OFFSET: FILE's last lines written after byte OFFSET, without the HTTP requests the
# script's own readiness probes made (the cause is then what the service itself said).
log_since() {
  local file=$1 from=${2:-0}
  [[ -s "$file" ]] || return 0
  printf '%s\n' "---- $file (last lines):" >&2
  tail -c +$((from + 1)) "$file" | grep -v -E '"path": ?"/(ready|health|metrics)[?"]' | tail -n 15 >&2 || true
  printf '%s\n' "----" >&2
}
log_size() { if [[ -f "$1" ]]; then stat -L -c %s "$1"; else echo 0; fi; }
kill_point() {  # the test hook documented above
  if [[ "${QUICKSTART_TEST_KILL_AT:-}" == "$1" ]]; then
    say "QUICKSTART_TEST_KILL_AT=$1: killing this run (SIGKILL)"
    kill -KILL $$
  fi
}

# ---- one quickstart per state directory; what a killed run left running is stopped ---------------
mkdir -p "$run" "$logs"
runs() { [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"; }
if [[ -f "$run/quickstart.pid" ]] && [[ "$(cat "$run/quickstart.pid")" != "$$" ]] &&
   runs "$(cat "$run/quickstart.pid")" quickstart.sh; then
  other=$(cat "$run/quickstart.pid")
  die "already running in $qs (PID $other); stop it with Ctrl-C in its terminal, or: kill -INT $other"
fi
echo $$ >"$run/quickstart.pid"

# ---- build ------------------------------------------------------------------------------------
if [[ -z "$bin_dir" ]]; then
  bash "$root/deploy/install-deps.sh"
  bin_dir="$root/build-release"
  say "building (Release) in $bin_dir (log: $bin_dir.log)"
  if ! { cmake -S "$root" -B "$bin_dir" -DCMAKE_BUILD_TYPE=Release -DCDC_BUILD_TESTS=OFF \
           -DCDC_BUILD_BENCH=OFF &&
         cmake --build "$bin_dir" -j "$(nproc)" --target cdc-producer cdc-consumer cdc-api \
           cdc-devbroker cdc-workload; } >"$bin_dir.log" 2>&1; then
    tail -n 30 "$bin_dir.log" >&2
    rm -f "$run/quickstart.pid"
    die "build failed (full log: $bin_dir.log)"
  fi
fi
bin_dir=$(cd "$bin_dir" && pwd)
producer="$bin_dir/producer/cdc-producer"
consumer="$bin_dir/consumer/cdc-consumer"
api="$bin_dir/api/cdc-api"
devbroker="$bin_dir/deploy/devbroker/cdc-devbroker"
generator="$bin_dir/deploy/workload/cdc-workload"
for b in "$producer" "$consumer" "$api" "$devbroker" "$generator"; do
  [[ -x "$b" ]] || { rm -f "$run/quickstart.pid"; die "missing binary $b"; }
done
pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$pg_bin/initdb" ]] ||
  { rm -f "$run/quickstart.pid"; die "PostgreSQL server binaries not found (deploy/install-deps.sh installs them)"; }

# ---- process bookkeeping: every process we start is stopped on exit, by PID --------------------
started=()  # names, in start order
declare -A mark=()  # name -> size of its log when it started (its own lines follow)
stop_one() {
  local name=$1 pid_file="$run/$1.pid" pid
  [[ -f "$pid_file" ]] || return 0
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name did not stop within 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pid_file"
}
# as_postgres CMD...: as the PostgreSQL server's user (postgres when we are root), from /.
as_postgres() {
  if [[ $is_root -eq 1 ]]; then (cd / && runuser -u postgres -- "$@" 7>&- 8>&-); else (cd / && "$@" 7>&- 8>&-); fi
}
pg_link="$qs/pg"  # the data directory, or a link to it
pg_data=$(readlink -f "$pg_link")  # as the server reaches it
pg_log="$logs/postgres.log"
outside="/var/tmp/cdc-quickstart-$(printf '%s' "$qs" | md5sum | cut -c1-12)"
pg_running() {
  [[ -f "$pg_data/postmaster.pid" ]] && as_postgres "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1
}
stop_postgres() {
  [[ -f "$pg_data/postmaster.pid" ]] || return 0
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    kill -KILL "$(head -n 1 "$pg_data/postmaster.pid")" 2>/dev/null || true
}

# A run that was killed (SIGKILL, a closed terminal) left its services and PostgreSQL running.
for name in workload producer consumer api devbroker; do
  pid_file="$run/$name.pid"
  [[ -f "$pid_file" ]] || continue
  if runs "$(cat "$pid_file")" "cdc-$name"; then
    say "stopping $name (PID $(cat "$pid_file")), left running by an earlier run"
    stop_one "$name"
  fi
  rm -f "$pid_file"
done
if pg_running; then
  say "stopping PostgreSQL (PID $(head -n 1 "$pg_data/postmaster.pid")), left running by an earlier run"
  stop_postgres
fi

if [[ $reset -eq 1 ]]; then
  say "--reset: deleting $qs"
  # PG_VERSION goes first: a cluster that an interrupted --reset deleted in part is not resumed.
  # (An initdb orphaned by a killed run may still write its own directory: that one goes next time.)
  rm -f "$pg_data/PG_VERSION"
  for link in "$pg_link" "$pg_log"; do
    if [[ -L "$link" ]]; then
      rm -rf "$(readlink "$link")" 2>/dev/null || true
      rmdir "$(dirname "$(readlink "$link")")" 2>/dev/null || true
    fi
  done
  if [[ -d "$outside" && ! -L "$outside" && $(stat -c %u "$outside") -eq 0 ]]; then
    rm -rf "$outside" 2>/dev/null || true
  fi
  rm -rf "$qs" 2>/dev/null || true
  mkdir -p "$run" "$logs"
  echo $$ >"$run/quickstart.pid"
fi
rm -f "$run/workload.json"

cleaned=0
cleanup() {
  [[ $cleaned -eq 1 ]] && return
  cleaned=1
  trap '' INT TERM
  exec 1>&7 2>&8
  if [[ ${#started[@]} -eq 0 && ! -f "$pg_data/postmaster.pid" ]]; then  # nothing to stop
    rm -f "$run/quickstart.pid"
    [[ -z "$failure" ]] || print_failure
    return 0
  fi
  echo
  say "stopping"
  # The producer first (it flushes and checkpoints), then the consumer once it has applied what
  # was published, then the rest.
  for name in workload producer; do stop_one "$name"; done
  if [[ -f "$run/consumer.pid" ]] && kill -0 "$(cat "$run/consumer.pid")" 2>/dev/null; then
    for _ in $(seq 1 50); do
      [[ "$(metric_sum "$consumer_port" cdc_consumer_lag)" == 0 ]] && break
      sleep 0.2
    done
  fi
  for name in consumer api devbroker; do stop_one "$name"; done
  stop_postgres
  rm -f "$run/quickstart.pid"
  if [[ -n "$failure" ]]; then
    say "stopped; state kept in $qs"
    print_failure
  else
    say "stopped; state kept in $qs (run again to resume, --reset to start over)"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- ports and format (remembered between runs; each port re-checked right before its service) --
state="$qs/state.env"
pg_port=54329 broker_port=9092 producer_port=9101 consumer_port=9102 saved_api_port=8080 saved_format=avro
# shellcheck disable=SC1090
[[ -f "$state" ]] && source "$state"
for v in pg_port broker_port producer_port consumer_port saved_api_port; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || printf -v "$v" '%s' 0  # unreadable: ensure_port picks one
done
[[ "$saved_format" == avro || "$saved_format" == json ]] || saved_format=avro
api_port=${api_port:-$saved_api_port}
format=${format:-$saved_format}
save_state() {
  printf '%s\n' "pg_port=$pg_port broker_port=$broker_port producer_port=$producer_port consumer_port=$consumer_port saved_api_port=$api_port saved_format=$format" >"$state.tmp"
  mv "$state.tmp" "$state"
}
# port_taken P: something on this machine listens on 127.0.0.1:P or holds it bound.
port_taken() {
  [[ "$1" -ge 1 && "$1" -le 65535 ]] || return 0
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
  ! /usr/bin/python3 - "$1" 2>/dev/null <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_vars=(pg_port broker_port consumer_port producer_port api_port)
config_written=0
# ensure_port VAR WHAT: right before WHAT starts, keeps the port in VAR when it is free (and not
# another of ours), else replaces it with a free one and records that in state.env and the config.
ensure_port() {
  local var=$1 what=$2 port=${!1} other clash=0
  for other in "${port_vars[@]}"; do
    [[ "$other" != "$var" && "${!other}" == "$port" ]] && clash=1
  done
  [[ "$var" == api_port && $api_explicit -eq 1 ]] && clash=0  # the others move out of its way
  if [[ $clash -eq 1 ]] || port_taken "$port"; then
    if [[ "$var" == api_port && $api_explicit -eq 1 ]]; then
      fail "--api-port $port is in use by another process" \
        "choose a free port with --api-port N, or leave --api-port out to let the quickstart pick one"
    fi
    local new
    new=$(free_port)
    [[ "$port" -ne 0 ]] && say "port $port ($what) is in use; using $new"
    printf -v "$var" '%s' "$new"
  fi
  save_state
  [[ $config_written -eq 1 ]] && write_config
  return 0
}
# An explicit --api-port that is taken is refused now, before anything starts.
[[ $api_explicit -eq 1 ]] && ensure_port api_port cdc-api

# start NAME LOG COMMAND...: runs COMMAND in the background with stdout+stderr in LOG, in its own
# session so that a Ctrl-C reaches only this script, which then stops everything in order.
start() {
  local name=$1 log=$2
  shift 2
  mark[$name]=$(log_size "$log")
  setsid "$@" >>"$log" 2>&1 7>&- 8>&- &
  echo $! >"$run/$name.pid"
  started+=("$name")
}
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
# service_failed NAME PORT WHAT: NAME's own last log lines, then fail with WHAT; a port that another
# process took meanwhile is named (the next run picks a new one).
service_failed() {
  local name=$1 port=$2 what=$3
  log_since "$logs/$name.log" "${mark[$name]:-0}"
  if [[ -n "$port" ]] && ! alive "$run/$name.pid" && port_taken "$port"; then
    what="$what; port $port is in use by another process"
  fi
  fail "$what (log: $logs/$name.log)" "$retry"
}
# wait_ready NAME PORT URL SECONDS: until URL answers 200; else NAME's log and the reason it gave.
wait_ready() {
  local name=$1 port=$2 url=$3 seconds=$4 code reason=""
  local deadline=$((SECONDS + seconds))
  while [[ $SECONDS -lt $deadline ]]; do
    code=$(curl -s -m 2 -o "$run/probe.json" -w '%{http_code}' "$url" 2>/dev/null) || code=000
    [[ "$code" == 200 ]] && return 0
    [[ "$code" != 000 ]] && reason=$(/usr/bin/python3 -c \
      'import json, sys; print(json.load(open(sys.argv[1])).get("reason", ""))' "$run/probe.json" 2>/dev/null)
    alive "$run/$name.pid" || service_failed "$name" "$port" "$name exited while starting"
    sleep 0.2
  done
  service_failed "$name" "$port" "$name not ready after ${seconds}s${reason:+: $reason}"
}
# metric_sum PORT NAME: the sum of a Prometheus metric's samples (0 when absent).
metric_sum() {
  curl -sf "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d", s }'
}

# ---- PostgreSQL: where the server can reach its data and log --------------------------------------
# outside_dir: /var/tmp/cdc-quickstart-<hash>, root's (refused when someone else made it).
outside_dir() {
  [[ -e "$outside" || -L "$outside" ]] || mkdir -m 755 "$outside"
  [[ -d "$outside" && ! -L "$outside" && $(stat -c %u "$outside") -eq 0 ]] ||
    fail "$outside exists and is not a directory of root's" "remove it, then $retry"
}
if [[ $is_root -eq 1 ]]; then
  reach() { runuser -u postgres -- test -w "$1" 2>/dev/null; }
  if [[ -L "$pg_link" ]]; then
    # When /var/tmp was cleaned, a new cluster is made there.
    [[ -d "$(dirname "$(readlink "$pg_link")")" ]] || mkdir -m 755 "$(dirname "$(readlink "$pg_link")")"
    mkdir -p "$(readlink "$pg_link")"
  else
    mkdir -p "$pg_link" && chown postgres: "$pg_link"
    if ! reach "$pg_link"; then
      outside_dir
      target="$outside/pg"
      if [[ -f "$pg_link/PG_VERSION" ]]; then
        say "user postgres cannot reach $qs any more: moving the cluster to $target"
        rm -rf "$target" && mv "$pg_link" "$target"
      else
        rm -rf "$pg_link"
      fi
      ln -s "$target" "$pg_link"
      say "PostgreSQL data in $target (user postgres cannot reach $qs); linked from $pg_link"
    fi
  fi
  if [[ ! -L "$pg_log" ]]; then
    touch "$pg_log" && chown postgres: "$pg_log"
    if ! reach "$pg_log"; then
      outside_dir
      [[ -s "$pg_log" ]] && cat "$pg_log" >>"$outside/postgres.log"
      rm -f "$pg_log" && ln -s "$outside/postgres.log" "$pg_log"
      say "PostgreSQL log in $outside/postgres.log; linked from $pg_log"
    fi
  fi
  touch "$(readlink -f "$pg_log")" && chown postgres: "$(readlink -f "$pg_log")"
  mkdir -p "$(readlink -f "$pg_link")"
  chown postgres: "$(readlink -f "$pg_link")" && chmod 700 "$(readlink -f "$pg_link")"
fi
pg_data=$(readlink -f "$pg_link")
pg_log_real=$(readlink -f "$pg_log")
resume=0
if [[ -f "$pg_data/PG_VERSION" ]]; then
  resume=1
else
  # initdb writes a directory of its own that becomes the data directory once complete, so a data
  # directory with PG_VERSION is always a whole cluster. Remains of interrupted runs are removed
  # (an initdb orphaned by a killed run may still be writing its own: that one goes next time).
  [[ -d "$pg_data" && -n "$(ls -A "$pg_data")" ]] &&
    say "removing an incomplete cluster (an interrupted initdb or --reset) in $pg_data"
  rm -rf "$pg_data".initdb.* 2>/dev/null || true
  say "creating the PostgreSQL cluster in $pg_data"
  fresh=$(mktemp -d "$pg_data.initdb.XXXXXX")
  [[ $is_root -eq 1 ]] && chown postgres: "$fresh"
  as_postgres "$pg_bin/initdb" -D "$fresh" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$logs/initdb.log" 2>&1 ||
    { log_since "$logs/initdb.log"; fail "initdb failed (log: $logs/initdb.log)" "$retry"; }
  rm -rf "$pg_data"
  mv "$fresh" "$pg_data"
fi
kill_point initdb
ensure_port pg_port PostgreSQL
mark[postgres]=$(log_size "$pg_log_real")
if ! as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log_real" -w -t 60 \
     -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >"$run/pg_ctl.out" 2>&1; then
  log_since "$pg_log_real" "${mark[postgres]}"
  grep -v -e '^waiting for server' -e '^Examine the log' -e '^pg_ctl: could not start' "$run/pg_ctl.out" >&2 || true
  if port_taken "$pg_port"; then
    fail "PostgreSQL did not start: port $pg_port is in use by another process (log: $pg_log)" "$retry"
  fi
  fail "PostgreSQL did not start (log: $pg_log)" "fix the cause above and $retry" "$reset_hint"
fi
kill_point postgres
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$pg_port/postgres" "$@"; }
# The role cdc and its database replica: whatever is missing or wrong is made right (a run may
# have stopped after initdb and before either existed).
repairs=$(psql_admin -At 2>"$run/psql.err" <<'SQL'
SELECT s FROM (
  SELECT 1, 'CREATE ROLE cdc LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cdc')
  UNION ALL SELECT 2, 'ALTER ROLE cdc LOGIN' FROM pg_roles WHERE rolname = 'cdc' AND NOT rolcanlogin
  UNION ALL SELECT 3, 'CREATE DATABASE replica OWNER cdc'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'replica')
  UNION ALL SELECT 4, 'ALTER DATABASE replica OWNER TO cdc'
    FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE datname = 'replica' AND rolname <> 'cdc'
) AS needed(n, s) ORDER BY n
SQL
) || { cat "$run/psql.err" >&2; fail "cannot query PostgreSQL as postgres on port $pg_port" "$retry" "$reset_hint"; }
if [[ -n "$repairs" ]]; then
  [[ $resume -eq 1 ]] && say "repairing the cluster (a run stopped before it was complete): ${repairs//$'\n'/; }"
  while IFS= read -r statement; do
    psql_admin -c "$statement" >/dev/null 2>"$run/psql.err" ||
      { cat "$run/psql.err" >&2; fail "PostgreSQL refused: $statement" "$retry" "$reset_hint"; }
  done <<<"$repairs"
fi
pg_url="postgresql://cdc@127.0.0.1:$pg_port/replica"
# The pipeline's own connection, checked here so that its failure shows PostgreSQL's message.
replica_state=$(psql -X -At "$pg_url" -c "SELECT to_regclass('cdc.offsets') IS NOT NULL" 2>"$run/psql.err") ||
  { cat "$run/psql.err" >&2; fail "the pipeline cannot connect to $pg_url" "$retry" "$reset_hint"; }

# ---- dev broker (topics pre-created so a replay finds them before the producer writes) -------
tables=(CUSTOMERS PRODUCTS ORDERS ORDER_LINES)
topic_args=()
for t in "${tables[@]}"; do topic_args+=(--topic "cdc.main.$t:8"); done
ensure_port broker_port "dev broker"
start devbroker "$logs/devbroker.log" "$devbroker" --listen "127.0.0.1:$broker_port" \
  --control 127.0.0.1:0 "${topic_args[@]}" --log-level warn
broker_up() { tail -c +$((mark[devbroker] + 1)) "$logs/devbroker.log" | grep -q '^bootstrap='; }
for _ in $(seq 1 100); do broker_up && break; alive "$run/devbroker.pid" || break; sleep 0.1; done
broker_up || service_failed devbroker "$broker_port" "the dev broker did not start"
kill_point broker

# ---- config -----------------------------------------------------------------------------------
source_db="$qs/source.db"
config="$qs/config.yaml"
write_config() {
  cat >"$config" <<EOF
# Written by deploy/quickstart.sh; copy and adapt it (README: configuration reference).
pipeline:
  name: quickstart
log:
  level: info
  format: json
kafka:
  bootstrap_servers: 127.0.0.1:$broker_port
  format: $format                 # avro (schemas in topic _cdc_schemas) or json
  topic_prefix: cdc               # topics cdc.main.<TABLE>
source:
  # The embedded SQLite source; Oracle in production, e.g.
  # "Driver=Oracle 21 ODBC driver;Dbq=//db:1521/ORCLPDB1;Uid=app;Pwd=\${ORACLE_PASSWORD};"
  connection: "Driver=SQLite3;Database=$source_db;Timeout=20000;"
producer:
  snapshot: never                 # the change tables exist from the first row on
  purge: false                    # keep change rows so a restart can re-publish them
  poll_interval_ms: 100
  topic_partitions: 8
  metrics_listen: 127.0.0.1:$producer_port
  tables:
$(for t in "${tables[@]}"; do echo "    - name: main.$t"; done)
postgres:
  url: "$pg_url"
  schema: replica
consumer:
  group_id: cdc-quickstart
  topic_pattern: '^cdc\.main\..*'
  batch_max_ms: 50
  change_feed: true               # index _cdc_seq so the API serves GET .../changes
  metrics_listen: 127.0.0.1:$consumer_port
api:
  listen: 127.0.0.1:$api_port
  tokens: []                      # auth off for the quickstart; set tokens in production
EOF
  config_written=1
}
write_config

# ---- source: demo schema and its change tables -------------------------------------------------
mark[workload]=$(log_size "$logs/workload.log")
"$generator" init --source "Driver=SQLite3;Database=$source_db;Timeout=20000;" --schema demo \
  >>"$logs/workload.log" 2>&1 ||
  { log_since "$logs/workload.log" "${mark[workload]}"; fail "cannot create the demo schema in $source_db" "$retry" "$reset_hint"; }
"$producer" ddl --config "$config" --apply >"$logs/ddl.log" 2>&1 ||
  { log_since "$logs/ddl.log"; fail "cdc-producer ddl --apply failed" "$retry" "$reset_hint"; }

# ---- consumer, producer, API ------------------------------------------------------------------
ensure_port consumer_port "cdc-consumer metrics"
if [[ "$replica_state" == t ]]; then
  say "resuming: the consumer replays the re-published topics from the beginning"
  start consumer "$logs/consumer.log" "$consumer" replay --config "$config" --from-beginning
else
  [[ $resume -eq 1 ]] && say "the replica is empty: the consumer applies the re-published topics"
  start consumer "$logs/consumer.log" "$consumer" run --config "$config"
fi
# Ready once it reached PostgreSQL and applied its migrations.
wait_ready consumer "$consumer_port" "http://127.0.0.1:$consumer_port/ready" 60
kill_point consumer
ensure_port producer_port "cdc-producer metrics"
start producer "$logs/producer.log" "$producer" run --config "$config"
wait_ready producer "$producer_port" "http://127.0.0.1:$producer_port/health" 60
ensure_port api_port cdc-api
start api "$logs/api.log" "$api" run --config "$config"
wait_ready api "$api_port" "http://127.0.0.1:$api_port/ready" 60
if [[ $workload -eq 1 ]]; then
  start workload "$logs/workload.log" "$generator" run \
    --source "Driver=SQLite3;Database=$source_db;Timeout=20000;" --schema demo --rate "$rate" \
    --status-file "$run/workload.json"
  # Ready = the API lists every demo table and serves replicated rows.
  ready=0
  for _ in $(seq 1 600); do
    listed=$(curl -sf "http://127.0.0.1:$api_port/api/v1/tables" 2>/dev/null || true)
    ready=1
    for t in "${tables[@]}"; do [[ "$listed" == *"\"source\":\"main.$t\""* ]] || ready=0; done
    [[ $ready -eq 1 ]] && curl -sf "http://127.0.0.1:$api_port/api/v1/tables/orders/rows?limit=1" \
      2>/dev/null | grep -q '"id"' && break
    ready=0
    alive "$run/workload.pid" || service_failed workload "" "the workload generator exited"
    for name in producer consumer api; do
      alive "$run/$name.pid" || service_failed "$name" "" "$name exited"
    done
    sleep 0.1
  done
  if [[ $ready -eq 0 ]]; then
    for name in producer consumer; do log_since "$logs/$name.log" "${mark[$name]}"; done
    fail "no replicated rows after 60 s (logs: $logs/)" "$retry"
  fi
fi

base="http://127.0.0.1:$api_port"
cat <<EOF

cdc quickstart is running: SQLite source -> cdc-producer -> dev broker (127.0.0.1:$broker_port) -> cdc-consumer -> PostgreSQL -> cdc-api
  API        $base   (OpenAPI: $base/api/v1/openapi.json)
  try        curl -s $base/api/v1/tables
             curl -s '$base/api/v1/tables/orders/rows?limit=5&status=PAID'
             curl -s '$base/api/v1/tables/orders/changes?after_seq=0&limit=5&wait_ms=5000'
  topics     kcat -b 127.0.0.1:$broker_port -C -t cdc.main.ORDERS -o end -f '%k %h\n'$( [[ $format == avro ]] && echo "   (Avro values: see schemas/README.md)")
  replica    psql $pg_url -c 'select * from replica.orders limit 5'
  config     $config
  logs       $logs/ (producer, consumer, api, devbroker, workload, postgres)
  workload   $( [[ $workload -eq 1 ]] && echo "$rate changes/s (CUSTOMERS, PRODUCTS, ORDERS, ORDER_LINES)" || echo off)
Ctrl-C stops everything.
EOF
say "ready"
[[ $exit_when_ready -eq 1 ]] && exit 0

# ---- live status ----------------------------------------------------------------------------------
while true; do
  made=0
  [[ -f "$run/workload.json" ]] && made=$(sed -n 's/.*"changes":\([0-9]*\).*/\1/p' "$run/workload.json")
  printf '%s  changes made %s  events published %s  applied %s  superseded %s  lag %s  dead letters %s\n' \
    "$(date +%H:%M:%S)" "${made:-0}" \
    "$(metric_sum "$producer_port" cdc_producer_events_published_total)" \
    "$(metric_sum "$consumer_port" cdc_consumer_events_applied_total)" \
    "$(metric_sum "$consumer_port" cdc_consumer_events_skipped_total)" \
    "$(metric_sum "$consumer_port" cdc_consumer_lag)" \
    "$(metric_sum "$consumer_port" cdc_consumer_dead_letters_total)"
  for name in "${started[@]}"; do
    alive "$run/$name.pid" || service_failed "$name" "" "$name exited unexpectedly"
  done
  sleep 5
done
