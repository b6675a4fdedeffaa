#!/usr/bin/env bash
# THE test command (README, .ci/run): install dependencies -> configure -> build -> run every ctest
# label (unit, integration, slow, lint) -> print a summary. Exits non-zero on any failure.
#
#   tests/run.sh                              # RelWithDebInfo build in ./build
#   tests/run.sh --sanitize address,undefined # ASan/UBSan build in ./build-asan
#   tests/run.sh --label unit                 # one label only
#   CDC_TEST_JOBS=4 tests/run.sh              # ctest parallelism (default: cores + 1)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=""
labels=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sanitize) sanitize="$2"; shift 2 ;;
    --label) labels+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "tests/run.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -n "$sanitize" ]]; then
  build="${CDC_BUILD_DIR:-$root/build-$(echo "$sanitize" | tr ',' '-' | sed 's/address/asan/;s/undefined/ubsan/;s/thread/tsan/')}"
else
  build="${CDC_BUILD_DIR:-$root/build}"
fi
cores=$(nproc)
jobs="${CDC_TEST_JOBS:-$((cores + 1))}"
started=$(date +%s)

echo "==> dependencies"
bash "$root/deploy/install-deps.sh" --deploy-validators

echo "==> configure ($build${sanitize:+, sanitize=$sanitize})"
# The sanitizer pass runs the tests, not the benchmarks (their drivers' smoke runs are in the
# plain pass).
bench=ON
[[ -n "$sanitize" ]] && bench=OFF
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCDC_SANITIZE="$sanitize" \
  -DCDC_BUILD_TESTS=ON -DCDC_BUILD_BENCH="$bench" >"$build.configure.log" 2>&1 \
  || { cat "$build.configure.log"; exit 1; }

echo "==> build"
cmake --build "$build" -j "$cores" 2>&1 | grep -E "(error|warning):|\*\*\*" || true
cmake --build "$build" -j "$cores" >/dev/null  # fails loudly if the first pass did

if [[ -n "$sanitize" ]]; then
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
fi

if [[ ${#labels[@]} -eq 0 ]]; then
  # Every label the build registered, fastest first.
  mapfile -t labels < <(cd "$build" && ctest --print-labels | sed -n 's/^  //p' |
    awk '{ order = ($0=="unit") ? 0 : ($0=="lint") ? 1 : ($0=="integration") ? 2 : ($0=="e2e") ? 3 : 4; print order, $0 }' |
    sort -n | cut -d' ' -f2)
fi

echo "==> tests (labels: ${labels[*]}; $jobs in parallel)"
status=0
summary=()
total_passed=0
total_failed=0
# record LABEL RC LOG: adds a label's result to the summary and prints its failures.
record() {
  local label=$1 rc=$2 log=$3 line total failed
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1 || true)
  total=$(echo "$line" | sed -nE 's/.*out of ([0-9]+).*/\1/p')
  failed=$(echo "$line" | sed -nE 's/.* ([0-9]+) tests? failed.*/\1/p')
  total=${total:-0}; failed=${failed:-0}
  if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
  total_passed=$((total_passed + total - failed))
  total_failed=$((total_failed + failed))
  summary+=("$(printf '%-12s %4d tests, %3d failed' "$label" "$total" "$failed")")
  if [[ $rc -ne 0 ]]; then
    status=1
    echo "---- $label: failures (full log: $log)"
    sed -n '/The following tests FAILED/,$p' "$log" || true
    { grep -B2 -A25 -E "\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Failure$" "$log" || true; } | head -200
  fi
}
run_label() {  # run_label LABEL -> ctest's exit status; output in $build/ctest-LABEL.log
  (cd "$build" && ctest -L "^${1}\$" -j "$jobs" --output-on-failure \
    --timeout 300 --no-tests=error) >"$build/ctest-$1.log" 2>&1
}
# Lint needs no services and the other labels mostly wait on servers and timeouts: it runs
# alongside them instead of on its own (in the plain pass; the sanitizer pass has no lint).
lint_pid=""
if [[ ${#labels[@]} -gt 1 && " ${labels[*]} " == *" lint "* ]]; then
  run_label lint &
  lint_pid=$!
  remaining=()
  for label in "${labels[@]}"; do [[ "$label" == lint ]] || remaining+=("$label"); done
  labels=("${remaining[@]}")
fi
for label in "${labels[@]}"; do
  set +e
  run_label "$label"
  rc=$?
  set -e
  record "$label" "$rc" "$build/ctest-$label.log"
done
if [[ -n "$lint_pid" ]]; then
  set +e
  wait "$lint_pid"
  rc=$?
  set -e
  record lint "$rc" "$build/ctest-lint.log"
fi

echo "==> summary ($(( $(date +%s) - started ))s${sanitize:+, sanitize=$sanitize})"
printf '  %s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
exit $status
