#!/usr/bin/python3
"""Regenerate the reference fixtures under tests/fixtures/.

Run with Debian's Python (it has numpy and torch):

    /usr/bin/python3 tools/make-fixtures.py

Every fixture is a tiny random-weight model in exact Hugging Face layout
(config.json + model.safetensors) plus reference/ with the inputs used and
what Hugging Face's implementation would output for them (attentions as with
output_attentions=True, stacked for batch 0; logits; per-token NLL).

GPT-2 and BERT attention comes from torch.nn.functional.
multi_head_attention_forward (code we did not write); each is cross-checked
against an explicit softmax(QK^T / sqrt(d) + mask).  LLaMA-family attention
(RoPE on q/k first) is computed explicitly, following transformers'
modeling_llama / modeling_qwen2 eager path.

The output is deterministic: running the script twice gives byte-identical
files.
"""

import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures_bart  # noqa: E402  (BART, beside this script)
import fixtures_marian  # noqa: E402  (Marian / opus-mt, beside this script)
import fixtures_distilbert  # noqa: E402  (DistilBERT, beside this script)
import fixtures_roberta  # noqa: E402  (RoBERTa, beside this script)
import fixtures_t5  # noqa: E402  (T5 / Flan-T5, beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# The fixtures this script owns; only these folders are ever replaced.
FIXTURE_NAMES = [
    "gpt2-tiny",
    "gpt2-tiny-prefixed",
    "bert-tiny",
    "bert-tiny-modern",
    "bert-nopos",
    "llama-gqa-tiny",
    "llama-gqa-tiny-f16",
    "llama-gqa-tiny-bf16",
    "qwen2-tiny",
] + fixtures_t5.T5_NAMES + fixtures_bart.BART_NAMES + fixtures_marian.MARIAN_NAMES \
  + fixtures_roberta.ROBERTA_NAMES + fixtures_distilbert.DISTILBERT_NAMES

F32_MIN = torch.finfo(torch.float32).min

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------
# output helpers

