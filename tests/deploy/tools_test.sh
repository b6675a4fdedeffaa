#!/usr/bin/env bash
# The deployment files checked with the validators Debian has (ctest label `deploy`; the
# structural checks are tests/unit/deploy/manifests_test.cc):
#
#   tools_test.sh BUILD_DIR oracle-ddl         committed Oracle init DDL == the generator's output,
#                                              and its columns match 01_demo_schema.sql's tables
#   tools_test.sh BUILD_DIR compose            docker-compose config (v1, no engine needed)
#   tools_test.sh BUILD_DIR prometheus         promtool check rules/config + rule unit tests
#   tools_test.sh BUILD_DIR systemd            systemd-analyze verify (silent) + security score
#   tools_test.sh BUILD_DIR yamllint           every YAML file under deploy/
#   tools_test.sh BUILD_DIR container-scripts  the image's entrypoint (*_FILE secrets) and
#                                              HEALTHCHECK script, and compose/make-secrets.sh
#   tools_test.sh BUILD_DIR runtime-libraries  every shared library the binaries need comes from a
#                                              package the image's runtime stage installs
#   tools_test.sh BUILD_DIR cli                every binary's --version and --help
#
# A missing validator is a failure, not a skip: deploy/install-deps.sh installs them all.
set -euo pipefail
build=$(cd "$1" && pwd)
check=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
deploy="$root/deploy"
scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 is not installed (deploy/install-deps.sh installs it)"; }

# expect_rc RC COMMAND...: runs COMMAND, fails unless it exits with RC.
expect_rc() {
  local want=$1 got=0
  shift
  "$@" >"$scratch/out" 2>&1 || got=$?
  [[ $got -eq $want ]] || { cat "$scratch/out" >&2; fail "'$*' exited $got, expected $want"; }
}

# Prints "TABLE COLUMN" lines: from CREATE TABLE "DEMO"."T" (...) in 01, and from the change
# tables' column lists (minus CDC_*) in 02.
oracle_columns() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys
mode, path = sys.argv[1], sys.argv[2]
text = open(path).read()
for table, body in re.findall(r'CREATE TABLE "DEMO"\."(\w+)" \((.*?)\n\);', text, re.S):
    if mode == "changes":
        if not table.endswith("_CT"):
            continue
        table = table[:-3]
    for column in re.findall(r'^\s+"(\w+)" ', body, re.M):
        if not column.startswith("CDC_"):
            print(table, column)
