"""BART reference fixture for tools/make-fixtures.py.

A random-weight BartForConditionalGeneration in Hugging Face layout and
what transformers' eager modeling_bart outputs for it, step by step:
token embeddings (times sqrt(d_model) with scale_embedding) plus learned
positions read 2 rows into their table (BartLearnedPositionalEmbedding's
offset), layernorm_embedding, then post-norm layers: x = LN(x + attn(x)),
in the decoder x = LN(x + cross(x, enc)), x = LN(x + fc2(gelu(fc1(x))));
BartAttention scales q by head_dim^-0.5; logits = lm_head(x) +
final_logits_bias.  No tokenizer: the tests run it on ids.
"""

import math
import os

import numpy as np
import torch
import torch.nn.functional as F

BART_NAMES = ["bart-tiny"]


def layer_norm(x, p, name):
    return F.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], 1e-5)


def linear(x, p, name):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def attention(p, prefix, xq, xkv, H, causal):
    Tq, Tk, d = xq.shape[0], xkv.shape[0], xq.shape[1]
    hd = d // H
    q = (linear(xq, p, prefix + ".q_proj") * hd ** -0.5).view(Tq, H, hd).transpose(0, 1)
    k = linear(xkv, p, prefix + ".k_proj").view(Tk, H, hd).transpose(0, 1)
    v = linear(xkv, p, prefix + ".v_proj").view(Tk, H, hd).transpose(0, 1)
    scores = q @ k.transpose(1, 2)
    if causal:
        mask = torch.triu(torch.ones(Tq, Tk, dtype=torch.bool), 1)
        scores = scores + torch.where(mask, torch.finfo(torch.float32).min, 0.0)
    w = F.softmax(scores, dim=-1)
    out = (w @ v).transpose(0, 1).reshape(Tq, d)
    return linear(out, p, prefix + ".out_proj"), w


def bart_forward(c, p, src, tgt):
    H, d = c["encoder_attention_heads"], c["d_model"]
    scale = math.sqrt(d) if c["scale_embedding"] else 1.0
    emb = p["model.shared.weight"]

    def embed(stack, ids):
        pos = torch.arange(ids.shape[0]) + 2
        x = emb[ids] * scale + p[stack + ".embed_positions.weight"][pos]
        return layer_norm(x, p, stack + ".layernorm_embedding")

    x = embed("model.encoder", src)
    enc_att = []
    for i in range(c["encoder_layers"]):
        b = f"model.encoder.layers.{i}."
        h, w = attention(p, b + "self_attn", x, x, H, False)
        x = layer_norm(x + h, p, b + "self_attn_layer_norm")
        enc_att.append(w)
        h = linear(F.gelu(linear(x, p, b + "fc1")), p, b + "fc2")
        x = layer_norm(x + h, p, b + "final_layer_norm")
    enc = x

    y = embed("model.decoder", tgt)
    dec_att, cross_att = [], []
    for i in range(c["decoder_layers"]):
        b = f"model.decoder.layers.{i}."
        h, w = attention(p, b + "self_attn", y, y, H, True)
        y = layer_norm(y + h, p, b + "self_attn_layer_norm")
        dec_att.append(w)
        h, w = attention(p, b + "encoder_attn", y, enc, H, False)
        y = layer_norm(y + h, p, b + "encoder_attn_layer_norm")
        cross_att.append(w)
        h = linear(F.gelu(linear(y, p, b + "fc1")), p, b + "fc2")
        y = layer_norm(y + h, p, b + "final_layer_norm")
    logits = y @ emb.T + p["final_logits_bias"][0]
    return torch.stack(enc_att), torch.stack(dec_att), torch.stack(cross_att), logits