def write_safetensors(path, tensors):
    """tensors: list of (name, torch.Tensor, dtype) with dtype F32/F16/BF16.

    Layout: u64 LE header length N, N bytes of JSON (padded with spaces to a
    multiple of 8), then the raw little-endian data, in list order."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, t, dtype in tensors:
        t = t.detach().contiguous()
        if dtype == "F32":
            data = t.to(torch.float32).numpy().astype("<f4").tobytes()
        elif dtype == "F16":
            data = t.to(torch.float16).numpy().astype("<f2").tobytes()
        elif dtype == "BF16":
            data = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {
            "dtype": dtype,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Independent reader used to verify what we wrote."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = {}
    end_max = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = data[b:e]
        shape = info["shape"]
        if info["dtype"] == "F32":
            arr = np.frombuffer(buf, dtype="<f4").reshape(shape)
        elif info["dtype"] == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32).reshape(shape)
        elif info["dtype"] == "BF16":
            u = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32).reshape(shape)
        else:
            raise ValueError(info["dtype"])
        out[name] = arr
        end_max = max(end_max, e)
    assert end_max == len(data), "trailing bytes after the last tensor"
    return header, out


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def save_npy(path, arr, dtype):
    np.save(path, np.ascontiguousarray(np.asarray(arr, dtype=dtype)))


def fresh_dir(name):
    d = os.path.join(FIXTURES, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "reference"))
    return d


def rand(shape, std):
    return torch.randn(*shape) * std


def norm_weight(n):
    return 1.0 + torch.randn(n) * 0.2


def norm_bias(n):
    return torch.randn(n) * 0.1


def random_ids(n, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, vocab, (n,), generator=g, dtype=torch.int64)


def causal_nll(logits, ids):
    lp = F.log_softmax(logits.double(), dim=-1)
    T = ids.shape[0]
    loss = torch.full((T,), float("nan"), dtype=torch.float64)
    for t in range(T - 1):
        loss[t] = -lp[t, ids[t + 1]]
    return loss


def self_nll(logits, ids):
    lp = F.log_softmax(logits.double(), dim=-1)
    return -lp[torch.arange(ids.shape[0]), ids]


def attention_stats(att):
    """Mean row entropy and mean row max, to show attention is not uniform."""
    a = att.clamp_min(1e-30)
    ent = -(att * a.log()).sum(-1)
    return float(ent.mean()), float(att.max(-1).values.mean())


# --------------------------------------------------------------------------
# GPT-2

GPT2 = dict(vocab_size=97, n_positions=64, n_embd=32, n_layer=3, n_head=4,
            eps=1e-5)


def gpt2_params(seed):
    torch.manual_seed(seed)
    c = GPT2
    d, V = c["n_embd"], c["vocab_size"]
    p = {}
    p["wte.weight"] = rand((V, d), 0.4)
    p["wpe.weight"] = rand((c["n_positions"], d), 0.2)
    for i in range(c["n_layer"]):
        h = f"h.{i}."
        p[h + "ln_1.weight"] = norm_weight(d)
        p[h + "ln_1.bias"] = norm_bias(d)
        p[h + "attn.c_attn.weight"] = rand((d, 3 * d), 0.3)   # Conv1D [in, out]
        p[h + "attn.c_attn.bias"] = rand((3 * d,), 0.1)
        p[h + "attn.c_proj.weight"] = rand((d, d), 0.2)
        p[h + "attn.c_proj.bias"] = rand((d,), 0.1)
        p[h + "ln_2.weight"] = norm_weight(d)
        p[h + "ln_2.bias"] = norm_bias(d)
        p[h + "mlp.c_fc.weight"] = rand((d, 4 * d), 0.2)
        p[h + "mlp.c_fc.bias"] = rand((4 * d,), 0.1)
        p[h + "mlp.c_proj.weight"] = rand((4 * d, d), 0.1)
        p[h + "mlp.c_proj.bias"] = rand((d,), 0.1)
    p["ln_f.weight"] = norm_weight(d)
    p["ln_f.bias"] = norm_bias(d)
    return p


def gpt2_forward(p, ids):
    c = GPT2
    d, H, eps = c["n_embd"], c["n_head"], c["eps"]
    hd = d // H
    T = ids.shape[0]
    x = p["wte.weight"][ids] + p["wpe.weight"][:T]
    causal_bool = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    atts = []
    for i in range(c["n_layer"]):
        h = f"h.{i}."
        a_in = F.layer_norm(x, (d,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        y, w = F.multi_head_attention_forward(
            a_in.unsqueeze(1), a_in.unsqueeze(1), a_in.unsqueeze(1), d, H,
            p[h + "attn.c_attn.weight"].t().contiguous(), p[h + "attn.c_attn.bias"],
            None, None, False, 0.0,
            p[h + "attn.c_proj.weight"].t().contiguous(), p[h + "attn.c_proj.bias"],
            training=False, need_weights=True, attn_mask=causal_bool,
            average_attn_weights=False)
        w = w[0]
        # Explicit check, the way transformers' GPT2Attention does it.
        qkv = a_in @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = qkv.split(d, dim=-1)
        q = q.view(T, H, hd).transpose(0, 1)
        k = k.view(T, H, hd).transpose(0, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = torch.where(causal_bool, torch.tensor(F32_MIN), s)
        w_ref = torch.softmax(s, dim=-1)
        assert torch.allclose(w, w_ref, atol=1e-6, rtol=0), \
            f"gpt2 layer {i}: MHA vs explicit max diff {(w - w_ref).abs().max()}"
        atts.append(w)
        x = x + y[:, 0]
        m_in = F.layer_norm(x, (d,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        m = F.gelu(m_in @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"],
                   approximate="tanh")
        x = x + m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), p["ln_f.weight"], p["ln_f.bias"], eps)
    logits = x @ p["wte.weight"].t()
    return torch.stack(atts), logits


def gpt2_config():
    c = GPT2
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": 1,
        "embd_pdrop": 0.1,
        "eos_token_id": 2,
        "initializer_range": 0.02,
        "layer_norm_epsilon": c["eps"],
        "model_type": "gpt2",
        "n_ctx": c["n_positions"],
        "n_embd": c["n_embd"],
        "n_head": c["n_head"],
        "n_inner": None,
        "n_layer": c["n_layer"],
        "n_positions": c["n_positions"],
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": "4.40.0",
        "use_cache": True,
        "vocab_size": c["vocab_size"],
    }


def make_gpt2():
    p = gpt2_params(1001)
    T = 11
    ids = random_ids(T, GPT2["vocab_size"], 2001)
    att, logits = gpt2_forward(p, ids)
    loss = causal_nll(logits, ids)
    inputs = {"input_ids": ids.tolist(), "position_ids": list(range(T)),
              "note": "single sequence, batch 0; causal; loss[t] = NLL of ids[t+1], last NaN"}
    names = list(p.keys())
    for name, prefixed in (("gpt2-tiny", False), ("gpt2-tiny-prefixed", True)):
        d = fresh_dir(name)
        write_json(os.path.join(d, "config.json"), gpt2_config())
        if prefixed:
            tensors = [("transformer." + n, p[n], "F32") for n in names]
            tensors.append(("lm_head.weight", p["wte.weight"], "F32"))
        else:
            tensors = [(n, p[n], "F32") for n in names]
        write_safetensors(os.path.join(d, "model.safetensors"), tensors)
        r = os.path.join(d, "reference")
        save_npy(os.path.join(r, "input_ids.npy"), ids.numpy(), np.int64)
        save_npy(os.path.join(r, "attentions.npy"), att.numpy(), np.float32)
        save_npy(os.path.join(r, "logits.npy"), logits.numpy(), np.float32)
        save_npy(os.path.join(r, "loss.npy"), loss.numpy(), np.float32)
        write_json(os.path.join(r, "inputs.json"), inputs)
    return {"gpt2": attention_stats(att)}


# --------------------------------------------------------------------------
# BERT

BERT = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2,
            num_attention_heads=4, intermediate_size=128,
            max_position_embeddings=64, type_vocab_size=2, eps=1e-12)


def bert_params(seed, zero_positions=False):
    """Canonical names: bert.* with modern LayerNorm.weight/.bias, plus cls.*."""
    torch.manual_seed(seed)
    c = BERT
    d, V, ff = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
    p = {}
    e = "bert.embeddings."
    p[e + "word_embeddings.weight"] = rand((V, d), 0.4)
    p[e + "position_embeddings.weight"] = rand((c["max_position_embeddings"], d), 0.2)
    p[e + "token_type_embeddings.weight"] = rand((c["type_vocab_size"], d), 0.2)
    if zero_positions:
        p[e + "position_embeddings.weight"].zero_()
        p[e + "token_type_embeddings.weight"].zero_()
    p[e + "LayerNorm.weight"] = norm_weight(d)
    p[e + "LayerNorm.bias"] = norm_bias(d)
    for i in range(c["num_hidden_layers"]):
        l = f"bert.encoder.layer.{i}."
        for nm in ("query", "key", "value"):
            p[l + f"attention.self.{nm}.weight"] = rand((d, d), 0.35)  # [out, in]
            p[l + f"attention.self.{nm}.bias"] = rand((d,), 0.1)
        p[l + "attention.output.dense.weight"] = rand((d, d), 0.2)
        p[l + "attention.output.dense.bias"] = rand((d,), 0.1)
        p[l + "attention.output.LayerNorm.weight"] = norm_weight(d)
        p[l + "attention.output.LayerNorm.bias"] = norm_bias(d)
        p[l + "intermediate.dense.weight"] = rand((ff, d), 0.2)
        p[l + "intermediate.dense.bias"] = rand((ff,), 0.1)
        p[l + "output.dense.weight"] = rand((d, ff), 0.1)
        p[l + "output.dense.bias"] = rand((d,), 0.1)
        p[l + "output.LayerNorm.weight"] = norm_weight(d)
        p[l + "output.LayerNorm.bias"] = norm_bias(d)
    p["cls.predictions.transform.dense.weight"] = rand((d, d), 0.2)
    p["cls.predictions.transform.dense.bias"] = rand((d,), 0.1)
    p["cls.predictions.transform.LayerNorm.weight"] = norm_weight(d)
    p["cls.predictions.transform.LayerNorm.bias"] = norm_bias(d)
    p["cls.predictions.bias"] = rand((V,), 0.1)
    return p


def bert_forward(p, ids, attention_mask=None):
    c = BERT
    d, H, eps = c["hidden_size"], c["num_attention_heads"], c["eps"]
    hd = d // H
    T = ids.shape[0]
    e = "bert.embeddings."
    tt = torch.zeros(T, dtype=torch.int64)
    x = (p[e + "word_embeddings.weight"][ids]
         + p[e + "token_type_embeddings.weight"][tt]
         + p[e + "position_embeddings.weight"][:T])
    x = F.layer_norm(x, (d,), p[e + "LayerNorm.weight"], p[e + "LayerNorm.bias"], eps)
    if attention_mask is None:
        attention_mask = torch.ones(T, dtype=torch.int64)
    # transformers' get_extended_attention_mask: (1 - mask) * finfo.min,
    # added to the scores of every query row for masked keys.
    ext = (1.0 - attention_mask.to(torch.float32)) * F32_MIN
    add_mask = ext.unsqueeze(0).expand(T, T).contiguous()
    atts = []
    for i in range(c["num_hidden_layers"]):
        l = f"bert.encoder.layer.{i}."
        a = l + "attention.self."
        in_w = torch.cat([p[a + "query.weight"], p[a + "key.weight"], p[a + "value.weight"]])
        in_b = torch.cat([p[a + "query.bias"], p[a + "key.bias"], p[a + "value.bias"]])
        y, w = F.multi_head_attention_forward(
            x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1), d, H, in_w, in_b,
            None, None, False, 0.0,
            p[l + "attention.output.dense.weight"], p[l + "attention.output.dense.bias"],
            training=False, need_weights=True, attn_mask=add_mask,
            average_attn_weights=False)
        w = w[0]
        # Explicit check, the way transformers' BertSelfAttention does it.
        q = (x @ p[a + "query.weight"].t() + p[a + "query.bias"]).view(T, H, hd).transpose(0, 1)
        k = (x @ p[a + "key.weight"].t() + p[a + "key.bias"]).view(T, H, hd).transpose(0, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + ext
        w_ref = torch.softmax(s, dim=-1)
        assert torch.allclose(w, w_ref, atol=1e-6, rtol=0), \
            f"bert layer {i}: MHA vs explicit max diff {(w - w_ref).abs().max()}"
        atts.append(w)
        x = F.layer_norm(x + y[:, 0], (d,), p[l + "attention.output.LayerNorm.weight"],
                         p[l + "attention.output.LayerNorm.bias"], eps)
        m = F.gelu(x @ p[l + "intermediate.dense.weight"].t() + p[l + "intermediate.dense.bias"])
        m = m @ p[l + "output.dense.weight"].t() + p[l + "output.dense.bias"]
        x = F.layer_norm(x + m, (d,), p[l + "output.LayerNorm.weight"],
                         p[l + "output.LayerNorm.bias"], eps)
    t = "cls.predictions.transform."
    h = F.gelu(x @ p[t + "dense.weight"].t() + p[t + "dense.bias"])
    h = F.layer_norm(h, (d,), p[t + "LayerNorm.weight"], p[t + "LayerNorm.bias"], eps)
    logits = h @ p[e + "word_embeddings.weight"].t() + p["cls.predictions.bias"]
    return torch.stack(atts), logits


def bert_config(architecture):
    c = BERT
    return {
        "architectures": [architecture],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": c["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": c["intermediate_size"],
        "layer_norm_eps": c["eps"],
        "max_position_embeddings": c["max_position_embeddings"],
        "model_type": "bert",
        "num_attention_heads": c["num_attention_heads"],
        "num_hidden_layers": c["num_hidden_layers"],
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": "4.40.0",
        "type_vocab_size": c["type_vocab_size"],
        "use_cache": True,
        "vocab_size": c["vocab_size"],
    }


def old_ln_name(n):
    return n.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")


def make_bert():
    p = bert_params(1101)
    T = 10
    n_pad = 3
    ids = random_ids(T, BERT["vocab_size"], 2101)
    mask = torch.ones(T, dtype=torch.int64)
    mask[T - n_pad:] = 0
    ids_pad = ids.clone()
    ids_pad[T - n_pad:] = 0  # pad_token_id
    att, logits = bert_forward(p, ids)
    att_p, logits_p = bert_forward(p, ids_pad, mask)
    loss = self_nll(logits, ids)
    loss_p = self_nll(logits_p, ids_pad)
    loss_p[mask == 0] = float("nan")
    inputs = {
        "input_ids": ids.tolist(),
        "token_type_ids": [0] * T,
        "position_ids": list(range(T)),
        "padded": {
            "input_ids": ids_pad.tolist(),
            "attention_mask": mask.tolist(),
            "note": "last 3 positions are [PAD] (id 0) with attention_mask 0; "
                    "masked keys get finfo(float32).min added to their scores; "
                    "pad query rows are recorded too",
        },
        "note": "bidirectional; loss[t] = -log softmax(logits[t])[ids[t]] (unmasked "
                "pseudo-likelihood); loss-padded is NaN at pad positions",
    }

    # bert-tiny: BertForMaskedLM, old gamma/beta spelling.
    d = fresh_dir("bert-tiny")
    write_json(os.path.join(d, "config.json"), bert_config("BertForMaskedLM"))
    write_safetensors(os.path.join(d, "model.safetensors"),
                      [(old_ln_name(n), t, "F32") for n, t in p.items()])
    r = os.path.join(d, "reference")
    save_npy(os.path.join(r, "input_ids.npy"), ids.numpy(), np.int64)
    save_npy(os.path.join(r, "attentions.npy"), att.numpy(), np.float32)
    save_npy(os.path.join(r, "logits.npy"), logits.numpy(), np.float32)
    save_npy(os.path.join(r, "loss.npy"), loss.numpy(), np.float32)
    save_npy(os.path.join(r, "input_ids-padded.npy"), ids_pad.numpy(), np.int64)
    save_npy(os.path.join(r, "attention_mask.npy"), mask.numpy(), np.int64)
    save_npy(os.path.join(r, "attentions-padded.npy"), att_p.numpy(), np.float32)
    save_npy(os.path.join(r, "logits-padded.npy"), logits_p.numpy(), np.float32)
    save_npy(os.path.join(r, "loss-padded.npy"), loss_p.numpy(), np.float32)
    write_json(os.path.join(r, "inputs.json"), inputs)

    # bert-tiny-modern: BertModel, no bert. prefix, LayerNorm.weight/.bias,
    # no cls.* head but a pooler (as every saved BertModel has; unused here).
    d = fresh_dir("bert-tiny-modern")
    write_json(os.path.join(d, "config.json"), bert_config("BertModel"))
    tensors = [(n[len("bert."):], t, "F32") for n, t in p.items() if n.startswith("bert.")]
    torch.manual_seed(1102)
    tensors.append(("pooler.dense.weight", rand((BERT["hidden_size"], BERT["hidden_size"]), 0.2), "F32"))
    tensors.append(("pooler.dense.bias", rand((BERT["hidden_size"],), 0.1), "F32"))
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    r = os.path.join(d, "reference")
    save_npy(os.path.join(r, "input_ids.npy"), ids.numpy(), np.int64)
    save_npy(os.path.join(r, "attentions.npy"), att.numpy(), np.float32)
    save_npy(os.path.join(r, "input_ids-padded.npy"), ids_pad.numpy(), np.int64)
    save_npy(os.path.join(r, "attention_mask.npy"), mask.numpy(), np.int64)
    save_npy(os.path.join(r, "attentions-padded.npy"), att_p.numpy(), np.float32)
    modern_inputs = dict(inputs)
    modern_inputs["note"] = "bidirectional; BertModel has no LM head: attentions only"
    write_json(os.path.join(r, "inputs.json"), modern_inputs)

    # bert-nopos: zero position and token-type embeddings.
    p0 = bert_params(1201, zero_positions=True)
    ids0 = random_ids(T, BERT["vocab_size"], 2201)
    att0, logits0 = bert_forward(p0, ids0)
    # Sanity: permuting the input permutes the attention (rows and columns).
    perm = torch.arange(T - 1, -1, -1)
    att_perm, logits_perm = bert_forward(p0, ids0[perm])
    assert torch.allclose(att_perm, att0[:, :, perm][:, :, :, perm], atol=1e-5)
    assert torch.allclose(logits_perm, logits0[perm], atol=1e-4)
    d = fresh_dir("bert-nopos")
    write_json(os.path.join(d, "config.json"), bert_config("BertForMaskedLM"))
    write_safetensors(os.path.join(d, "model.safetensors"),
                      [(n, t, "F32") for n, t in p0.items()])
    r = os.path.join(d, "reference")
    save_npy(os.path.join(r, "input_ids.npy"), ids0.numpy(), np.int64)
    save_npy(os.path.join(r, "attentions.npy"), att0.numpy(), np.float32)
    save_npy(os.path.join(r, "logits.npy"), logits0.numpy(), np.float32)
    save_npy(os.path.join(r, "loss.npy"), self_nll(logits0, ids0).numpy(), np.float32)
    write_json(os.path.join(r, "inputs.json"), {
        "input_ids": ids0.tolist(),
        "token_type_ids": [0] * T,
        "note": "position_embeddings and token_type_embeddings are all zeros, so "
                "permuting input_ids permutes attention rows/columns and logits rows",
    })
    return {"bert": attention_stats(att), "bert-padded": attention_stats(att_p[:, :, :T - n_pad]),
            "bert-nopos": attention_stats(att0)}


# --------------------------------------------------------------------------
# LLaMA / Qwen2

LLAMA = dict(vocab_size=97, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
             rms_norm_eps=1e-5, rope_theta=10000.0, qkv_bias=False, tied=False)
QWEN2 = dict(LLAMA, rope_theta=1000000.0, qkv_bias=True, tied=True)


def llama_params(c, seed):
    torch.manual_seed(seed)
    d, V, ff = c["hidden_size"], c["vocab_size"], c["intermediate_size"]
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    hd = d // H
    p = {}
    p["model.embed_tokens.weight"] = rand((V, d), 0.4)
    for i in range(c["num_hidden_layers"]):
        l = f"model.layers.{i}."
        p[l + "input_layernorm.weight"] = norm_weight(d)
        p[l + "self_attn.q_proj.weight"] = rand((H * hd, d), 0.3)
        if c["qkv_bias"]:
            p[l + "self_attn.q_proj.bias"] = rand((H * hd,), 0.1)
        p[l + "self_attn.k_proj.weight"] = rand((KV * hd, d), 0.3)
        if c["qkv_bias"]:
            p[l + "self_attn.k_proj.bias"] = rand((KV * hd,), 0.1)
        p[l + "self_attn.v_proj.weight"] = rand((KV * hd, d), 0.3)
        if c["qkv_bias"]:
            p[l + "self_attn.v_proj.bias"] = rand((KV * hd,), 0.1)
        p[l + "self_attn.o_proj.weight"] = rand((d, H * hd), 0.2)
        p[l + "post_attention_layernorm.weight"] = norm_weight(d)
        p[l + "mlp.gate_proj.weight"] = rand((ff, d), 0.25)
        p[l + "mlp.up_proj.weight"] = rand((ff, d), 0.25)
        p[l + "mlp.down_proj.weight"] = rand((d, ff), 0.15)
    p["model.norm.weight"] = norm_weight(d)
    if not c["tied"]:
        p["lm_head.weight"] = rand((V, d), 0.3)
    return p


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(T, hd, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    pos = torch.arange(T, dtype=torch.int64).float()
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def llama_forward(c, p, ids):
    d, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = d // H
    group = H // KV
    eps = c["rms_norm_eps"]
    T = ids.shape[0]
    x = p["model.embed_tokens.weight"][ids]
    cos, sin = rope_cos_sin(T, hd, c["rope_theta"])
    causal = torch.triu(torch.full((T, T), F32_MIN), diagonal=1)
    atts = []
    for i in range(c["num_hidden_layers"]):
        l = f"model.layers.{i}."
        a = l + "self_attn."
        h = rms_norm(x, p[l + "input_layernorm.weight"], eps)
        q = F.linear(h, p[a + "q_proj.weight"], p.get(a + "q_proj.bias"))
        k = F.linear(h, p[a + "k_proj.weight"], p.get(a + "k_proj.bias"))
        v = F.linear(h, p[a + "v_proj.weight"], p.get(a + "v_proj.bias"))
        q = q.view(T, H, hd).transpose(0, 1)
        k = k.view(T, KV, hd).transpose(0, 1)
        v = v.view(T, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(group, dim=0)  # query head h uses KV head h // group
        v = v.repeat_interleave(group, dim=0)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + causal
        w = torch.softmax(s, dim=-1, dtype=torch.float32)
        atts.append(w)
        o = (w @ v).transpose(0, 1).reshape(T, H * hd)
        x = x + F.linear(o, p[a + "o_proj.weight"])
        h = rms_norm(x, p[l + "post_attention_layernorm.weight"], eps)
        m = F.silu(F.linear(h, p[l + "mlp.gate_proj.weight"])) * F.linear(h, p[l + "mlp.up_proj.weight"])
        x = x + F.linear(m, p[l + "mlp.down_proj.weight"])
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["model.embed_tokens.weight"] if c["tied"] else p["lm_head.weight"]
    logits = x @ head.t()
    return torch.stack(atts), logits


def llama_config(c, arch, model_type, torch_dtype):
    cfg = {
        "architectures": [arch],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": c["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": c["intermediate_size"],
        "max_position_embeddings": c["max_position_embeddings"],
        "model_type": model_type,
        "num_attention_heads": c["num_attention_heads"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_key_value_heads": c["num_key_value_heads"],
        "rms_norm_eps": c["rms_norm_eps"],
        "rope_scaling": None,
        "rope_theta": c["rope_theta"],
        "tie_word_embeddings": c["tied"],
        "torch_dtype": torch_dtype,
        "transformers_version": "4.40.0",
        "use_cache": True,
        "vocab_size": c["vocab_size"],
    }
    if model_type == "llama":
        cfg["mlp_bias"] = False
        cfg["pretraining_tp"] = 1
    else:
        # Qwen2's q/k/v biases are implied by the architecture, not a flag.
        del cfg["attention_bias"]
        cfg["max_window_layers"] = c["num_hidden_layers"]
        cfg["sliding_window"] = c["max_position_embeddings"]
        cfg["use_sliding_window"] = False
    return dict(sorted(cfg.items()))


def write_causal_reference(d, ids, att, logits, inputs):
    r = os.path.join(d, "reference")
    save_npy(os.path.join(r, "input_ids.npy"), ids.numpy(), np.int64)
    save_npy(os.path.join(r, "attentions.npy"), att.numpy(), np.float32)
    save_npy(os.path.join(r, "logits.npy"), logits.numpy(), np.float32)
    save_npy(os.path.join(r, "loss.npy"), causal_nll(logits, ids).numpy(), np.float32)
    write_json(os.path.join(r, "inputs.json"), inputs)


def make_llama():
    stats = {}
    c = LLAMA
    p = llama_params(c, 1301)
    T = 12
    ids = random_ids(T, c["vocab_size"], 2301)
    inputs = {"input_ids": ids.tolist(), "position_ids": list(range(T)),
              "note": "causal; RoPE rotate-half; GQA query head h uses KV head "
                      "h // (num_attention_heads / num_key_value_heads); "
                      "loss[t] = NLL of ids[t+1], last NaN"}
    for name, st_dtype, tdt, cfg_dtype in (
            ("llama-gqa-tiny", "F32", None, "float32"),
            ("llama-gqa-tiny-f16", "F16", torch.float16, "float16"),
            ("llama-gqa-tiny-bf16", "BF16", torch.bfloat16, "bfloat16")):
        pw = p if tdt is None else {n: t.to(tdt).to(torch.float32) for n, t in p.items()}
        att, logits = llama_forward(c, pw, ids)
        d = fresh_dir(name)
        write_json(os.path.join(d, "config.json"),
                   llama_config(c, "LlamaForCausalLM", "llama", cfg_dtype))
        write_safetensors(os.path.join(d, "model.safetensors"),
                          [(n, t, st_dtype) for n, t in pw.items()])
        ins = dict(inputs)
        if tdt is not None:
            ins["weights"] = (f"the llama-gqa-tiny weights rounded to {cfg_dtype}; "
                              "references computed in float32 from the rounded weights")
        write_causal_reference(d, ids, att, logits, ins)
        stats[name] = attention_stats(att)

    c = QWEN2
    p = llama_params(c, 1401)
    T = 9
    ids = random_ids(T, c["vocab_size"], 2401)
    att, logits = llama_forward(c, p, ids)
    d = fresh_dir("qwen2-tiny")
    write_json(os.path.join(d, "config.json"),
               llama_config(c, "Qwen2ForCausalLM", "qwen2", "float32"))
    write_safetensors(os.path.join(d, "model.safetensors"),
                      [(n, t, "F32") for n, t in p.items()])
    write_causal_reference(d, ids, att, logits, {
        "input_ids": ids.tolist(), "position_ids": list(range(T)),
        "note": "causal; like llama-gqa-tiny plus q/k/v biases, tied embeddings, "
                "rope_theta 1e6; loss[t] = NLL of ids[t+1], last NaN"})
    stats["qwen2-tiny"] = attention_stats(att)
    return stats


# --------------------------------------------------------------------------
# verification

def verify():
    total = 0
    for name in FIXTURE_NAMES:
        d = os.path.join(FIXTURES, name)
        with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
            json.load(f)
        header, tensors = read_safetensors(os.path.join(d, "model.safetensors"))
        assert header["__metadata__"] == {"format": "pt"}
        r = os.path.join(d, "reference")
        ref = {}
        for fn in sorted(os.listdir(r)):
            if fn.endswith(".npy"):
                ref[fn] = np.load(os.path.join(r, fn))
        ids = ref["input_ids.npy"] if "input_ids.npy" in ref else ref["target_ids.npy"]  # T5: the decoder's
        att = ref["attentions.npy"]
        assert ids.dtype == np.int64 and att.dtype == np.float32
        T = ids.shape[0]
        assert att.shape[2:] == (T, T)
        assert np.allclose(att.sum(-1), 1.0, atol=1e-5)
        if "logits.npy" in ref:
            assert ref["logits.npy"].shape[0] == T
        for dirpath, _, files in os.walk(d):
            for fn in files:
                total += os.path.getsize(os.path.join(dirpath, fn))
    # f16/bf16 files hold exactly the rounded weights the references used.
    _, w32 = read_safetensors(os.path.join(FIXTURES, "llama-gqa-tiny", "model.safetensors"))
    for name, tdt in (("llama-gqa-tiny-f16", torch.float16), ("llama-gqa-tiny-bf16", torch.bfloat16)):
        _, wh = read_safetensors(os.path.join(FIXTURES, name, "model.safetensors"))
        for n, a in w32.items():
            exp = torch.from_numpy(a.copy()).to(tdt).to(torch.float32).numpy()
            assert np.array_equal(wh[n], exp), (name, n)
    # gpt2-tiny-prefixed holds the same numbers as gpt2-tiny.
    _, a = read_safetensors(os.path.join(FIXTURES, "gpt2-tiny", "model.safetensors"))
    _, b = read_safetensors(os.path.join(FIXTURES, "gpt2-tiny-prefixed", "model.safetensors"))
    for n in a:
        assert np.array_equal(a[n], b["transformer." + n])
    assert np.array_equal(b["lm_head.weight"], a["wte.weight"])
    assert total < 3 * 1024 * 1024, total
    return total


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    stats = {}
    stats.update(make_gpt2())
    stats.update(make_bert())
    stats.update(make_llama())
    stats.update(fixtures_t5.make_t5(fresh_dir, write_json, write_safetensors, save_npy, attention_stats))
    stats.update(fixtures_bart.make_bart(fresh_dir, write_json, write_safetensors, save_npy, attention_stats))
    stats.update(fixtures_marian.make_marian(fresh_dir, write_json, write_safetensors, save_npy, attention_stats))
    stats.update(fixtures_roberta.make_roberta(fresh_dir, write_json, write_safetensors, save_npy, attention_stats))
    stats.update(fixtures_distilbert.make_distilbert(fresh_dir, write_json, write_safetensors, save_npy,
                                                     attention_stats))
    total = verify()
    for k, (ent, mx) in stats.items():
        print(f"{k:22s} mean row entropy {ent:.3f}  mean row max {mx:.3f}", file=sys.stderr)
    print(f"wrote {len(FIXTURE_NAMES)} fixtures under {os.path.relpath(FIXTURES, ROOT)} "
          f"({total} bytes)")


if __name__ == "__main__":
    main()