PY
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "$check" in
  oracle-ddl)
    "$deploy/compose/oracle-init/generate.sh" --bin-dir "$build" --check
    oracle_columns tables "$deploy/compose/oracle-init/01_demo_schema.sql" | sort >"$scratch/tables"
    oracle_columns changes "$deploy/compose/oracle-init/02_change_tables.sql" | sort >"$scratch/changes"
    [[ $(wc -l <"$scratch/tables") -ge 25 ]] || fail "01_demo_schema.sql: too few columns parsed"
    diff -u "$scratch/tables" "$scratch/changes" ||
      fail "01_demo_schema.sql's tables and the generated change tables have different columns"
    [[ $(grep -c '^CREATE OR REPLACE TRIGGER "DEMO"\.' "$deploy/compose/oracle-init/02_change_tables.sql") -eq 4 ]] ||
      fail "expected 4 triggers"
    ;;

  compose)
    need docker-compose
    docker-compose -f "$deploy/docker-compose.yml" config -q
    # An undefined anchor or a wrong key type is caught: a broken copy must fail.
    sed 's/<<: \*cdc-service/<<: *cdc-servic/' "$deploy/docker-compose.yml" >"$deploy/.compose-broken.yml"
    rc=0
    docker-compose -f "$deploy/.compose-broken.yml" config -q >/dev/null 2>&1 || rc=$?
    rm -f "$deploy/.compose-broken.yml"
    [[ $rc -ne 0 ]] || fail "docker-compose accepted a broken file"
    ;;

  prometheus)
    promtool=$(command -v promtool || true)
    [[ -n "$promtool" ]] || fail "promtool is not installed (deploy/install-deps.sh installs it)"
    "$promtool" check rules "$deploy/prometheus/alerts.yml"
    "$promtool" check config "$deploy/prometheus/prometheus.yml"
    (cd "$deploy/prometheus" && "$promtool" test rules alerts_test.yml)
    ;;

  systemd)
    need systemd-analyze
    # verify needs the ExecStart binaries to exist: point the units at this build.
    for name in producer consumer api; do
      sed "s|/usr/local/bin/cdc-$name|$build/$name/cdc-$name|" \
        "$deploy/systemd/cdc-$name.service" >"$scratch/cdc-$name.service"
    done
    systemd-analyze verify "$scratch"/cdc-*.service >"$scratch/verify.log" 2>&1 || true
    if [[ -s "$scratch/verify.log" ]]; then
      cat "$scratch/verify.log" >&2
      fail "systemd-analyze verify reported problems"
    fi
    for name in producer consumer api; do
      # Exposure 0.0 (locked down) .. 10.0 (unprotected); 2.0 or better.
      systemd-analyze security --offline=yes --threshold=20 "$scratch/cdc-$name.service" \
        >"$scratch/security.log" 2>&1 || { tail -5 "$scratch/security.log" >&2; fail "cdc-$name: exposure above 2.0"; }
      tail -1 "$scratch/security.log"
    done
    ;;

  yamllint)
    need yamllint
    yamllint --strict -c "$deploy/.yamllint" "$deploy"
    ;;

  container-scripts)
    entrypoint="$deploy/docker/entrypoint.sh"
    printf 's3cret\n' >"$scratch/pw"
    got=$(env -i PATH="$PATH" PGPASSWORD_FILE="$scratch/pw" sh "$entrypoint" sh -c 'printf "%s|%s" "$PGPASSWORD" "${PGPASSWORD_FILE:-unset}"')
    [[ "$got" == "s3cret|unset" ]] || fail "entrypoint: PGPASSWORD_FILE gave '$got'"
    got=$(env -i PATH="$PATH" CDC_SECRET_NAMES="MY_TOKEN" MY_TOKEN_FILE="$scratch/pw" SSL_CERT_FILE=/x sh "$entrypoint" sh -c 'printf "%s|%s" "$MY_TOKEN" "$SSL_CERT_FILE"')
    [[ "$got" == "s3cret|/x" ]] || fail "entrypoint: only named secrets are read, got '$got'"
    expect_rc 2 env -i PATH="$PATH" PGPASSWORD=x PGPASSWORD_FILE="$scratch/pw" sh "$entrypoint" true
    expect_rc 2 env -i PATH="$PATH" API_TOKEN_FILE="$scratch/missing" sh "$entrypoint" true
    expect_rc 2 env -i PATH="$PATH" CDC_SECRET_NAMES='A;B' sh "$entrypoint" true
    expect_rc 7 env -i PATH="$PATH" sh "$entrypoint" sh -c 'exit 7'

    healthcheck="$deploy/docker/healthcheck.sh"
    port=$(free_port)
    /usr/bin/python3 - "$port" <<'PY' &
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
    pids+=($!)
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    expect_rc 0 env CDC_HEALTH_PORT="$port" bash "$healthcheck"
    # A status endpoint that answers 503 on /health, and a port nothing listens on.
    bad_port=$(free_port)
    /usr/bin/python3 - "$bad_port" <<'PY' &
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
    pids+=($!)
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$bad_port") 2>/dev/null && break; sleep 0.1; done
    rc=0; CDC_HEALTH_PORT="$bad_port" bash "$healthcheck" >/dev/null 2>&1 || rc=$?
    [[ $rc -ne 0 ]] || fail "healthcheck passed on a 503"
    rc=0; CDC_HEALTH_PORT="$(free_port)" bash "$healthcheck" >/dev/null 2>&1 || rc=$?
    [[ $rc -ne 0 ]] || fail "healthcheck passed with nothing listening"

    # make-secrets.sh: four non-empty secrets in a private directory, kept on a second run.
    mkdir -p "$scratch/compose"
    cp "$deploy/compose/make-secrets.sh" "$scratch/compose/"
    "$scratch/compose/make-secrets.sh" >/dev/null
    first=$(cat "$scratch/compose/secrets/"*)
    [[ $(find "$scratch/compose/secrets" -type f -size +8c | wc -l) -eq 4 ]] || fail "make-secrets: 4 secrets expected"
    [[ $(stat -c %a "$scratch/compose/secrets") == 700 ]] || fail "make-secrets: directory not 0700"
    "$scratch/compose/make-secrets.sh" >/dev/null
    [[ "$(cat "$scratch/compose/secrets/"*)" == "$first" ]] || fail "make-secrets: a second run changed secrets"
    ;;

  runtime-libraries)
    # The runtime stage's apt-get install list, plus what debian:12-slim has already.
    /usr/bin/python3 - "$deploy/Dockerfile" >"$scratch/allowed" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
