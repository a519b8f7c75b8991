#!/usr/bin/python3
"""Reference numbers for the logit lens and the per-position predictions
(tests/test-cli.c, dump --top-k K --logit-lens), from the float64 numpy
forward pass of tools/make-analysis-fixtures.py over the fixtures' own
safetensors:

  lens_topk_ids (L, T, K), lens_topk_probs (L, T, K)
      the residual stream after layer l, through the final norm (GPT-2's
      ln_f, LLaMA's RMSNorm) and the LM head, softmax, its K most likely
      tokens (most likely first) and their probabilities
  topk_ids (T, K), topk_probs (T, K), next_prob (T)
      the model's own output (the lens's last layer) and the probability
      of the token that follows (null at the last position)

    /usr/bin/python3 tools/make-lens-fixtures.py
writes tests/fixtures/lens/NAME.json.
"""
import importlib.util
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K = 5

spec = importlib.util.spec_from_file_location("analysis", os.path.join(ROOT, "tools/make-analysis-fixtures.py"))
analysis = importlib.util.module_from_spec(spec)
spec.loader.exec_module(analysis)


def gpt2_head(c, p, x):
    h = analysis.layer_norm(x, p["ln_f.weight"], p["ln_f.bias"], c["layer_norm_epsilon"])
    w = p["lm_head.weight"] if "lm_head.weight" in p else p["wte.weight"]
    return h @ w.T


def llama_head(c, p, x):
    h = analysis.rms_norm(x, p["model.norm.weight"], c["rms_norm_eps"])
    w = p["lm_head.weight"] if "lm_head.weight" in p else p["model.embed_tokens.weight"]
    return h @ w.T


CASES = {
    "gpt2-tiny": (analysis.gpt2, gpt2_head, "tests/fixtures/gpt2-tiny"),
    "llama-gqa-tiny": (analysis.llama, llama_head, "tests/fixtures/llama-gqa-tiny"),
}


def top_k(logits):
    z = logits - logits.max(-1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    # most likely first, the lower id first among equals (as the engine)
    order = np.argsort(-probs, axis=-1, kind="stable")[..., :K]
    return order, np.take_along_axis(probs, order, -1), probs


def main():
    rng = np.random.default_rng(13)
    ids = [int(t) for t in rng.integers(3, 97, size=24)]
    for name, (forward, head, path) in CASES.items():
        streams = []
        forward(os.path.join(ROOT, path), np.array(ids), streams)
        c, p = streams.pop()
        lens = [top_k(head(c, p, x)) for x in streams]
        order, probs, full = lens[-1]
        nxt = [float(full[t, ids[t + 1]]) for t in range(len(ids) - 1)] + [None]
        out = {
            "model": path, "ids": ids, "k": K,
            "lens_topk_ids": [o.tolist() for o, _, _ in lens],
            "lens_topk_probs": [q.tolist() for _, q, _ in lens],
            "topk_ids": order.tolist(), "topk_probs": probs.tolist(), "next_prob": nxt,
        }
        os.makedirs(os.path.join(ROOT, "tests/fixtures/lens"), exist_ok=True)
        dst = os.path.join(ROOT, "tests/fixtures/lens", name + ".json")
        with open(dst, "w") as f:
            json.dump(out, f, indent=0)
            f.write("\n")
        print(dst)


if __name__ == "__main__":
    main()
