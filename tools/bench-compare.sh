#!/usr/bin/env bash
# attnviz against PyTorch eager and llama.cpp, every number measured in this
# one run on this machine: --repeat rounds, each tool once a round (so a change
# in the load falls on every tool alike), medians over the rounds, and ratios.
#
#   tools/bench-compare.sh [--model gpt2|llama1b|qwen05b|FILE.gguf] [--sizes 512]
#                          [--repeat 3] [--per-round 3] [--threads 2]
#                          [--no-pytorch] [--no-llama-cpp]
#
#   gpt2     attnviz's built-in GPT-2 (124M) shape with random weights, and
#            PyTorch eager on the same shape (tools/bench-pytorch.py --gpt2).
#   llama1b  a Llama-3.2-1B-shaped model with random weights, written by
#            ../shared/tools/make_llama_pair.py and quantized to Q4_K_M by
#            llama.cpp's own quantizer (built once into $ATTNVIZ_BENCH_CACHE,
#            default ~/.cache/attnviz-bench); attnviz and llama.cpp on that
#            file, PyTorch eager on its float32 Hugging Face twin.
#   qwen05b  the same with a Qwen2.5-0.5B shape.
#   FILE.gguf  attnviz and llama.cpp on that file.
#
# Within a round each tool starts afresh, runs once unmeasured (threads
# woken, buffers touched) and then --per-round timed passes, whose median is
# the round's figure: one timed pass per process moved by up to 20% from
# process to process on the quiet machine (0.73-0.89 s for the same GPT-2
# pass), more than passes within one process do.
#
# Each tool does the same work: a forward pass over T random tokens that
# keeps every logit; attnviz and PyTorch also keep every head's attention
# (llama.cpp cannot).  llama.cpp comes from the npm package node-llama-cpp
# through ../shared/tools/llref (skipped, saying so, when npm is
# unreachable); attnviz never links it.  Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

model=gpt2 sizes=512 repeat=3 per_round=3 threads=$(nproc) pytorch=1 llamacpp=1
while [ $# -gt 0 ]; do
  case $1 in
    --model) model=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --per-round) per_round=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-pytorch) pytorch=0; shift ;;
    --no-llama-cpp) llamacpp=0; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "bench-compare: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

shared=${ATTNVIZ_SHARED_DIR:-../shared}
cache=${ATTNVIZ_BENCH_CACHE:-$HOME/.cache/attnviz-bench}
exe=_build/app/attnviz
[ -f _build/build.ninja ] || meson setup _build >/dev/null
ninja -C _build app/attnviz >/dev/null
export OPENBLAS_NUM_THREADS=$threads

llref=
if [ $llamacpp = 1 ]; then
  if [ -x "$shared/tools/llref/build.sh" ] && llref=$("$shared/tools/llref/build.sh" 2>/dev/null); then
    export LLREF_LIBDIR=$(cat "${LLREF_CACHE:-/tmp/llref}/libdir")
  else
    echo "note: llama.cpp skipped: ../shared/tools/llref could not be built (npm unreachable?)" >&2
    llref=
  fi
fi

gguf= hf=
case $model in
  gpt2) ;;
  llama1b|qwen05b)
    dir=$cache/$model
    gguf=$dir/model-q4_k_m.gguf hf=$dir/hf
    if [ ! -f "$gguf" ]; then
      [ -n "$llref" ] || { echo "bench-compare: building $gguf needs llama.cpp's quantizer (npm)" >&2; exit 1; }
      mkdir -p "$dir"
      echo "building $gguf (once; a few minutes)" >&2
      /usr/bin/python3 "$shared/tools/make_llama_pair.py" "$dir" "$model" >&2
      "$llref" quantize "$dir/model-f32.gguf" "$gguf.tmp" q4_k_m >&2
      mv "$gguf.tmp" "$gguf"
      rm -f "$dir/model-f32.gguf"
    fi ;;
  *.gguf) gguf=$model ;;
  *) echo "bench-compare: --model is gpt2, llama1b, qwen05b or a .gguf file" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load=$(cut -d' ' -f1 /proc/loadavg)

