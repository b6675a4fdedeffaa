#!/usr/bin/env bash
# The whole pipeline on one machine, on loopback, with nothing to install by hand:
#   SQLite source (demo schema + change tables) --cdc-producer--> cdc-devbroker (embedded Kafka)
#   --cdc-consumer--> PostgreSQL (local cluster) --cdc-api--> HTTP, fed by cdc-workload.
#
#   deploy/quickstart.sh [--rate N] [--no-workload] [--api-port N] [--format avro|json] [--reset]
#
# State lives in .quickstart/ (git-ignored): the PostgreSQL cluster, the SQLite source, logs, PID
# files and the config it runs with (.quickstart/config.yaml). Ctrl-C stops every process it
# started, by PID. Running it again resumes: the source and the replica survive; the dev broker
# keeps its topics in memory only, so on a restart the producer re-publishes the change tables
# from their start and the consumer replays them from the beginning; the version guard makes that
# exact. --reset deletes .quickstart/ first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() {
  cat <<EOF
usage: deploy/quickstart.sh [options]
  --rate N          workload changes per second (default 100)
  --no-workload     start the pipeline without the workload generator
  --api-port N      port of cdc-api (default 8080)
  --format F        event format: avro (default) or json
  --reset           delete .quickstart/ (source, replica, logs) and start from scratch
  --dir DIR         state directory (default: .quickstart in the repository)
  --bin-dir DIR     use the binaries built in DIR (e.g. build) instead of a Release build
  --exit-when-ready start, print the summary, then stop everything and exit 0 (for scripts)
EOF
}

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
mkdir -p "$qs"
qs=$(cd "$qs" && pwd)
run="$qs/run"
logs="$qs/logs"

say() { printf '%s\n' "quickstart: $*"; }
die() { printf '%s\n' "quickstart: $*" >&2; exit 1; }

