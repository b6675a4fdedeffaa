#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests and the quickstart need.
# Idempotent: prints nothing and exits 0 quickly when everything is already installed.
#
#   deploy/install-deps.sh [--deploy-validators]
#
# --deploy-validators (tests/run.sh): also yamllint, docker-compose (v1: `config` validates a
# compose file without a Docker engine) and promtool, taken from Debian's prometheus package
# without installing the server.
set -euo pipefail
validators=false
[[ "${1:-}" == "--deploy-validators" ]] && validators=true

packages=(
  build-essential cmake pkg-config git clang-format clang-tidy
  unixodbc unixodbc-dev libsqliteodbc odbc-postgresql
  libpqxx-dev librdkafka-dev libavro-dev libjemalloc-dev
  libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql kcat
  python3 python3-confluent-kafka python3-avro python3-psycopg2
  wrk curl procps iproute2 openssl sqlite3
)

$validators && packages+=(yamllint docker-compose)
# Node.js and npm for the independent schema-registry client (tests/e2e/registry_client), unless
# a Node.js with npm is already installed (e.g. from NodeSource).
$validators && ! command -v npm >/dev/null && packages+=(nodejs npm)
need_promtool=false
$validators && ! command -v promtool >/dev/null && need_promtool=true

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && ! $need_promtool && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if $need_promtool; then
  echo "install-deps: installing promtool (from Debian's prometheus package, without the server)"
  work=$(mktemp -d)
  chmod 0755 "$work"  # apt downloads as the _apt user
  (cd "$work" && apt-get download -qq prometheus >/dev/null 2>&1 && dpkg-deb -x prometheus_*.deb x)
  install -m 0755 "$work/x/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$work"
fi
# The postgresql package starts a system cluster on 5432 under systemd-less machines only
# sometimes; tests and quickstart run their own clusters, so nothing else is needed here.
echo "install-deps: done"
