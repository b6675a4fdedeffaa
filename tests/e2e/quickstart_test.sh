#!/usr/bin/env bash
# e2e: deploy/quickstart.sh with the binaries of BUILD_DIR, run from a private folder (mode 0700, as
# a clone under /root is; as root, user postgres - the PostgreSQL server's - cannot enter it):
#   1. a run killed right after PostgreSQL started, before its role and database exist
#      (QUICKSTART_TEST_KILL_AT=postgres), leaves the server running without them;
#   2. the next run stops what the killed run left, creates the role and the database, comes up,
#      and the API serves replicated rows;
#   3. Ctrl-C (SIGINT to its process group) stops every process it started: none of the recorded
#      PIDs (and not the PostgreSQL server) is alive afterwards, and none of its ports listens;
#   4. every remembered port is then taken by another process: a taken --api-port is refused at
#      once, naming the port; without --api-port the next run picks free ports and resumes (no
#      workload); once the replay drains, every replica table has the source table's row count
#      and key checksum; Ctrl-C again leaves nothing behind.
# usage: tests/e2e/quickstart_test.sh BUILD_DIR
set -euo pipefail
set -m  # job control: the quickstart gets its own process group, as in a terminal

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin_dir=$(cd "${1:?usage: quickstart_test.sh BUILD_DIR}" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/cdc-quickstart-test.XXXXXX")
chmod 700 "$dir"
qs="$dir/qs"
qs_pid="" holder_pid=""
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/out*.log "$qs"/logs/consumer.log "$qs"/logs/producer.log "$qs"/logs/postgres.log; do
    [[ -f "$f" ]] && { echo "---- $f" >&2; tail -n 25 "$f" >&2; }
  done
  exit 1
}
cleanup() {
  [[ -n "$qs_pid" ]] && kill -INT -- "-$qs_pid" 2>/dev/null && sleep 5
  [[ -n "$holder_pid" ]] && kill "$holder_pid" 2>/dev/null
  for f in "$qs"/run/*.pid; do [[ -f "$f" ]] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  [[ -f "$qs/pg/postmaster.pid" ]] && kill -KILL "$(head -n 1 "$qs/pg/postmaster.pid")" 2>/dev/null
  # As root from a private folder, the cluster and its log live outside it.
  local outside=""
  [[ -L "$qs/pg" ]] && outside=$(dirname "$(readlink "$qs/pg")")
  [[ "$outside" == /var/tmp/cdc-quickstart-* ]] && rm -rf "$outside"
  rm -rf "$dir"
}
trap cleanup EXIT

[[ $(stat -c %a "$dir") == 700 ]] || fail "$dir is not private"
if [[ $(id -u) -eq 0 ]] && runuser -u postgres -- test -x "$dir" 2>/dev/null; then
  fail "user postgres can enter $dir: the test would not run from a private folder"
fi

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
api_port=$(free_port)

# quickstart ARGS...: the quickstart from inside the private folder, in the foreground.
quickstart() { (cd "$dir" && exec "$root/deploy/quickstart.sh" --bin-dir "$bin_dir" --dir "$qs" "$@"); }
# start_quickstart LOG ARGS...: runs the quickstart in the background and waits for "ready".
start_quickstart() {
  local log=$1
  shift
  quickstart "$@" >"$log" 2>&1 &
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
  for pid_file in "$qs"/run/*.pid; do
    [[ "$pid_file" == */quickstart.pid ]] || pids+=("$(cat "$pid_file")")
  done
  pids+=("$(head -n 1 "$qs/pg/postmaster.pid")")
  # shellcheck disable=SC1091
  source "$qs/state.env"
  ports=("$saved_api_port" "$pg_port" "$broker_port" "$producer_port" "$consumer_port")
  kill -INT -- "-$qs_pid"
  local rc=0
  wait "$qs_pid" || rc=$?
  qs_pid=""
  [[ $rc -eq 130 ]] || fail "quickstart exit status $rc after Ctrl-C (expected 130)"
  # A zombie (exited, not yet reaped by an init that does not reap) counts as stopped. A process
  # may still be tearing down when the script returns (pg_ctl -w returns once the postmaster
  # removed its PID file, a moment before the postmaster itself is gone): allow 5 s for that.
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
running() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# ---- 1. a run killed between initdb and the creation of the role and database -----------------
rc=0
QUICKSTART_TEST_KILL_AT=postgres quickstart --api-port "$api_port" >"$dir/out0.log" 2>&1 || rc=$?
[[ $rc -eq 137 ]] || fail "the run with QUICKSTART_TEST_KILL_AT=postgres ended with $rc (expected 137, SIGKILL)"
left_pg=$(head -n 1 "$qs/pg/postmaster.pid")
running "$left_pg" || fail "the killed run left no PostgreSQL server running"
# shellcheck disable=SC1091
source "$qs/state.env"
roles=$(psql -X -At "postgresql://postgres@127.0.0.1:$pg_port/postgres" \
  -c "SELECT count(*) FROM pg_roles WHERE rolname = 'cdc'")
[[ "$roles" == 0 ]] || fail "the killed run got as far as creating role cdc"
echo "ok: a run killed after PostgreSQL started left it running (PID $left_pg) without role cdc"