stage = re.search(r"^FROM \S+ AS runtime\n(.*?)^FROM ", text, re.S | re.M).group(1)
for install in re.findall(r"apt-get install -y --no-install-recommends ([^&]+)", stage):
    print("\n".join(install.split()))
print("\n".join(["libc6", "libstdc++6", "libgcc-s1", "zlib1g"]))
PY
    [[ $(wc -l <"$scratch/allowed") -gt 10 ]] || fail "could not read the runtime stage's packages"
    checked=0
    for binary in producer/cdc-producer consumer/cdc-consumer api/cdc-api \
        deploy/devbroker/cdc-devbroker deploy/workload/cdc-workload; do
      [[ -x "$build/$binary" ]] || fail "$build/$binary is not built"
      for library in $(readelf -d "$build/$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        # Sanitizer runtimes exist only in the ASan/UBSan test build.
        [[ "$library" == libasan* || "$library" == libubsan* ]] && continue
        path=$(ldd "$build/$binary" | awk -v lib="$library" '$1 == lib { print $3 }')
        [[ -n "$path" ]] || fail "$binary: $library not found by ldd"
        package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)
        package=${package%%:*}
        [[ -n "$package" ]] || fail "$binary: no Debian package owns $path"
        grep -qx "$package" "$scratch/allowed" ||
          fail "$binary needs $library from $package, which the Dockerfile's runtime stage does not install"
        checked=$((checked + 1))
      done
    done
    echo "$checked library dependencies, all installed by the runtime stage"
    ;;

  cli)
    # Every binary: --version prints "NAME VERSION" (CMake's project version) and exits 0; --help
    # exits 0 and lists each command once.
    version=$(sed -n 's/^project(cdc VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
    [[ -n "$version" ]] || fail "no project version in CMakeLists.txt"
    for binary in producer/cdc-producer consumer/cdc-consumer api/cdc-api \
                  deploy/devbroker/cdc-devbroker deploy/workload/cdc-workload; do
      name=$(basename "$binary")
      out=$("$build/$binary" --version) || fail "$name --version exited $?"
      [[ "$out" == "$name $version" ]] || fail "$name --version printed '$out', expected '$name $version'"
      help=$("$build/$binary" --help) || fail "$name --help exited $?"
      for command in run check ddl snapshot replay init; do
        count=$(grep -cE "^ +$command( |$)" <<<"$help" || true)
        [[ $count -le 1 ]] || fail "$name --help lists $command $count times"
      done
    done
    ;;

  *)
    echo "tools_test.sh: unknown check '$check'" >&2
    exit 2
    ;;
esac
echo "deploy.$check: ok"