# Rounds, each tool once per round, so a change in the machine's load
# between tools falls on all of them alike; medians over the rounds.
for round in $(seq "$repeat"); do
  echo "round $round of $repeat: attnviz ..." >&2
  "$exe" bench ${gguf:+"$gguf"} --sizes "$sizes" --repeat "$per_round" --generate 0 --threads "$threads" --json > "$tmp/attnviz.$round.json"

  if [ $pytorch = 1 ] && { [ $model = gpt2 ] || [ -n "$hf" ]; }; then
    echo "round $round of $repeat: PyTorch eager ..." >&2
    if [ $model = gpt2 ]; then src=(--gpt2); else src=(--hf "$hf"); fi
    /usr/bin/python3 tools/bench-pytorch.py "${src[@]}" --sizes "$sizes" --repeat "$per_round" \
      --threads "$threads" > "$tmp/pytorch.$round.json" || { echo "note: PyTorch failed" >&2; rm -f "$tmp/pytorch.$round.json"; }
  fi

  if [ -n "$llref" ] && [ -n "$gguf" ]; then
    echo "round $round of $repeat: llama.cpp ..." >&2
    for T in ${sizes//,/ }; do
      "$llref" bench "$gguf" "$T" "$per_round" "$threads" 2>/dev/null | tail -n 1 >> "$tmp/llama.txt"
    done
  fi
done

/usr/bin/python3 - "$tmp" "$load" "$threads" "$model" <<'PY'
import json, os, re, sys
tmp, load, threads, model = sys.argv[1:5]
import glob, statistics
rounds = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(tmp, "attnviz.*.json")))]
a = rounds[0]
a["sgemm_gflops"] = statistics.median(x["sgemm_gflops"] for x in rounds)
for r in a["runs"]:
    same = [x_r for x in rounds for x_r in x["runs"] if x_r["T"] == r["T"]]
    flop = r["gflops"] * r["median_seconds"]
    r["median_seconds"] = statistics.median(x_r["median_seconds"] for x_r in same)
    r["gflops"] = flop / r["median_seconds"]
    r["peak_rss_bytes"] = max(x_r["peak_rss_bytes"] for x_r in same)
pt = {}
for f in sorted(glob.glob(os.path.join(tmp, "pytorch.*.json"))):
    for r in json.load(open(f))["runs"]:
        pt.setdefault(r["T"], []).append(r["median_seconds"])
pt = {T: statistics.median(v) for T, v in pt.items()}
ll = {}
if os.path.exists(os.path.join(tmp, "llama.txt")):
    for line in open(os.path.join(tmp, "llama.txt")):
        m = re.search(r"T=(\d+) .*median_s=([\d.]+)", line)
        if m:
            ll.setdefault(int(m.group(1)), []).append(float(m.group(2)))
ll = {T: statistics.median(v) for T, v in ll.items()}
gib = 1 << 30
def ratio(theirs, ours):
    return f"{theirs / ours:.2f}x faster" if theirs >= ours else f"{ours / theirs:.2f}x slower"
print(f"model: {a['model']} ({a['storage']}, {a['weight_bytes'] / gib:.2f} GiB of weights); "
      f"{threads} threads; load average {load} before the run; medians of {len(rounds)} rounds, "
      f"each tool once a round; OpenBLAS SGEMM {a['sgemm_gflops']:.0f} GFLOP/s in the same runs")
print()
cols = ["T", "attnviz median", "GFLOP/s", "of SGEMM", "peak RSS", "weights + recording + 1 GiB"]
if pt: cols += ["PyTorch eager", "attnviz vs PyTorch"]
if ll: cols += ["llama.cpp", "attnviz vs llama.cpp"]
print("| " + " | ".join(cols) + " |")
print("|" + "---:|" * len(cols))
for r in a["runs"]:
    T = r["T"]
    budget = a["weight_bytes"] + r["recording_bytes"] + gib
    row = [str(T), f"{r['median_seconds']:.2f} s", f"{r['gflops']:.0f}",
           f"{100 * r['gflops'] / a['sgemm_gflops']:.0f}%", f"{r['peak_rss_bytes'] / gib:.2f} GiB",
           f"{budget / gib:.2f} GiB ({'within' if r['peak_rss_bytes'] <= budget else 'OVER'})"]
    if pt:
        s = pt.get(T)
        row += [f"{s:.2f} s" if s else "-", ratio(s, r["median_seconds"]) if s else "-"]
    if ll:
        s = ll.get(T)
        row += [f"{s:.2f} s" if s else "-", ratio(s, r["median_seconds"]) if s else "-"]
    print("| " + " | ".join(row) + " |")
PY
