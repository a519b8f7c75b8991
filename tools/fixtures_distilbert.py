"""DistilBERT reference fixtures for tools/make-fixtures.py.

distilbert-tiny: a random-weight DistilBertForMaskedLM in Hugging Face
layout ("distilbert." prefix, learned positions, GELU, vocab_projector tied
to the word embeddings, so absent) with a WordPiece vocab.txt;
distilbert-tiny-sinusoidal: a bare DistilBertModel (no prefix) with
sinusoidal_pos_embds, ReLU, and no position table in the file, whose
table is then modeling_distilbert's create_sinusoidal_embeddings.  What
transformers' eager modeling_distilbert outputs for them, step by step:

  x = LN(word[ids] + position[arange(T)])               (Embeddings, eps 1e-12)
  each TransformerBlock: q = q_lin(x) / sqrt(head_dim); w = softmax(q k^T,
    masked_fill(mask == 0, finfo.min)); sa = sa_layer_norm(out_lin(w v) + x);
    x = output_layer_norm(lin2(act(lin1(sa))) + sa)
  DistilBertForMaskedLM: logits = vocab_projector(vocab_layer_norm(
    act(vocab_transform(x))))  (act = config.activation)

The tokenizer's expected ids come from a reference WordPiece below
(BasicTokenizer: lower case, split on white space and punctuation; then
greedy longest-match-first with "##"), with [CLS] ... [SEP] around.
"""

import math
import os
import re

import numpy as np
import torch
import torch.nn.functional as F

DISTILBERT_NAMES = ["distilbert-tiny", "distilbert-tiny-sinusoidal"]

F32_MIN = torch.finfo(torch.float32).min

VOCAB = (["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "?"]
         + [chr(c) for c in range(ord("a"), ord("z") + 1)]
         + ["the", "cat", "sat", "on", "mat", "dog", "sing", "run", "##s", "##ing", "##e", "##t", "##a",
            "##n", "##r", "##o", "##i", "##d", "##g", "##m", "##u", "##l", "##h", "ze", "##bra"])
TEXTS = ["The cats sat on the mat.", "A dog runs, singing!", "The cat sat on the [MASK].",
         "Zebra? Xylophone"]


def wordpiece(word, vocab):
    out, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                cur = piece
                break
            end -= 1
        if cur is None:
            return [vocab["[UNK]"]]
        out.append(vocab[cur])
        start = end
    return out


def encode(text, vocab):
    """BertTokenizer(text), lower case, with [CLS] ... [SEP]; a [MASK] typed
    in the text stays text, as attnviz keeps every typed special."""
    ids = [vocab["[CLS]"]]
    for word in re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]", text.lower()):
        ids.extend(wordpiece(word, vocab))
    ids.append(vocab["[SEP]"])
    return ids


def distilbert_config(c, architecture, activation, sinusoidal):
    return {
        "activation": activation, "architectures": [architecture], "attention_dropout": 0.1, "dim": c["d"],
        "dropout": 0.1, "hidden_dim": c["ff"], "initializer_range": 0.02, "max_position_embeddings": c["n_pos"],
        "model_type": "distilbert", "n_heads": c["H"], "n_layers": c["L"], "pad_token_id": 0, "qa_dropout": 0.1,
        "seq_classif_dropout": 0.2, "sinusoidal_pos_embds": sinusoidal, "tie_weights_": True,
        "torch_dtype": "float32", "transformers_version": "4.40.0", "vocab_size": c["V"],
    }


def sinusoids(n_pos, dim):
    """modeling_distilbert's _create_sinusoidal_embeddings."""
    enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = torch.zeros(n_pos, dim)
    out[:, 0::2] = torch.FloatTensor(np.sin(enc[:, 0::2]))
    out[:, 1::2] = torch.FloatTensor(np.cos(enc[:, 1::2]))
    return out


def distilbert_params(c, seed):
    torch.manual_seed(seed)
    d, ff, V = c["d"], c["ff"], c["V"]
    p = {}
    e = "distilbert.embeddings."
    p[e + "word_embeddings.weight"] = torch.randn(V, d) * 0.4
    p[e + "word_embeddings.weight"][0].zero_()  # padding_idx
    p[e + "position_embeddings.weight"] = torch.randn(c["n_pos"], d) * 0.3

    def lin(name, n_out, n_in):
        p[name + ".weight"] = torch.randn(n_out, n_in) * (n_in ** -0.5)
        p[name + ".bias"] = torch.randn(n_out) * 0.1

    def ln(name):
        p[name + ".weight"] = 1.0 + torch.randn(d) * 0.2
        p[name + ".bias"] = torch.randn(d) * 0.1

    ln(e + "LayerNorm")
    for i in range(c["L"]):
        b = f"distilbert.transformer.layer.{i}."
        for nm in ("q_lin", "k_lin", "v_lin", "out_lin"):
            lin(b + "attention." + nm, d, d)
        ln(b + "sa_layer_norm")
        lin(b + "ffn.lin1", ff, d)
        lin(b + "ffn.lin2", d, ff)
        ln(b + "output_layer_norm")
    lin("vocab_transform", d, d)
    ln("vocab_layer_norm")
    p["vocab_projector.bias"] = torch.randn(V) * 0.1
    return p


