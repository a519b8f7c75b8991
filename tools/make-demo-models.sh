#!/bin/sh
# Rebuild the built-in demo models in data/models/ with attnviz's own trainer.
#
#   tools/make-demo-models.sh [ATTNVIZ [OUT]]
#
# ATTNVIZ is the attnviz executable (default _build/app/attnviz), OUT the
# folder to write (default data/models).  Both runs use a fixed seed and one
# OpenBLAS thread, so the weights come out bit for bit the same on the same
# machine; tests/test-demo-models.c checks what they must do:
#
#   dates-seq2seq/      encoder-decoder, "saturday 21 november 2026" ->
#                       "2026-11-21", and the typed forms of the widened task
#                       ("Thu 3rd Jun 1982", "thursday 03 june 1982"); all
#                       1000 held-out dates exactly right.  Its
#                       cross-attention draws the alignment between the
#                       source and target characters.  4000 steps: 567 s
#                       measured on a machine loaded with other builds;
#                       ~80 s expected at the 51 steps/s one thread gave
#                       idle (not measured).
#   induction-decoder/  2-layer decoder-only with RoPE on the repeat task:
#                       layer 0 grows previous-token heads, layer 1 induction
#                       heads (score > 0.9).  The circuit forms between steps
#                       2500 and 5000, as the checkpoints show.  ~5-8 min.
#
# Each keeps checkpoints/step-NNNNNN/ so the app can scrub attention across
# training.
set -eu

ATTNVIZ=${1:-_build/app/attnviz}
OUT=${2:-data/models}

mkdir -p "$OUT"
rm -rf "$OUT/dates-seq2seq" "$OUT/induction-decoder"

"$ATTNVIZ" train --task dates --arch seq2seq --layers 2 --enc-layers 2 --d-model 64 --heads 4 --head-dim 16 \
  --pos sinusoidal --score scaled_dot --mask causal --act relu --objective ce \
  --steps 4000 --batch 32 --lr 1e-3 --warmup 100 --seed 1 --threads 1 \
  --eval-every 1000 --checkpoint-every 1000 -o "$OUT/dates-seq2seq"

"$ATTNVIZ" train --task repeat --arch decoder --layers 2 --d-model 64 --heads 4 --head-dim 16 \
  --pos rope --score scaled_dot --mask causal --act relu --objective ce \
  --steps 15000 --batch 32 --lr 1e-3 --warmup 100 --seed 1 --threads 1 \
  --eval-every 2500 --checkpoint-every 2500 -o "$OUT/induction-decoder"

du -sh "$OUT/dates-seq2seq" "$OUT/induction-decoder"
