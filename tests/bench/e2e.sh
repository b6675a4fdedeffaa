#!/usr/bin/env bash
# The end-to-end benchmark in one command: builds the driver (and the binaries it runs) in build/
# (RelWithDebInfo, -O2) and runs it; arguments go to the driver.
#   tests/bench/e2e.sh                       # 1M changes, then 20 s at 5k changes/s
#   tests/bench/e2e.sh --changes 200000 --rate 5000 --seconds 20 --partitions 64
#   tests/bench/e2e.sh --change-feed          # the consumer with consumer.change_feed: true
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="${CDC_BUILD_DIR:-$root/build}"
bash "$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCDC_BUILD_TESTS=ON \
  -DCDC_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target e2e_bench >/dev/null
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
exec "$build/tests/bench/e2e_bench" "$@"
