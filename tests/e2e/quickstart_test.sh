#!/usr/bin/env bash
# e2e: deploy/quickstart.sh on a fresh state directory with the binaries of BUILD_DIR.
#   1. it comes up, and the API serves replicated rows;
#   2. Ctrl-C (SIGINT to its process group) stops every process it started: none of the recorded
#      PIDs (and not the PostgreSQL server) is alive afterwards, and none of its ports listens;
#   3. a second run resumes (no workload): once the replay drains, every replica table has the
#      source table's row count and key checksum; Ctrl-C again leaves nothing behind.
# usage: tests/e2e/quickstart_test.sh BUILD_DIR
set -euo pipefail
set -m  # job control: the quickstart gets its own process group, as in a terminal

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin_dir=$(cd "${1:?usage: quickstart_test.sh BUILD_DIR}" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/cdc-quickstart-test.XXXXXX")
[[ $(id -u) -eq 0 ]] && chmod 755 "$dir"  # the PostgreSQL server runs as `postgres`
qs_pid=""
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/out*.log "$dir"/qs/logs/consumer.log "$dir"/qs/logs/producer.log; do
    [[ -f "$f" ]] && { echo "---- $f" >&2; tail -n 25 "$f" >&2; }
  done
  exit 1
}
cleanup() {
  [[ -n "$qs_pid" ]] && kill -INT -- "-$qs_pid" 2>/dev/null && sleep 5
  for f in "$dir"/qs/run/*.pid; do [[ -f "$f" ]] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  [[ -f "$dir/qs/pg/postmaster.pid" ]] && kill -KILL "$(head -n 1 "$dir/qs/pg/postmaster.pid")" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

api_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$api_port"

# start_quickstart LOG ARGS...: runs the quickstart in the background and waits for "ready".
start_quickstart() {
  local log=$1
  shift
  "$root/deploy/quickstart.sh" --bin-dir "$bin_dir" --dir "$dir/qs" --api-port "$api_port" "$@" \
    >"$log" 2>&1 &
  qs_pid=$!
  for _ in $(seq 1 1200); do
    grep -q "^quickstart: ready" "$log" && return 0
    kill -0 "$qs_pid" 2>/dev/null || fail "the quickstart exited before it was ready"
    sleep 0.1
  done
  fail "the quickstart was not ready within 120 s"
}

# stop_quickstart: Ctrl-C, then nothing it started may survive.
stop_quickstart() {
  local pids=() ports=() pid_file
  for pid_file in "$dir"/qs/run/*.pid; do pids+=("$(cat "$pid_file")"); done
  pids+=("$(head -n 1 "$dir/qs/pg/postmaster.pid")")
  # shellcheck disable=SC1091
  source "$dir/qs/state.env"
  ports=("$api_port" "$pg_port" "$broker_port" "$producer_port" "$consumer_port")
  kill -INT -- "-$qs_pid"
  local rc=0
  wait "$qs_pid" || rc=$?
  qs_pid=""
  [[ $rc -eq 130 ]] || fail "quickstart exit status $rc after Ctrl-C (expected 130)"
  # A zombie (exited, not yet reaped by an init that does not reap) counts as stopped. A process
  # may still be tearing down when the script returns (pg_ctl -w returns once the postmaster
  # removed its PID file, a moment before the postmaster itself is gone): allow 5 s for that.
  running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then
      fail "PID $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)) still running 5 s after the quickstart exited"
    fi
  done
  for port in "${ports[@]}"; do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && fail "port $port still listening"
  done
  echo "ok: Ctrl-C stopped ${#pids[@]} processes; ports ${ports[*]} closed"
}

# ---- 1. first run: comes up, serves replicated rows -------------------------------------------
start_quickstart "$dir/out1.log" --rate 300
curl -sf "$api/api/v1/tables/orders/rows?limit=5" | grep -q '"id"' || fail "no replicated orders from the API"
curl -sf "$api/api/v1/tables" | grep -q '"source":"main.ORDER_LINES"' || fail "ORDER_LINES not listed"
grep -q "kcat -b 127.0.0.1:" "$dir/out1.log" || fail "no kcat hint printed"
sleep 3  # let the workload make more changes (including deletes and key changes)
stop_quickstart

# ---- 3. second run resumes: replica equals source once the replay drains -----------------------
start_quickstart "$dir/out2.log" --no-workload
grep -q "resuming" "$dir/out2.log" || fail "the second run did not resume"
# shellcheck disable=SC1091
source "$dir/qs/state.env"
pg="postgresql://cdc@127.0.0.1:$pg_port/replica"
checksum_source() {  # rows and a key checksum of a source table
  sqlite3 "$dir/qs/source.db" "SELECT count(*) || ':' || coalesce(sum($2), 0) FROM $1"
}
checksum_replica() {
  psql -X -At "$pg" -c "SELECT count(*) || ':' || coalesce(sum($2), 0) FROM replica.$1"
}
for _ in $(seq 1 300); do
  same=1
  for spec in "CUSTOMERS:id" "PRODUCTS:length(sku)" "ORDERS:id" "ORDER_LINES:order_id*100000+line_no"; do
    table=${spec%%:*} expr=${spec#*:}
    [[ "$(checksum_source "$table" "$expr")" == "$(checksum_replica "${table,,}" "$expr")" ]] || same=0
  done
  [[ $same -eq 1 ]] && break
  sleep 0.2
done
[[ $same -eq 1 ]] || fail "replica differs from source after the resume: $(checksum_source ORDERS id) vs $(checksum_replica orders id)"
echo "ok: resumed; replica equals source ($(checksum_source ORDERS id) orders)"
[[ "$(psql -X -At "$pg" -c 'SELECT count(*) FROM cdc.dead_letters')" == 0 ]] || fail "dead letters"
stop_quickstart
echo "PASS"