# ---- one quickstart per state directory -------------------------------------------------------
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
for pid_file in "$run"/*.pid; do
  [[ -e "$pid_file" ]] || continue
  if alive "$pid_file"; then
    die "already running in $qs ($(basename "$pid_file" .pid) has PID $(cat "$pid_file")); stop it with Ctrl-C first"
  fi
done

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
  [[ -x "$b" ]] || die "missing binary $b"
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x "$pg_bin/initdb" ]] || die "PostgreSQL server binaries not found (deploy/install-deps.sh installs them)"

if [[ $reset -eq 1 ]]; then
  say "--reset: deleting $qs"
  [[ -L "$qs/pg" ]] && rm -rf "$(readlink "$qs/pg")"
  rm -rf "$qs"
  mkdir -p "$qs"
fi
mkdir -p "$run" "$logs"
rm -f "$run/workload.json"

# ---- ports and format (remembered between runs) ----------------------------------------------
state="$qs/state.env"
pg_port=54329 broker_port=9092 producer_port=9101 consumer_port=9102 saved_api_port=8080 saved_format=avro
# shellcheck disable=SC1090
[[ -f "$state" ]] && source "$state"
api_port=${api_port:-$saved_api_port}
format=${format:-$saved_format}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
pick_port() {  # the remembered/default port when free, else any free port
  if port_busy "$1"; then free_port; else echo "$1"; fi
}
port_busy "$api_port" && die "--api-port $api_port is in use"
pg_port=$(pick_port "$pg_port")
broker_port=$(pick_port "$broker_port")
producer_port=$(pick_port "$producer_port")
consumer_port=$(pick_port "$consumer_port")
cat >"$state" <<EOF
pg_port=$pg_port broker_port=$broker_port producer_port=$producer_port consumer_port=$consumer_port saved_api_port=$api_port saved_format=$format
EOF

# ---- process bookkeeping: every process we start is stopped on exit, by PID --------------------
started=()  # names, in start order
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
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_data=""
stop_postgres() {
  [[ -n "$pg_data" && -f "$pg_data/postmaster.pid" ]] || return 0
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    kill -KILL "$(head -n 1 "$pg_data/postmaster.pid")" 2>/dev/null || true
}
cleaned=0
cleanup() {
  [[ $cleaned -eq 1 ]] && return
  cleaned=1
  trap '' INT TERM
  echo
  say "stopping"
  # The producer first (it flushes and checkpoints), then the consumer once it has applied what
  # was published, then the rest.
  for name in workload producer; do stop_one "$name"; done
  if [[ -f "$run/consumer.pid" ]]; then
    for _ in $(seq 1 50); do
      [[ "$(metric_sum "$consumer_port" cdc_consumer_lag)" == 0 ]] && break
      sleep 0.2
    done
  fi
  for name in consumer api devbroker; do stop_one "$name"; done
  stop_postgres
  say "stopped; state kept in $qs (run again to resume, --reset to start over)"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LOG COMMAND...: runs COMMAND in the background with stdout+stderr in LOG, in its own
# session so that a Ctrl-C reaches only this script, which then stops everything in order.
start() {
  local name=$1 log=$2
  shift 2
  setsid "$@" >>"$log" 2>&1 &
  echo $! >"$run/$name.pid"
  started+=("$name")
}
# wait_http NAME URL SECONDS: until URL answers 200, or fail with the log's tail.
wait_http() {
  local name=$1 url=$2 seconds=$3
  for _ in $(seq 1 $((seconds * 10))); do
    curl -sf -o /dev/null "$url" && return 0
    alive "$run/$name.pid" || { tail -n 20 "$logs/$name.log" >&2; die "$name exited (log: $logs/$name.log)"; }
    sleep 0.1
  done
  tail -n 20 "$logs/$name.log" >&2
  die "$name not ready at $url after ${seconds}s (log: $logs/$name.log)"
}
# metric_sum PORT NAME: the sum of a Prometheus metric's samples (0 when absent).
metric_sum() {
  curl -sf "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d", s }'
}

# ---- PostgreSQL ------------------------------------------------------------------------------
pg_data="$qs/pg"
if [[ $(id -u) -eq 0 && ! -L "$pg_data" ]]; then
  # The server runs as `postgres`, which may not be able to reach a repository under /root.
  mkdir -p "$pg_data" && chown postgres: "$pg_data"
  if ! runuser -u postgres -- test -w "$pg_data"; then
    rmdir "$pg_data"
    outside="/var/tmp/cdc-quickstart-$(echo "$qs" | md5sum | cut -c1-12)/pg"
    mkdir -p "$outside" && chown postgres: "$outside" "$(dirname "$outside")"
    ln -s "$outside" "$pg_data"
    say "PostgreSQL data in $outside (user postgres cannot reach $qs); linked from $pg_data"
  fi
fi
mkdir -p "$pg_data"
[[ $(id -u) -eq 0 ]] && chown postgres: "$(readlink -f "$pg_data")" && chmod 700 "$(readlink -f "$pg_data")"
pg_data=$(readlink -f "$pg_data")
resume=0
if [[ -f "$pg_data/PG_VERSION" ]]; then
  resume=1
else
  say "creating the PostgreSQL cluster in $pg_data"
  as_postgres "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$logs/initdb.log" 2>&1 || { cat "$logs/initdb.log" >&2; die "initdb failed"; }
fi
touch "$logs/postgres.log" && [[ $(id -u) -eq 0 ]] && chown postgres: "$logs/postgres.log"
as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$logs/postgres.log" -w -t 60 \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null \
  || { tail -n 20 "$logs/postgres.log" >&2; die "PostgreSQL did not start (log: $logs/postgres.log)"; }
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$pg_port/postgres" "$@"; }
if [[ $resume -eq 0 ]]; then
  psql_admin -c "CREATE ROLE cdc LOGIN" -c "CREATE DATABASE replica OWNER cdc" >/dev/null
fi
pg_url="postgresql://cdc@127.0.0.1:$pg_port/replica"

# ---- dev broker (topics pre-created so a replay finds them before the producer writes) -------
tables=(CUSTOMERS PRODUCTS ORDERS ORDER_LINES)
topic_args=()
for t in "${tables[@]}"; do topic_args+=(--topic "cdc.main.$t:8"); done
start devbroker "$logs/devbroker.log" "$devbroker" --listen "127.0.0.1:$broker_port" \
  --control 127.0.0.1:0 "${topic_args[@]}" --log-level warn
for _ in $(seq 1 100); do grep -q '^bootstrap=' "$logs/devbroker.log" && break; alive "$run/devbroker.pid" || break; sleep 0.1; done
grep -q '^bootstrap=' "$logs/devbroker.log" || { tail -n 20 "$logs/devbroker.log" >&2; die "the dev broker did not start"; }

# ---- config -----------------------------------------------------------------------------------
source_db="$qs/source.db"
config="$qs/config.yaml"
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

# ---- source: demo schema and its change tables -------------------------------------------------
"$generator" init --source "Driver=SQLite3;Database=$source_db;Timeout=20000;" --schema demo \
  >>"$logs/workload.log" 2>&1 || { tail -n 20 "$logs/workload.log" >&2; die "cannot create the demo schema"; }
"$producer" ddl --config "$config" --apply >"$logs/ddl.log" 2>&1 \
  || { cat "$logs/ddl.log" >&2; die "cdc-producer ddl --apply failed"; }

# ---- consumer, producer, API ------------------------------------------------------------------
if [[ $resume -eq 1 ]]; then
  say "resuming: the consumer replays the re-published topics from the beginning"
  start consumer "$logs/consumer.log" "$consumer" replay --config "$config" --from-beginning
else
  start consumer "$logs/consumer.log" "$consumer" run --config "$config"
fi
wait_http consumer "http://127.0.0.1:$consumer_port/health" 60
start producer "$logs/producer.log" "$producer" run --config "$config"
wait_http producer "http://127.0.0.1:$producer_port/health" 60
start api "$logs/api.log" "$api" run --config "$config"
wait_http api "http://127.0.0.1:$api_port/ready" 60
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
    alive "$run/workload.pid" || { tail -n 20 "$logs/workload.log" >&2; die "the workload generator exited"; }
    sleep 0.1
  done
  [[ $ready -eq 1 ]] || die "no replicated rows after 60 s (logs: $logs/)"
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
    alive "$run/$name.pid" || { tail -n 20 "$logs/$name.log" >&2; die "$name exited unexpectedly (log: $logs/$name.log)"; }
  done
  sleep 5
done