def bart_config():
    return {
        "_name_or_path": "bart-tiny",
        "activation_dropout": 0.1, "activation_function": "gelu", "add_bias_logits": False,
        "add_final_layer_norm": False, "architectures": ["BartForConditionalGeneration"],
        "attention_dropout": 0.1, "bos_token_id": 0, "classifier_dropout": 0.0, "d_model": 32,
        "decoder_attention_heads": 4, "decoder_ffn_dim": 48, "decoder_layerdrop": 0.0, "decoder_layers": 2,
        "decoder_start_token_id": 2, "dropout": 0.1, "encoder_attention_heads": 4, "encoder_ffn_dim": 48,
        "encoder_layerdrop": 0.0, "encoder_layers": 2, "eos_token_id": 2, "forced_eos_token_id": 2,
        "init_std": 0.02, "is_encoder_decoder": True, "max_position_embeddings": 64, "model_type": "bart",
        "normalize_before": False, "num_hidden_layers": 2, "pad_token_id": 1, "scale_embedding": True,
        "tie_word_embeddings": True, "torch_dtype": "float32", "transformers_version": "4.40.0",
        "use_cache": True, "vocab_size": 97,
    }


def bart_params(c, seed):
    torch.manual_seed(seed)
    d, ff, V, n = c["d_model"], c["encoder_ffn_dim"], c["vocab_size"], c["max_position_embeddings"]
    p = {"model.shared.weight": torch.randn(V, d) * 0.3}

    def lin(name, n_out, n_in):
        p[name + ".weight"] = torch.randn(n_out, n_in) * (n_in ** -0.5)
        p[name + ".bias"] = torch.randn(n_out) * 0.1

    def ln(name):
        p[name + ".weight"] = 1.0 + torch.randn(d) * 0.2
        p[name + ".bias"] = torch.randn(d) * 0.1

    for stack, layers in (("model.encoder", c["encoder_layers"]), ("model.decoder", c["decoder_layers"])):
        p[stack + ".embed_positions.weight"] = torch.randn(n + 2, d) * 0.5
        ln(stack + ".layernorm_embedding")
        for i in range(layers):
            b = f"{stack}.layers.{i}."
            for part in ("self_attn",) + (("encoder_attn",) if stack.endswith("decoder") else ()):
                for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                    lin(f"{b}{part}.{proj}", d, d)
                ln(f"{b}{part}_layer_norm")
            lin(b + "fc1", ff, d)
            lin(b + "fc2", d, ff)
            ln(b + "final_layer_norm")
    p["final_logits_bias"] = torch.randn(1, V) * 0.1
    return p


def make_bart(fresh_dir, write_json, write_safetensors, save_npy, attention_stats):
    c = bart_config()
    p = bart_params(c, 61)
    src = torch.tensor([0, 31, 7, 88, 45, 12, 60, 23, 5, 77, 40, 19, 2])
    tgt = torch.tensor([2, 0, 54, 9, 71, 33, 15, 82, 26, 2])
    with torch.no_grad():
        enc, dec, cross, logits = bart_forward(c, p, src, tgt)
    d = fresh_dir("bart-tiny")
    write_json(os.path.join(d, "config.json"), c)
    write_safetensors(os.path.join(d, "model.safetensors"), [(n, t, "F32") for n, t in p.items()])
    r = os.path.join(d, "reference")
    save_npy(os.path.join(r, "source_ids.npy"), src.numpy(), np.int64)
    save_npy(os.path.join(r, "target_ids.npy"), tgt.numpy(), np.int64)
    save_npy(os.path.join(r, "encoder_attentions.npy"), enc.numpy(), np.float32)
    save_npy(os.path.join(r, "attentions.npy"), dec.numpy(), np.float32)
    save_npy(os.path.join(r, "cross_attentions.npy"), cross.numpy(), np.float32)
    save_npy(os.path.join(r, "logits.npy"), logits.numpy(), np.float32)
    write_json(os.path.join(r, "inputs.json"), {
        "source_ids": src.tolist(), "target_ids": tgt.tolist(),
        "reference": "tools/fixtures_bart.py: transformers modeling_bart eager semantics, float32",
    })
    return {"bart-tiny": attention_stats(enc)}
