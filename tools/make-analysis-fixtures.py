#!/usr/bin/python3
"""Reference numbers for tests/test-analysis.c, from an independent float64
forward pass (numpy) over the fixtures' own safetensors:

  value_norms (L, H, T)  f_j = ||v_j^h W_O^h||  (Kobayashi et al. 2020)
  vw_ratio (L, H)        mean_i (sum_j p_ij f_j) / mean_{j <= i} f_j
  rollout (T, T)         Abnar & Zuidema: prod of 0.5 mean_h P + 0.5 I, rows renormalised
  jsd (L*H, L*H)         mean over rows of sqrt (JS divergence, base 2)
  qk                     one head's queries and keys (after RoPE), AttentionViz's
                         scaling then key translation, joint PCA to 2-D, each
                         axis signed so its largest coordinate is positive

    /usr/bin/python3 tools/make-analysis-fixtures.py
writes tests/fixtures/analysis/NAME.json.
"""
import json
import math
import os
import struct

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        assert info["dtype"] == "F32"
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


def softmax_causal(s):
    T = s.shape[-1]
    s = np.where(np.triu(np.ones((T, T), bool), 1), -np.inf, s)
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gpt2(dirname, ids, streams=None):
    """Each layer's (P, q, k, v, wo_heads); STREAMS, a list, gets the
    residual stream after each layer and then the model's parameters."""
    c = json.load(open(os.path.join(dirname, "config.json")))
    p = read_safetensors(os.path.join(dirname, "model.safetensors"))
    p = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in p.items()}
    d, H, eps = c["n_embd"], c["n_head"], c["layer_norm_epsilon"]
    hd, T = d // H, len(ids)
    x = p["wte.weight"][ids] + p["wpe.weight"][:T]
    layers = []
    for i in range(c["n_layer"]):
        h = f"h.{i}."
        a = layer_norm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = np.split(qkv, 3, axis=-1)
        q = q.reshape(T, H, hd).transpose(1, 0, 2)
        k = k.reshape(T, H, hd).transpose(1, 0, 2)
        v = v.reshape(T, H, hd).transpose(1, 0, 2)
        P = softmax_causal(q @ k.transpose(0, 2, 1) / math.sqrt(hd))
        wo = p[h + "attn.c_proj.weight"]          # Conv1D (in, out)
        wo_heads = [wo[j * hd:(j + 1) * hd, :] for j in range(H)]
        layers.append((P, q, k, v, wo_heads))
        o = (P @ v).transpose(1, 0, 2).reshape(T, d)
        x = x + o @ wo + p[h + "attn.c_proj.bias"]
        m = layer_norm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        u = m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"]
        u = 0.5 * u * (1 + np.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))
        x = x + u @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
        if streams is not None:
            streams.append(x)
    if streams is not None:
        streams.append((c, p))
    return layers


def rms_norm(x, w, eps):
    return w * x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps)


def rotate_half(x):
    n = x.shape[-1] // 2
    return np.concatenate((-x[..., n:], x[..., :n]), -1)


