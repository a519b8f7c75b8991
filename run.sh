#!/usr/bin/env bash
# Sets everything up on Debian 12 and runs attnviz's main job:
#   with a display: the desktop app on the demo model and a sample text;
#   without one:    the same run headless, writing a heatmap figure and a
#                   dump of every head's attention into ./attnviz-output/.
set -euo pipefail
cd "$(dirname "$0")"

bash tools/install-deps.sh
[ -f _build/build.ninja ] || meson setup _build >/dev/null
ninja -C _build >/dev/null

exe=_build/app/attnviz
# The built-in demo: an encoder-decoder trained by attnviz itself to
# normalise dates; its cross-attention draws the alignment between the
# characters of the source and of the date it writes.
model=data/models/dates-seq2seq
text="saturday 21 november 2026"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && "$exe" --has-gui 2>/dev/null; then
  exec "$exe" "$model" "$text"
fi

out=attnviz-output
mkdir -p "$out"
"$exe" info "$model"
echo "source: $text"
printf 'output: '
"$exe" generate "$model" --prompt "$text"
"$exe" dump "$model" --text "$text" -o "$out/attention"
"$exe" render "$model" --text "$text" --attention cross --layer 1 --head 0 -o "$out/cross-layer1-head0.png"
"$exe" render "$model" --text "$text" --attention cross --view grid -o "$out/cross-grid.png"
"$exe" render "$model" --text "$text" --attention encoder --view grid -o "$out/encoder-grid.png"
echo "No display: wrote the run to $out/ (attention/ holds .npy arrays; the PNGs show the heads)."
