#!/usr/bin/python3
"""Regenerate the trainer's PyTorch reference fixtures, tests/fixtures/train-*/.

Run with Debian's Python (it has numpy and torch):

    /usr/bin/python3 tools/make-train-fixture.py

Each fixture is a tiny attnviz model (config.json + model.safetensors in the
format `attnviz train` writes, so attnviz_model_load opens it) with fixed
random weights, one batch of token ids, and what PyTorch autograd says about
them, computed in float64 and saved as float32 .npy under reference/:

    src.npy (B, S) int32, src_len.npy (B) int32   encoder-decoders only
    inp.npy (B, T) int32        decoder input
    tgt.npy (B, T) int32        next-token targets, -1 where there is no loss
    weight.npy (B) float32      per-sequence loss weights
    loss.npy (1)                sum_b weight_b sum_t nll(b, t) / #targets
    grads/NAME.npy              d loss / d tensor NAME, for every tensor

The model is written out by hand (not torch.nn.Transformer) so that every
choice is the one attnviz-model.c documents: pre-norm LayerNorm, biases on
every linear layer, the LM head tied to the token embedding, sinusoidal
positions as the engine adds them, Hugging Face rotate-half RoPE on the
self-attention's q and k, additive scoring v_h . tanh(q_i + k_j), a causal
mask optionally narrowed to a window, a bidirectional encoder whose padding
keys are masked, and cross-attention from every decoder layer.

The output is deterministic: running the script twice gives byte-identical
files.
"""

import json
import math
import os
import shutil
import struct

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

CASES = [
    dict(name="train-decoder-rope", seq2seq=False, position="rope", score="scaled_dot", mask="window:3",
         activation="relu", seed=1),
    dict(name="train-decoder-learned", seq2seq=False, position="learned", score="dot", mask="causal",
         activation="gelu", seed=2),
    dict(name="train-seq2seq-additive", seq2seq=True, position="sinusoidal", score="additive", mask="causal",
         activation="gelu", seed=3),
]