def llama(dirname, ids, streams=None):
    c = json.load(open(os.path.join(dirname, "config.json")))
    p = read_safetensors(os.path.join(dirname, "model.safetensors"))
    d, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd, T, eps, g = d // H, len(ids), c["rms_norm_eps"], H // KV
    inv = 1.0 / (c["rope_theta"] ** (np.arange(0, hd, 2) / hd))
    f = np.outer(np.arange(T), inv)
    cos, sin = np.cos(np.concatenate((f, f), -1)), np.sin(np.concatenate((f, f), -1))
    x = p["model.embed_tokens.weight"][ids]
    layers = []
    for i in range(c["num_hidden_layers"]):
        l = f"model.layers.{i}."
        a = l + "self_attn."
        h = rms_norm(x, p[l + "input_layernorm.weight"], eps)
        q = (h @ p[a + "q_proj.weight"].T).reshape(T, H, hd).transpose(1, 0, 2)
        k = (h @ p[a + "k_proj.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        v = (h @ p[a + "v_proj.weight"].T).reshape(T, KV, hd).transpose(1, 0, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, g, axis=0)
        v = np.repeat(v, g, axis=0)
        P = softmax_causal(q @ k.transpose(0, 2, 1) / math.sqrt(hd))
        wo = p[a + "o_proj.weight"]               # (out, in)
        wo_heads = [wo[:, j * hd:(j + 1) * hd].T for j in range(H)]
        layers.append((P, q, k, v, wo_heads))
        o = (P @ v).transpose(1, 0, 2).reshape(T, H * hd)
        x = x + o @ wo.T
        m = rms_norm(x, p[l + "post_attention_layernorm.weight"], eps)
        gate = m @ p[l + "mlp.gate_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * (m @ p[l + "mlp.up_proj.weight"].T)) @ p[l + "mlp.down_proj.weight"].T
        if streams is not None:
            streams.append(x)
    if streams is not None:
        streams.append((c, p))
    return layers


def jsd(p, q):
    m = (p + q) / 2

    def kl(a):
        nz = a > 0
        return (a[nz] * np.log2(a[nz] / m[nz])).sum()
    return math.sqrt(max(0.0, 0.5 * kl(p) + 0.5 * kl(q)))


def qk_picture(q, k):
    q, k = q.copy(), k.copy()
    c = math.sqrt(np.linalg.norm(k, axis=1).mean() / np.linalg.norm(q, axis=1).mean())
    q *= c
    k /= c
    k = k - k.mean(0) + q.mean(0)
    X = np.concatenate((q, k))
    Xc = X - X.mean(0)
    w, V = np.linalg.eigh(np.cov(Xc, rowvar=False))
    order = np.argsort(w)[::-1][:2]
    pts = []
    for a in order:
        v = V[:, a]
        v = v if v[np.argmax(np.abs(v))] > 0 else -v
        pts.append(Xc @ v)
    return np.stack(pts, 1), (w[order] / w.sum()), c


def reference(layers, T):
    L, H = len(layers), layers[0][0].shape[0]
    norms = np.zeros((L, H, T))
    ratio = np.zeros((L, H))
    for l, (P, q, k, v, wo) in enumerate(layers):
        for h in range(H):
            f = np.linalg.norm(v[h] @ wo[h], axis=1)
            norms[l, h] = f
            prefix = np.cumsum(f) / np.arange(1, T + 1)
            ratio[l, h] = np.mean((P[h] @ f) / prefix)
    R = np.eye(T)
    for P, *_ in layers:
        A = 0.5 * P.mean(0) + 0.5 * np.eye(T)
        A = A / A.sum(-1, keepdims=True)
        R = A @ R
    heads = [layers[l][0][h] for l in range(L) for h in range(H)]
    n = len(heads)
    D = np.zeros((n, n))
    for a in range(n):
        for b in range(a + 1, n):
            D[a, b] = D[b, a] = np.mean([jsd(heads[a][i], heads[b][i]) for i in range(T)])
    return norms, ratio, R, D


CASES = {
    "gpt2-tiny": (gpt2, "tests/fixtures/gpt2-tiny", (1, 2)),
    "llama-gqa-tiny": (llama, "tests/fixtures/llama-gqa-tiny", (1, 3)),
}


def main():
    rng = np.random.default_rng(12)
    ids = [int(t) for t in rng.integers(3, 97, size=40)]
    for name, (forward, path, (ql, qh)) in CASES.items():
        layers = forward(os.path.join(ROOT, path), np.array(ids))
        T = len(ids)
        norms, ratio, R, D = reference(layers, T)
        pts, explained, c = qk_picture(layers[ql][1][qh], layers[ql][2][qh])
        out = {
            "model": path, "ids": ids,
            "value_norms": norms.tolist(), "vw_ratio": ratio.tolist(),
            "rollout": R.tolist(), "jsd": D.tolist(),
            "qk": {"layer": ql, "head": qh, "points": pts.tolist(), "explained": explained.tolist(),
                   "scale": c},
        }
        dst = os.path.join(ROOT, "tests/fixtures/analysis", name + ".json")
        with open(dst, "w") as f:
            json.dump(out, f, indent=0)
            f.write("\n")
        print(dst)


if __name__ == "__main__":
    main()
