#!/usr/bin/env bash
# Lint checks run as ctest tests (label `lint`):
#   tests/lint.sh format            clang-format --dry-run -Werror on every C++ source
#   tests/lint.sh tidy BUILD_DIR    clang-tidy (.clang-tidy checks) on production and harness code
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dirs=(common deploy producer consumer api tests)
existing=()
for d in "${dirs[@]}"; do [[ -d "$d" ]] && existing+=("$d"); done

case "${1:-}" in
  format)
    find "${existing[@]}" -name '*.cc' -o -name '*.h' | sort | xargs clang-format --dry-run -Werror
    echo "clang-format: clean"
    ;;
  tidy)
    build="${2:?usage: tests/lint.sh tidy BUILD_DIR}"
    # Production code and the test harness; test bodies use gtest macros the checks do not model.
    find "${existing[@]}" -name '*.cc' -not -path 'tests/unit/*' -not -path 'tests/integration/*' \
      -not -path 'tests/bench/*' | sort |
      xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet \
        --extra-arg=-Wno-unknown-warning-option 2>/dev/null
    echo "clang-tidy: clean"
    ;;
  *)
    echo "usage: tests/lint.sh format | tidy BUILD_DIR" >&2
    exit 2
    ;;
esac
