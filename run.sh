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
text="Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
model=""
for candidate in data/models/stories-demo ../shared/data/models/stories260K/hf; do
  if [ -e "$candidate" ]; then model=$candidate; break; fi
done
if [ -z "$model" ]; then
  echo "no model found (data/models or ../shared/data/models/stories260K/hf)" >&2
  exit 1
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && "$exe" --has-gui 2>/dev/null; then
  exec "$exe" "$model" "$text"
fi

out=attnviz-output
mkdir -p "$out"
"$exe" info "$model"
"$exe" dump "$model" --text "$text" -o "$out/attention"
if "$exe" render --help >/dev/null 2>&1; then
  "$exe" render "$model" --text "$text" --layer 1 --head 0 -o "$out/layer1-head0.png"
  "$exe" render "$model" --text "$text" --view grid -o "$out/grid.png"
fi
echo "No display: wrote the run to $out/ (attention/ holds .npy arrays; open the PNGs to see the heads)."
