#!/usr/bin/env bash
# attnviz against PyTorch eager only (Debian's python3-torch doing what
# Hugging Face's eager path does with output_attentions), measured in the
# same run: tools/bench-compare.sh without llama.cpp.  Takes its options:
#
#   tools/bench-vs-pytorch.sh [--model gpt2|llama1b|qwen05b] [--sizes 512,1024] [--repeat 3]
exec "$(dirname "$0")/bench-compare.sh" --no-llama-cpp "$@"