def distilbert_forward(c, p, ids, attention_mask, act):
    d, H, eps = c["d"], c["H"], 1e-12
    hd = d // H
    T = ids.shape[0]
    e = "distilbert.embeddings."
    x = p[e + "word_embeddings.weight"][ids] + p[e + "position_embeddings.weight"][torch.arange(T)]
    x = F.layer_norm(x, (d,), p[e + "LayerNorm.weight"], p[e + "LayerNorm.bias"], eps)

    def linear(v, name):
        return v @ p[name + ".weight"].t() + p[name + ".bias"]

    def norm(v, name):
        return F.layer_norm(v, (d,), p[name + ".weight"], p[name + ".bias"], eps)

    masked = (attention_mask == 0).view(1, 1, T).expand(H, T, T)
    atts = []
    for i in range(c["L"]):
        b = f"distilbert.transformer.layer.{i}."
        q = linear(x, b + "attention.q_lin").view(T, H, hd).transpose(0, 1)
        k = linear(x, b + "attention.k_lin").view(T, H, hd).transpose(0, 1)
        v = linear(x, b + "attention.v_lin").view(T, H, hd).transpose(0, 1)
        q = q / math.sqrt(hd)
        scores = (q @ k.transpose(1, 2)).masked_fill(masked, F32_MIN)
        w = F.softmax(scores, dim=-1)
        atts.append(w)
        sa = norm(linear((w @ v).transpose(0, 1).reshape(T, d), b + "attention.out_lin") + x, b + "sa_layer_norm")
        h = linear(act(linear(sa, b + "ffn.lin1")), b + "ffn.lin2")
        x = norm(h + sa, b + "output_layer_norm")
    h = norm(act(linear(x, "vocab_transform")), "vocab_layer_norm")
    logits = h @ p[e + "word_embeddings.weight"].t() + p["vocab_projector.bias"]
    return torch.stack(atts), logits


def make_distilbert(fresh_dir, write_json, write_safetensors, save_npy, attention_stats):
    vocab = {t: i for i, t in enumerate(VOCAB)}
    c = dict(d=32, ff=64, H=4, L=2, n_pos=32, V=len(VOCAB))
    expected = [{"text": t, "ids": encode(t, vocab)} for t in TEXTS]
    ids = torch.tensor(expected[0]["ids"])
    T = ids.shape[0]
    n_pad = 3
    ids_pad = torch.cat([ids, torch.zeros(n_pad, dtype=torch.int64)])
    mask_pad = torch.cat([torch.ones(T, dtype=torch.int64), torch.zeros(n_pad, dtype=torch.int64)])
    stats = {}
    for name, arch, act_name, act, sinusoidal, seed in (
            ("distilbert-tiny", "DistilBertForMaskedLM", "gelu", F.gelu, False, 81),
            ("distilbert-tiny-sinusoidal", "DistilBertModel", "relu", F.relu, True, 82)):
        p = distilbert_params(c, seed)
        if sinusoidal:
            p["distilbert.embeddings.position_embeddings.weight"] = sinusoids(c["n_pos"], c["d"])
        with torch.no_grad():
            att, logits = distilbert_forward(c, p, ids, torch.ones(T, dtype=torch.int64), act)
            att_p, logits_p = distilbert_forward(c, p, ids_pad, mask_pad, act)
        d = fresh_dir(name)
        write_json(os.path.join(d, "config.json"), distilbert_config(c, arch, act_name, sinusoidal))
        if sinusoidal:
            # a bare model without prefix, and without the table: the loader writes the sinusoids
            tensors = [(n[len("distilbert."):], t, "F32") for n, t in p.items()
                       if n.startswith("distilbert.") and "position_embeddings" not in n]
        else:
            tensors = [(n, t, "F32") for n, t in p.items()]
        write_safetensors(os.path.join(d, "model.safetensors"), tensors)
        with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(VOCAB) + "\n")
        write_json(os.path.join(d, "tokenizer_config.json"), {
            "do_lower_case": True, "tokenizer_class": "DistilBertTokenizer", "model_max_length": c["n_pos"]})
        r = os.path.join(d, "reference")
        save_npy(os.path.join(r, "input_ids.npy"), ids.numpy(), np.int64)
        save_npy(os.path.join(r, "attentions.npy"), att.numpy(), np.float32)
        save_npy(os.path.join(r, "input_ids-padded.npy"), ids_pad.numpy(), np.int64)
        save_npy(os.path.join(r, "attention_mask.npy"), mask_pad.numpy(), np.int64)
        save_npy(os.path.join(r, "attentions-padded.npy"), att_p.numpy(), np.float32)
        if arch.endswith("ForMaskedLM"):
            save_npy(os.path.join(r, "logits.npy"), logits.numpy(), np.float32)
            save_npy(os.path.join(r, "logits-padded.npy"), logits_p.numpy(), np.float32)
        write_json(os.path.join(r, "tokenization.json"), expected)
        write_json(os.path.join(r, "inputs.json"), {
            "input_ids": ids.tolist(), "text": TEXTS[0],
            "padded": {"input_ids": ids_pad.tolist(), "attention_mask": mask_pad.tolist(),
                       "note": "three [PAD] after [SEP] with attention_mask 0 (masked_fill finfo.min)"},
            "reference": "tools/fixtures_distilbert.py: transformers modeling_distilbert eager semantics, float32",
        })
        stats[name] = attention_stats(att)
    return stats
