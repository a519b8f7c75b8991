"""RoBERTa reference fixtures for tools/make-fixtures.py.

A random-weight RobertaForMaskedLM in Hugging Face layout ("roberta."
prefix, the LM head's decoder tied to the word embeddings, so absent) and
the same weights as a bare RobertaModel (no prefix, no head) and with
hidden_act relu (roberta-tiny-relu: the LM head keeps GELU), with what
transformers' eager modeling_roberta outputs for them, step by step:

  position ids: create_position_ids_from_input_ids (padding_idx =
    pad_token_id): a token's position is padding_idx + 1 + the number of
    non-pad tokens before it; a pad token's is padding_idx
  x = LN(word[ids] + position[pos] + token_type[0])      (RobertaEmbeddings)
  each layer (BERT's, post-norm): x = LN(x + attn(x)); x = LN(x + W2 gelu(W1 x))
    with scores q.k / sqrt(head_dim) + (1 - mask) * finfo.min
  RobertaLMHead: logits = decoder(LN(gelu(dense(x)))) + bias, gelu whatever
    hidden_act says, decoder = the word embeddings (tied)

roberta-tiny carries a byte-level BPE tokenizer in GPT-2's format
(vocab.json, merges.txt), roberta-tiny-bare the same as a tokenizer.json
(added tokens, RobertaProcessing), with fairseq's specials at RoBERTa's ids 0-3 and
<mask> last: the 256 byte symbols and a few merges, and the expected ids of
a few texts from the reference encoder below (GPT-2's pre-tokenizer and
rank-ordered merges, then RobertaTokenizer's <s> ... </s>; a <mask>
typed in the text stays text, as attnviz keeps every typed special).
"""

import math
import os
import re

import numpy as np
import torch
import torch.nn.functional as F

ROBERTA_NAMES = ["roberta-tiny", "roberta-tiny-bare", "roberta-tiny-relu"]

F32_MIN = torch.finfo(torch.float32).min

MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("Ġ", "c"), ("Ġc", "a"),
          ("Ġca", "t"), ("Ġ", "s"), ("Ġs", "a"), ("Ġsa", "t"), ("Ġ", "o"), ("Ġo", "n"), ("Ġ", "m"),
          ("Ġm", "a"), ("Ġma", "t"), ("T", "he"), ("o", "r"), ("Ġ", "d"), ("Ġd", "o"), ("Ġdo", "g"),
          ("in", "g"), ("Ġs", "in"), ("Ġsin", "g")]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
TEXTS = ["The cat sat on the mat.", "the dog sing singing", "The cat sat on the <mask>.",
         "  two  spaces\nand a line", "Zebra 42 caf\u00e9!"]


