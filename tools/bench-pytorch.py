#!/usr/bin/python3
"""PyTorch eager on the same work as `attnviz bench`: one forward pass over T
random tokens keeping every layer's attention probabilities (what
transformers does with output_attentions=True) and every logit, timed in
this process.  tools/bench-compare.sh runs it beside attnviz and llama.cpp so
that every ratio it prints is measured in one run.

  bench-pytorch.py (--gpt2 | --hf DIR) --sizes 512 [--repeat 3] [--threads 2]

--gpt2 builds a GPT-2 (124M) shaped model with random weights, as `attnviz
bench` does without a MODEL; --hf reads a float32 LLaMA/Qwen2/GPT-2 folder
(config.json + model.safetensors, mapped, not copied).  Prints one JSON
object: {"runs": [{"T", "median_seconds", "best_seconds"}], "threads", ...}.
A tool for benchmarks only: attnviz never runs Python.
"""
import argparse, json, math, os, statistics, sys, time
import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    """Maps a float32 safetensors file; returns {name: tensor} without copying."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {info['dtype']}; bench-pytorch reads float32 folders")
        b, e = info["data_offsets"]
        arr = np.frombuffer(data, dtype=np.float32, count=(e - b) // 4, offset=b).reshape(info["shape"])
        out[name] = torch.from_numpy(arr)
    return out


def gpt2_random(seed=1234):
    g = torch.Generator().manual_seed(seed)
    d, L, V, ctx = 768, 12, 50257, 1024
    def r(*shape, std=0.02):
        return torch.randn(*shape, generator=g) * std
    p = {"wte.weight": r(V, d), "wpe.weight": r(ctx, d, std=0.01), "ln_f.weight": torch.ones(d),
         "ln_f.bias": torch.zeros(d)}
    for i in range(L):
        h = f"h.{i}."
        p.update({h + "ln_1.weight": torch.ones(d), h + "ln_1.bias": torch.zeros(d),
                  h + "attn.c_attn.weight": r(d, 3 * d), h + "attn.c_attn.bias": r(3 * d),
                  h + "attn.c_proj.weight": r(d, d), h + "attn.c_proj.bias": r(d),
                  h + "ln_2.weight": torch.ones(d), h + "ln_2.bias": torch.zeros(d),
                  h + "mlp.c_fc.weight": r(d, 4 * d), h + "mlp.c_fc.bias": r(4 * d),
                  h + "mlp.c_proj.weight": r(4 * d, d), h + "mlp.c_proj.bias": r(d)})
    return {"model_type": "gpt2", "n_layer": L, "n_head": 12, "n_embd": d, "vocab_size": V,
            "layer_norm_epsilon": 1e-5}, p


def gpt2_forward(c, p, ids):
    d, H = c["n_embd"], c["n_head"]
    hd, T, eps = d // H, ids.shape[0], c.get("layer_norm_epsilon", 1e-5)
    pre = "transformer." if "transformer.wte.weight" in p else ""
    P = lambda k: p[pre + k]
    x = P("wte.weight")[ids] + P("wpe.weight")[:T]
    mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    atts = []
    for i in range(c["n_layer"]):
        h = f"h.{i}."
        a = F.layer_norm(x, (d,), P(h + "ln_1.weight"), P(h + "ln_1.bias"), eps)
        q, k, v = (a @ P(h + "attn.c_attn.weight") + P(h + "attn.c_attn.bias")).split(d, dim=-1)
        q, k, v = (t.view(T, H, hd).transpose(0, 1) for t in (q, k, v))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
        atts.append(w)
        o = (w @ v).transpose(0, 1).reshape(T, d)
        x = x + o @ P(h + "attn.c_proj.weight") + P(h + "attn.c_proj.bias")
        m = F.layer_norm(x, (d,), P(h + "ln_2.weight"), P(h + "ln_2.bias"), eps)
        m = F.gelu(m @ P(h + "mlp.c_fc.weight") + P(h + "mlp.c_fc.bias"), approximate="tanh")
        x = x + m @ P(h + "mlp.c_proj.weight") + P(h + "mlp.c_proj.bias")
    x = F.layer_norm(x, (d,), P("ln_f.weight"), P("ln_f.bias"), eps)
    return atts, x @ P("wte.weight").t()


def llama_forward(c, p, ids):
    d, H = c["hidden_size"], c["num_attention_heads"]
    KV = c.get("num_key_value_heads", H)
    hd = c.get("head_dim") or d // H
    T, eps, theta = ids.shape[0], c.get("rms_norm_eps", 1e-6), c.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
    f = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat((f, f), -1).cos(), torch.cat((f, f), -1).sin()
    def rot(x):
        return torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), -1)
    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
    mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    x = p["model.embed_tokens.weight"][ids]
    atts = []
    for i in range(c["num_hidden_layers"]):
        l, a = f"model.layers.{i}.", f"model.layers.{i}.self_attn."
        h = rms(x, p[l + "input_layernorm.weight"])
        q = F.linear(h, p[a + "q_proj.weight"], p.get(a + "q_proj.bias")).view(T, H, hd).transpose(0, 1)
        k = F.linear(h, p[a + "k_proj.weight"], p.get(a + "k_proj.bias")).view(T, KV, hd).transpose(0, 1)
        v = F.linear(h, p[a + "v_proj.weight"], p.get(a + "v_proj.bias")).view(T, KV, hd).transpose(0, 1)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(H // KV, 0), v.repeat_interleave(H // KV, 0)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
        atts.append(w)
        x = x + F.linear((w @ v).transpose(0, 1).reshape(T, H * hd), p[a + "o_proj.weight"])
        h = rms(x, p[l + "post_attention_layernorm.weight"])
        m = F.silu(F.linear(h, p[l + "mlp.gate_proj.weight"])) * F.linear(h, p[l + "mlp.up_proj.weight"])
        x = x + F.linear(m, p[l + "mlp.down_proj.weight"])
    x = rms(x, p["model.norm.weight"])
    head = p.get("lm_head.weight", p["model.embed_tokens.weight"])
    return atts, x @ head.t()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--gpt2", action="store_true", help="a GPT-2 (124M) shape with random weights")
    src.add_argument("--hf", metavar="DIR", help="a float32 Hugging Face folder")
    ap.add_argument("--sizes", default="512")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    if a.gpt2:
        c, p = gpt2_random()
    else:
        c = json.load(open(os.path.join(a.hf, "config.json")))
        p = read_safetensors(os.path.join(a.hf, "model.safetensors"))
    forward = gpt2_forward if c.get("model_type") == "gpt2" else llama_forward
    V = c["vocab_size"]

    runs = []
    with torch.inference_mode():
        for T in sorted(int(t) for t in a.sizes.split(",")):
            ids = torch.randint(0, V, (T,), generator=torch.Generator().manual_seed(1234 + T))
            times = []
            forward(c, p, ids)   # unmeasured: wakes the threads, warms the caches
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                atts, logits = forward(c, p, ids)
                # the probabilities of every head and all logits, as output_attentions keeps them
                torch.stack(atts)
                logits.log_softmax(-1)
                times.append(time.perf_counter() - t0)
            runs.append({"T": T, "median_seconds": statistics.median(times), "best_seconds": min(times)})
    print(json.dumps({"implementation": "PyTorch %s eager" % torch.__version__, "threads": a.threads,
                      "runs": runs}))


if __name__ == "__main__":
    main()