V, D, H, HD, FF, NL, NE, NCTX = 12, 16, 2, 6, 24, 2, 2, 16
B, S, T = 3, 7, 6
EPS = 1e-5
THETA = 10000.0


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 numpy array)."""
    header, offset, blobs = {}, 0, []
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    header["__metadata__"] = {"format": "pt", "producer": "tools/make-train-fixture.py"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def tensor_names(case):
    """(name, shape) in the order attnviz-train.c lays them out."""
    dq = H * HD
    out = [("tok_emb.weight", (V, D))]
    if case["position"] == "learned":
        out.append(("pos_emb.weight", (NCTX, D)))

    def attention(prefix):
        r = []
        for p in "qkv":
            r += [(f"{prefix}.{p}.weight", (dq, D)), (f"{prefix}.{p}.bias", (dq,))]
        r += [(f"{prefix}.o.weight", (D, dq)), (f"{prefix}.o.bias", (D,))]
        if case["score"] == "additive":
            r.append((f"{prefix}.score_v", (H, HD)))
        return r

    def layer(prefix, cross):
        r = [(f"{prefix}attn_norm.weight", (D,)), (f"{prefix}attn_norm.bias", (D,))]
        r += attention(prefix + "attn")
        if cross:
            r += [(f"{prefix}cross_norm.weight", (D,)), (f"{prefix}cross_norm.bias", (D,))]
            r += attention(prefix + "cross_attn")
        r += [(f"{prefix}mlp_norm.weight", (D,)), (f"{prefix}mlp_norm.bias", (D,)),
              (f"{prefix}mlp.up.weight", (FF, D)), (f"{prefix}mlp.up.bias", (FF,)),
              (f"{prefix}mlp.down.weight", (D, FF)), (f"{prefix}mlp.down.bias", (D,))]
        return r

    for l in range(NL):
        out += layer(f"layers.{l}.", case["seq2seq"])
    out += [("final_norm.weight", (D,)), ("final_norm.bias", (D,))]
    if case["seq2seq"]:
        for l in range(NE):
            out += layer(f"encoder.layers.{l}.", False)
        out += [("encoder.final_norm.weight", (D,)), ("encoder.final_norm.bias", (D,))]
    return out


def init_weights(case, gen):
    w = {}
    for name, shape in tensor_names(case):
        if name.endswith("norm.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif name.endswith(".bias") or "norm" in name:
            t = 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            t = 0.3 * torch.randn(shape, generator=gen, dtype=torch.float64)
        # Stored as float32: the reference runs on exactly these values.
        w[name] = t.float().double().requires_grad_(True)
    return w


def sinusoidal(n, d):
    table = np.zeros((n, d), dtype=np.float32)
    for pos in range(n):
        for i in range(d // 2):
            angle = pos / math.pow(10000.0, 2.0 * i / d)
            table[pos, 2 * i] = np.float32(math.sin(angle))
            table[pos, 2 * i + 1] = np.float32(math.cos(angle))
    return torch.from_numpy(table).double()


def rope(x, positions):
    """x (B, L, H, HD), Hugging Face rotate-half."""
    half = HD // 2
    inv_freq = 1.0 / THETA ** (torch.arange(half, dtype=torch.float64) * 2 / HD)
    ang = positions[:, None].double() * inv_freq[None, :]
    cos, sin = torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


def linear(x, w, prefix):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def attention(case, w, prefix, xq, xkv, allowed, self_attn):
    """xq (B, Lq, D) normed queries, xkv (B, Lk, D); allowed (B, Lq, Lk) bool."""
    Bq, Lq, _ = xq.shape
    Lk = xkv.shape[1]
    q = linear(xq, w, prefix + ".q").view(Bq, Lq, H, HD)
    k = linear(xkv, w, prefix + ".k").view(Bq, Lk, H, HD)
    v = linear(xkv, w, prefix + ".v").view(Bq, Lk, H, HD)
    if self_attn and case["position"] == "rope":
        q = rope(q, torch.arange(Lq))
        k = rope(k, torch.arange(Lk))
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, H, L, HD)
    if case["score"] == "additive":
        sv = w[prefix + ".score_v"]  # (H, HD)
        s = (torch.tanh(q[:, :, :, None, :] + k[:, :, None, :, :]) * sv[None, :, None, None, :]).sum(-1)
    else:
        s = q @ k.transpose(-1, -2)
        if case["score"] == "scaled_dot":
            s = s / math.sqrt(HD)
    s = s.masked_fill(~allowed[:, None], float("-inf"))
    p = torch.softmax(s, dim=-1)
    ctx = (p @ v).transpose(1, 2).reshape(Bq, Lq, H * HD)
    return linear(ctx, w, prefix + ".o")


def layer_norm(x, w, prefix):
    return F.layer_norm(x, (D,), w[prefix + ".weight"], w[prefix + ".bias"], EPS)


def mlp(case, x, w, prefix):
    h = linear(x, w, prefix + ".up")
    h = F.relu(h) if case["activation"] == "relu" else F.gelu(h)
    return linear(h, w, prefix + ".down")


def embed(case, w, ids):
    L = ids.shape[1]
    x = w["tok_emb.weight"][ids]
    if case["position"] == "learned":
        x = x + w["pos_emb.weight"][:L][None]
    elif case["position"] == "sinusoidal":
        x = x + sinusoidal(L, D)[None]
    return x


def stack(case, w, prefix, x, allowed, enc=None, cross_allowed=None):
    for l in range(NE if prefix.startswith("encoder") else NL):
        p = f"{prefix}{l}."
        x = x + attention(case, w, p + "attn", layer_norm(x, w, p + "attn_norm"),
                          layer_norm(x, w, p + "attn_norm"), allowed, True)
        if enc is not None:
            x = x + attention(case, w, p + "cross_attn", layer_norm(x, w, p + "cross_norm"), enc, cross_allowed, False)
        x = x + mlp(case, layer_norm(x, w, p + "mlp_norm"), w, p + "mlp")
    return x


def make(case):
    gen = torch.Generator().manual_seed(case["seed"])
    rng = np.random.RandomState(case["seed"])
    w = init_weights(case, gen)

    # The batch: rows of different lengths, padded (<pad> = 0, target -1).
    inp = np.zeros((B, T), dtype=np.int32)
    tgt = np.full((B, T), -1, dtype=np.int32)
    lengths = [T, T - 2, T - 1]
    for b in range(B):
        seq = rng.randint(4, V, size=lengths[b] + 1)
        seq[0] = 1  # <bos>
        inp[b, :lengths[b]] = seq[:-1]
        tgt[b, :lengths[b]] = seq[1:]
        if not case["seq2seq"] and b == 1:
            tgt[b, :2] = -1  # a prompt without loss
    weight = np.array([1.0, 0.5, -0.25], dtype=np.float32)
    src = np.zeros((B, S), dtype=np.int32)
    src_len = np.array([S, S - 3, S - 1], dtype=np.int32)
    for b in range(B):
        src[b, :src_len[b]] = rng.randint(4, V, size=src_len[b])
        src[b, src_len[b] - 1] = 2  # <eos>

    window = int(case["mask"].split(":")[1]) if case["mask"].startswith("window:") else 0
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    causal = (j <= i) & ((window == 0) | (i - j < window))
    allowed = causal[None].expand(B, T, T)

    enc = None
    cross_allowed = None
    if case["seq2seq"]:
        keys = torch.arange(S)[None, :] < torch.from_numpy(src_len).long()[:, None]  # (B, S)
        enc_allowed = keys[:, None, :].expand(B, S, S)
        e = stack(case, w, "encoder.layers.", embed(case, w, torch.from_numpy(src).long()), enc_allowed)
        enc = layer_norm(e, w, "encoder.final_norm")
        cross_allowed = keys[:, None, :].expand(B, T, S)
    x = stack(case, w, "layers.", embed(case, w, torch.from_numpy(inp).long()), allowed, enc, cross_allowed)
    h = layer_norm(x, w, "final_norm")
    logits = h @ w["tok_emb.weight"].T  # tied head
    tgt_t = torch.from_numpy(tgt).long()
    mask = tgt_t >= 0
    nll = F.cross_entropy(logits.reshape(B * T, V), tgt_t.clamp(min=0).reshape(-1), reduction="none").view(B, T)
    loss = (nll * mask * torch.from_numpy(weight).double()[:, None]).sum() / mask.sum()
    loss.backward()

    out = os.path.join(FIXTURES, case["name"])
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "reference", "grads"))
    config = {
        "architectures": ["AttnvizSeq2Seq" if case["seq2seq"] else "AttnvizDecoder"],
        "model_type": "attnviz",
        "d_model": D, "n_layer": NL, "n_head": H, "head_dim": HD, "d_ff": FF,
        "vocab_size": V, "n_ctx": NCTX, "position": case["position"], "rope_theta": THETA,
        "score": case["score"], "mask": case["mask"], "activation": case["activation"], "norm_eps": EPS,
        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
        "attnviz_fixture": "tools/make-train-fixture.py",
    }
    if case["seq2seq"]:
        config["n_enc_layer"] = NE
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"),
                      [(n, w[n].detach().numpy().astype(np.float32)) for n, _ in tensor_names(case)])
    ref = os.path.join(out, "reference")
    np.save(os.path.join(ref, "inp.npy"), inp)
    np.save(os.path.join(ref, "tgt.npy"), tgt)
    np.save(os.path.join(ref, "weight.npy"), weight)
    if case["seq2seq"]:
        np.save(os.path.join(ref, "src.npy"), src)
        np.save(os.path.join(ref, "src_len.npy"), src_len)
    np.save(os.path.join(ref, "loss.npy"), np.array([loss.item()], dtype=np.float32))
    for n, _ in tensor_names(case):
        np.save(os.path.join(ref, "grads", n + ".npy"), w[n].grad.numpy().astype(np.float32))
    print(f"{case['name']}: loss {loss.item():.6f}, {len(tensor_names(case))} gradients")


def main():
    for case in CASES:
        make(case)


if __name__ == "__main__":
    main()