# ---- 2. the next run repairs and comes up, serving replicated rows ----------------------------
api="http://127.0.0.1:$api_port"
start_quickstart "$dir/out1.log" --api-port "$api_port" --rate 300
grep -q "stopping PostgreSQL (PID $left_pg), left running by an earlier run" "$dir/out1.log" ||
  fail "the leftover PostgreSQL server was not stopped"
grep -q "repairing the cluster.*CREATE ROLE cdc LOGIN; CREATE DATABASE replica OWNER cdc" "$dir/out1.log" ||
  fail "no repair of the role and database reported"
curl -sf "$api/api/v1/tables/orders/rows?limit=5" | grep -q '"id"' || fail "no replicated orders from the API"
curl -sf "$api/api/v1/tables" | grep -q '"source":"main.ORDER_LINES"' || fail "ORDER_LINES not listed"
grep -q "kcat -b 127.0.0.1:" "$dir/out1.log" || fail "no kcat hint printed"
[[ -s "$qs/logs/postgres.log" ]] || fail "no PostgreSQL log at $qs/logs/postgres.log"
echo "ok: repaired and came up from a private folder; the API serves replicated rows"

# ---- 2b. another team's subscriber, with standard tools, decodes through cdc-api's registry ----
# kafkajs + @kafkajs/confluent-schema-registry (from npm; nothing of ours but the wire) read the
# ORDERS topic from the beginning and decode every key and value through GET /schemas/ids/{id}.
client="$bin_dir/registry-client"
mkdir -p "$client"
cp "$root/tests/e2e/registry_client/package.json" "$root/tests/e2e/registry_client/check.js" "$client/"
installed=0
for _ in 1 2 3; do
  (cd "$client" && npm install --no-audit --no-fund --silent >"$dir/npm.log" 2>&1) && installed=1 && break
  sleep 5
done
[[ $installed -eq 1 ]] || fail "npm install of the registry client failed: $(tail -n 5 "$dir/npm.log")"
# shellcheck disable=SC1091
source "$qs/state.env"
decoded=$(node "$client/check.js" "127.0.0.1:$broker_port" "$api" cdc.main.ORDERS 300) ||
  fail "the independent registry client failed: $decoded"
echo "ok: kafkajs + @kafkajs/confluent-schema-registry decoded through cdc-api: $decoded"
sleep 3  # let the workload make more changes (including deletes and key changes)

# ---- 3. Ctrl-C leaves nothing behind -----------------------------------------------------------
stop_quickstart

# ---- 4. ports taken between runs; the next run picks others and resumes exactly ---------------
# shellcheck disable=SC1091
source "$qs/state.env"
held=("$pg_port" "$broker_port" "$producer_port" "$consumer_port" "$saved_api_port")
/usr/bin/python3 - "${held[@]}" >"$dir/holder.log" 2>&1 <<'PY' &
import signal, socket, sys
held = []
for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen()
    held.append(s)
print("holding", flush=True)
signal.pause()
PY
holder_pid=$!
disown "$holder_pid"  # no job notice when the cleanup ends it
for _ in $(seq 1 50); do grep -q holding "$dir/holder.log" && break; sleep 0.1; done
grep -q holding "$dir/holder.log" || fail "cannot take ports ${held[*]}: $(cat "$dir/holder.log")"

rc=0
quickstart --api-port "$saved_api_port" --no-workload --exit-when-ready >"$dir/out2.log" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "a taken --api-port gave exit status $rc (expected 1)"
grep -q -- "--api-port $saved_api_port is in use" "$dir/out2.log" || fail "the taken --api-port was not named"
for f in "$qs"/run/*.pid; do [[ -e "$f" ]] && fail "a refused run left $f"; done
echo "ok: a taken --api-port is refused before anything starts"

start_quickstart "$dir/out3.log" --no-workload
grep -q "resuming" "$dir/out3.log" || fail "the run did not resume"
for port in "${held[@]}"; do
  grep -q "port $port (.*) is in use; using" "$dir/out3.log" || fail "taken port $port was not replaced"
done
# shellcheck disable=SC1091
source "$qs/state.env"
for port in "$pg_port" "$broker_port" "$producer_port" "$consumer_port" "$saved_api_port"; do
  [[ " ${held[*]} " != *" $port "* ]] || fail "state.env still names taken port $port"
done
pg="postgresql://cdc@127.0.0.1:$pg_port/replica"
checksum_source() {  # rows and a key checksum of a source table
  sqlite3 "$qs/source.db" "SELECT count(*) || ':' || coalesce(sum($2), 0) FROM $1"
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
echo "ok: taken ports replaced; resumed; replica equals source ($(checksum_source ORDERS id) orders)"
[[ "$(psql -X -At "$pg" -c 'SELECT count(*) FROM cdc.dead_letters')" == 0 ]] || fail "dead letters"
curl -sf "http://127.0.0.1:$saved_api_port/api/v1/tables" | grep -q '"source":"main.ORDERS"' ||
  fail "the API does not answer on its new port $saved_api_port"
stop_quickstart
echo "PASS"