def bytes_to_unicode():
    """openai/gpt-2's byte -> symbol table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def make_vocab():
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for b, ch in sorted(bytes_to_unicode().items()):
        vocab[ch] = len(vocab)
    for a, b in MERGES:
        vocab.setdefault(a + b, len(vocab))
    vocab["<mask>"] = len(vocab)
    return vocab


# GPT-2's pre-tokenizer for the ASCII letters, digits and Latin-1 letters
# the texts use (the real pattern's \p{L} and \p{N})
LETTER = "A-Za-z\u00c0-\u00ff"
PRETOK = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[" + LETTER + r"]+| ?[0-9]+| ?[^\s" + LETTER
                    + r"0-9]+|\s+(?!\S)|\s+")


def bpe_word(word, ranks):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(ranks.get((parts[i], parts[i + 1]), 1e9), i) for i in range(len(parts) - 1)]
        rank, i = min(pairs)
        if rank == 1e9:
            break
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]
    return parts


def encode(text, vocab):
    """RobertaTokenizer(text) with its specials: <s> ids </s>."""
    b2u = bytes_to_unicode()
    ranks = {m: i for i, m in enumerate(MERGES)}
    ids = [vocab["<s>"]]
    # specials typed in the text stay text in attnviz (as in llama.cpp
    # without parse_special): "<mask>" is "<", "mask", ">"
    for word in PRETOK.findall(text):
        sym = "".join(b2u[b] for b in word.encode("utf-8"))
        ids.extend(vocab[p] for p in bpe_word(sym, ranks))
    ids.append(vocab["</s>"])
    return ids


def roberta_config(c, architecture):
    return {
        "architectures": [architecture], "attention_probs_dropout_prob": 0.1, "bos_token_id": 0,
        "classifier_dropout": None, "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": c["d"], "initializer_range": 0.02, "intermediate_size": c["ff"], "layer_norm_eps": 1e-05,
        "max_position_embeddings": c["n_pos"], "model_type": "roberta", "num_attention_heads": c["H"],
        "num_hidden_layers": c["L"], "pad_token_id": 1, "position_embedding_type": "absolute",
        "torch_dtype": "float32", "transformers_version": "4.40.0", "type_vocab_size": 1, "use_cache": True,
        "vocab_size": c["V"],
    }


def roberta_params(c, seed):
    torch.manual_seed(seed)
    d, ff, V = c["d"], c["ff"], c["V"]
    p = {}
    e = "roberta.embeddings."
    p[e + "word_embeddings.weight"] = torch.randn(V, d) * 0.4
    p[e + "word_embeddings.weight"][1].zero_()  # nn.Embedding(padding_idx=1)
    p[e + "position_embeddings.weight"] = torch.randn(c["n_pos"], d) * 0.3
    p[e + "position_embeddings.weight"][1].zero_()
    p[e + "token_type_embeddings.weight"] = torch.randn(1, d) * 0.2

    def lin(name, n_out, n_in):
        p[name + ".weight"] = torch.randn(n_out, n_in) * (n_in ** -0.5)
        p[name + ".bias"] = torch.randn(n_out) * 0.1

    def ln(name):
        p[name + ".weight"] = 1.0 + torch.randn(d) * 0.2
        p[name + ".bias"] = torch.randn(d) * 0.1

    ln(e + "LayerNorm")
    for i in range(c["L"]):
        b = f"roberta.encoder.layer.{i}."
        for nm in ("query", "key", "value"):
            lin(b + "attention.self." + nm, d, d)
        lin(b + "attention.output.dense", d, d)
        ln(b + "attention.output.LayerNorm")
        lin(b + "intermediate.dense", ff, d)
        lin(b + "output.dense", d, ff)
        ln(b + "output.LayerNorm")
    lin("lm_head.dense", d, d)
    p["lm_head.layer_norm.weight"] = 1.0 + torch.randn(d) * 0.2
    p["lm_head.layer_norm.bias"] = torch.randn(d) * 0.1
    p["lm_head.bias"] = torch.randn(V) * 0.1
    return p


def roberta_forward(c, p, ids, attention_mask, act=F.gelu):
    d, H, eps, pad = c["d"], c["H"], 1e-5, 1
    hd = d // H
    T = ids.shape[0]
    mask = ids.ne(pad).int()
    pos = torch.cumsum(mask, 0).type_as(mask) * mask + pad
    e = "roberta.embeddings."
    x = (p[e + "word_embeddings.weight"][ids] + p[e + "position_embeddings.weight"][pos.long()]
         + p[e + "token_type_embeddings.weight"][torch.zeros(T, dtype=torch.long)])
    x = F.layer_norm(x, (d,), p[e + "LayerNorm.weight"], p[e + "LayerNorm.bias"], eps)
    ext = (1.0 - attention_mask.to(torch.float32)) * F32_MIN

    def linear(v, name):
        return v @ p[name + ".weight"].t() + p[name + ".bias"]

    atts = []
    for i in range(c["L"]):
        b = f"roberta.encoder.layer.{i}."
        a = b + "attention.self."
        q = linear(x, a + "query").view(T, H, hd).transpose(0, 1)
        k = linear(x, a + "key").view(T, H, hd).transpose(0, 1)
        v = linear(x, a + "value").view(T, H, hd).transpose(0, 1)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + ext, dim=-1)
        atts.append(w)
        h = linear((w @ v).transpose(0, 1).reshape(T, d), b + "attention.output.dense")
        x = F.layer_norm(x + h, (d,), p[b + "attention.output.LayerNorm.weight"],
                         p[b + "attention.output.LayerNorm.bias"], eps)
        h = linear(act(linear(x, b + "intermediate.dense")), b + "output.dense")
        x = F.layer_norm(x + h, (d,), p[b + "output.LayerNorm.weight"], p[b + "output.LayerNorm.bias"], eps)
    h = F.gelu(linear(x, "lm_head.dense"))  # RobertaLMHead: gelu, whatever hidden_act says
    h = F.layer_norm(h, (d,), p["lm_head.layer_norm.weight"], p["lm_head.layer_norm.bias"], eps)
    logits = h @ p[e + "word_embeddings.weight"].t() + p["lm_head.bias"]
    return torch.stack(atts), logits


def write_tokenizer(d, vocab, write_json):
    write_json(os.path.join(d, "vocab.json"), vocab)
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in MERGES:
            f.write(f"{a} {b}\n")


def tokenizer_json(vocab):
    """roberta-base's tokenizer.json, in the small: the byte-level BPE, the
    specials as added tokens (<mask> with lstrip), RobertaProcessing."""
    def added(content, lstrip=False):
        return {"id": vocab[content], "content": content, "single_word": False, "lstrip": lstrip,
                "rstrip": False, "normalized": content != "<mask>", "special": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added("<s>"), added("<pad>"), added("</s>"), added("<unk>"), added("<mask>", True)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", vocab["</s>"]], "cls": ["<s>", vocab["<s>"]],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in MERGES]},
    }


def make_roberta(fresh_dir, write_json, write_safetensors, save_npy, attention_stats):
    vocab = make_vocab()
    c = dict(d=32, ff=64, H=4, L=2, n_pos=34, V=len(vocab))
    p = roberta_params(c, 71)
    expected = [{"text": t, "ids": encode(t, vocab)} for t in TEXTS]
    ids = torch.tensor(expected[0]["ids"])
    T = ids.shape[0]
    n_pad = 3
    ids_pad = torch.cat([ids, torch.full((n_pad,), 1)])
    mask_pad = torch.cat([torch.ones(T, dtype=torch.int64), torch.zeros(n_pad, dtype=torch.int64)])
    # a pad token inside the text: the tokens after it keep counting without it
    ids_mid = ids.clone()
    ids_mid[3] = 1
    with torch.no_grad():
        att, logits = roberta_forward(c, p, ids, torch.ones(T, dtype=torch.int64))
        att_p, logits_p = roberta_forward(c, p, ids_pad, mask_pad)
        att_m, logits_m = roberta_forward(c, p, ids_mid, torch.ones(T, dtype=torch.int64))
    for name, arch, prefixed in (("roberta-tiny", "RobertaForMaskedLM", True),
                                 ("roberta-tiny-bare", "RobertaModel", False)):
        d = fresh_dir(name)
        write_json(os.path.join(d, "config.json"), roberta_config(c, arch))
        if prefixed:
            tensors = [(n, t, "F32") for n, t in p.items()]
        else:
            tensors = [(n[len("roberta."):], t, "F32") for n, t in p.items() if n.startswith("roberta.")]
        write_safetensors(os.path.join(d, "model.safetensors"), tensors)
        if prefixed:
            write_tokenizer(d, vocab, write_json)
        else:
            write_json(os.path.join(d, "tokenizer.json"), tokenizer_json(vocab))
        r = os.path.join(d, "reference")
        save_npy(os.path.join(r, "input_ids.npy"), ids.numpy(), np.int64)
        save_npy(os.path.join(r, "attentions.npy"), att.numpy(), np.float32)
        save_npy(os.path.join(r, "input_ids-padded.npy"), ids_pad.numpy(), np.int64)
        save_npy(os.path.join(r, "attention_mask.npy"), mask_pad.numpy(), np.int64)
        save_npy(os.path.join(r, "attentions-padded.npy"), att_p.numpy(), np.float32)
        save_npy(os.path.join(r, "input_ids-pad-inside.npy"), ids_mid.numpy(), np.int64)
        save_npy(os.path.join(r, "attentions-pad-inside.npy"), att_m.numpy(), np.float32)
        if prefixed:
            save_npy(os.path.join(r, "logits.npy"), logits.numpy(), np.float32)
            save_npy(os.path.join(r, "logits-padded.npy"), logits_p.numpy(), np.float32)
            save_npy(os.path.join(r, "logits-pad-inside.npy"), logits_m.numpy(), np.float32)
        write_json(os.path.join(r, "tokenization.json"), expected)
        write_json(os.path.join(r, "inputs.json"), {
            "input_ids": ids.tolist(), "text": TEXTS[0],
            "padded": {"input_ids": ids_pad.tolist(), "attention_mask": mask_pad.tolist(),
                       "note": "three <pad> (id 1) after </s> with attention_mask 0: they read position "
                               "row 1 (padding_idx); masked keys get finfo(float32).min"},
            "pad-inside": {"input_ids": ids_mid.tolist(),
                           "note": "token 3 is <pad>, attended: it reads row 1 and the tokens after it "
                                   "count their positions without it"},
            "reference": "tools/fixtures_roberta.py: transformers modeling_roberta eager semantics, float32",
        })
    # hidden_act relu: the layers take it, the LM head keeps GELU
    with torch.no_grad():
        att_r, logits_r = roberta_forward(c, p, ids, torch.ones(T, dtype=torch.int64), F.relu)
    d = fresh_dir("roberta-tiny-relu")
    config = roberta_config(c, "RobertaForMaskedLM")
    config["hidden_act"] = "relu"
    write_json(os.path.join(d, "config.json"), config)
    write_safetensors(os.path.join(d, "model.safetensors"), [(n, t, "F32") for n, t in p.items()])
    r = os.path.join(d, "reference")
    save_npy(os.path.join(r, "input_ids.npy"), ids.numpy(), np.int64)
    save_npy(os.path.join(r, "attentions.npy"), att_r.numpy(), np.float32)
    save_npy(os.path.join(r, "logits.npy"), logits_r.numpy(), np.float32)
    write_json(os.path.join(r, "inputs.json"), {
        "input_ids": ids.tolist(),
        "note": "hidden_act relu in the layers; RobertaLMHead still activates by gelu",
        "reference": "tools/fixtures_roberta.py: transformers modeling_roberta eager semantics, float32",
    })
    return {"roberta-tiny": attention_stats(att), "roberta-tiny-relu": attention_stats(att_r)}
