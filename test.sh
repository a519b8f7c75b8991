#!/usr/bin/env bash
# Sets everything up on Debian 12 and runs every test:
#   1. installs the Debian packages (tools/install-deps.sh),
#   2. builds and runs the test suites (meson test; GUI tests under Xvfb),
#   3. builds once more with AddressSanitizer + UndefinedBehaviorSanitizer
#      and runs the engine and CLI tests there,
#   4. runs the libFuzzer harnesses for a bounded time (FUZZ_SECONDS, 60).
# The last line is "N passed, N failed" counted from meson's test logs.
set -uo pipefail
cd "$(dirname "$0")"

bash tools/install-deps.sh || { echo "could not install the Debian packages"; echo "0 passed, 1 failed"; exit 1; }

# llama.cpp as a reference (../shared/tools/llref, from npm): the tests that
# compare with it skip, and say so, when it cannot be built.
if [ -d ../shared/tools/llref ] && command -v npm >/dev/null \
   && timeout 900 bash ../shared/tools/llref/build.sh >/dev/null 2>&1; then
  echo "llama.cpp reference: /tmp/llref/llref"
  # its encoder-decoder driver (T5's llama_encode + llama_decode), built the same way
  bash tools/build-llref-t5.sh >/dev/null 2>&1 || echo "llref-t5 not built: the T5 comparison with llama.cpp skips"
else
  echo "llama.cpp reference not built (no ../shared, npm or network): comparisons with llama.cpp skip"
fi

export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
fuzz_seconds=${FUZZ_SECONDS:-60}
failed_steps=0

configure () {   # DIR ARGS...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
}

# Xvfb for the GUI tests when there is no display.
if [ -z "${DISPLAY:-}" ] && command -v Xvfb >/dev/null; then
  Xvfb :99 -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb_pid=$!
  trap 'kill $xvfb_pid 2>/dev/null' EXIT
  export DISPLAY=:99
  sleep 1
fi

# 1. the normal build and every suite
configure _build || failed_steps=$((failed_steps + 1))
ninja -C _build || failed_steps=$((failed_steps + 1))
meson test -C _build --print-errorlogs --num-processes 2 || true

# 2. sanitizers: engine and CLI suites
configure _build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dgui=disabled \
  || failed_steps=$((failed_steps + 1))
if ninja -C _build-asan; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
    meson test -C _build-asan --suite engine --suite cli --print-errorlogs --num-processes 2 || true
else
  failed_steps=$((failed_steps + 1))
fi

# 3. fuzzers, bounded in time
fuzz_passed=0
fuzz_failed=0
if command -v clang >/dev/null && [ -x tools/run-fuzzers.sh ]; then
  if FUZZ_SECONDS=$fuzz_seconds bash tools/run-fuzzers.sh; then
    fuzz_passed=1
  else
    fuzz_failed=1
  fi
fi

/usr/bin/python3 - "$failed_steps" "$fuzz_passed" "$fuzz_failed" <<'PY'
import json, sys
failed_steps, fuzz_passed, fuzz_failed = map(int, sys.argv[1:4])
passed = failed = skipped = 0
for log in ("_build/meson-logs/testlog.json", "_build-asan/meson-logs/testlog.json"):
    try:
        lines = open(log).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
passed += fuzz_passed
failed += fuzz_failed + failed_steps
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
