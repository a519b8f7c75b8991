#!/bin/sh
# Builds the libFuzzer harnesses with clang and runs each for a bounded time.
#
#   tools/run-fuzzers.sh [-t SECONDS] [HARNESS...]
#
# HARNESS is any of safetensors config tokenizer special-ids variant gguf npy
# tokenizer-gguf session spm (default: all); SECONDS per harness (default 60, or
# $FUZZ_SECONDS).  Inputs may be up to 256 KiB (-max_len; 64 KiB for the
# binary GGUF harnesses), enough for JSON nested deep enough to overflow a
# recursive parser's stack; each harness has its dictionary
# (tests/fuzz/HARNESS.dict) with its format's lexical edges: brackets,
# comments, quotes, escapes, numbers past 64 bits, GGUF type ids.  The seed
# corpus in tests/fuzz/corpus/ is copied to a scratch folder first, so new
# inputs libFuzzer finds do not land in the repository.  Crash inputs are
# kept under the scratch folder, whose path is printed.  Exits non-zero when
# a harness crashed, leaked or timed out.
set -eu

seconds=${FUZZ_SECONDS:-60}
while getopts t: opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS] [safetensors|config|tokenizer|special-ids|variant|gguf|tokenizer-gguf|npy|session|spm ...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
harnesses=${*:-safetensors config tokenizer special-ids variant gguf tokenizer-gguf npy session spm}

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/_build-fuzz"
cd "$top"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzzing=true -Dgui=disabled
fi

targets=
for h in $harnesses; do
  targets="$targets tests/fuzz/fuzz-$h"
done
# Only the harnesses: other targets may be mid-rewrite by someone else.
# shellcheck disable=SC2086
ninja -C "$build" $targets

scratch=$(mktemp -d "${TMPDIR:-/tmp}/attnviz-fuzz.XXXXXX")
echo "scratch: $scratch"
status=0

for h in $harnesses; do
  work="$scratch/$h"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$top/tests/fuzz/corpus/$h/"* "$work/corpus/"
  dict=
  if [ -f "$top/tests/fuzz/$h.dict" ]; then
    dict="-dict=$top/tests/fuzz/$h.dict"
  fi

  # JSON harnesses need room for nesting deep enough to overflow a
  # recursive parser; a GGUF seed holds tensor data after its header.
  case $h in
    gguf|tokenizer-gguf|npy|session|spm) max_len=-max_len=65536 ;;
    *) max_len=-max_len=262144 ;;
  esac

  echo "== fuzz-$h: ${seconds}s"
  # libFuzzer exits non-zero on the first crash; carry on to the report.
  # shellcheck disable=SC2086
  if "$build/tests/fuzz/fuzz-$h" \
       -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$work/artifacts/" $dict $max_len \
       "$work/corpus" >"$work/log" 2>&1; then
    rc=0
  else
    rc=$?
  fi

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  crashes=$(find "$work/artifacts" -type f | wc -l)
  echo "fuzz-$h: ${execs:-?} executions, exit $rc, $crashes crash artifact(s)"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    status=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$work/log" | head -n 5 || true
    find "$work/artifacts" -type f -exec echo "  artifact: {}" \;
    echo "  log: $work/log"
  fi
done

if [ "$status" -eq 0 ]; then
  echo "no crashes"
else
  echo "CRASHES FOUND (inputs and logs under $scratch)"
fi
exit $status
