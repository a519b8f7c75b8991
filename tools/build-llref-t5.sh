#!/bin/bash
# Builds tools/llref-t5.c (llama.cpp's encoder-decoder logits, for tests) beside
# llref, against the same prebuilt llama.cpp library: runs ../shared/tools/llref/build.sh
# first (it installs node-llama-cpp and clones its source bundle into $LLREF_CACHE,
# default /tmp/llref), then compiles with the same headers, libraries and rpath.
# Prints the path of llref-t5. Needs npm, cc, git; tests skip, saying so, without it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
D=${LLREF_CACHE:-/tmp/llref}
bash "$here/../../shared/tools/llref/build.sh" >/dev/null
if [[ ! -x $D/llref-t5 || $here/llref-t5.c -nt $D/llref-t5 ]]; then
  lib=$(cat "$D/libdir")
  cc -O2 -o "$D/llref-t5" "$here/llref-t5.c" -I"$D/src/include" -I"$D/src/ggml/include" \
     -L"$lib" -l:"$(basename "$(ls "$lib"/libllama.v*.so)")" -l:"$(basename "$(ls "$lib"/libggml.v*.so)")" -l:libggml-base.so \
     -Wl,-rpath,"$lib"
fi
echo "$D/llref-t5"
