"""T5 / Flan-T5 reference fixtures for tools/make-fixtures.py.

A random-weight T5ForConditionalGeneration in Hugging Face layout (the
tensor names and config.json fields of transformers' modeling_t5 /
configuration_t5) and what transformers' eager implementation outputs for
it, computed here step by step after modeling_t5:

- T5LayerNorm: x * rsqrt(mean(x^2) + eps) * w (no mean, no bias);
- T5Attention: scores = q k^T (no 1/sqrt(d)), plus the relative position
  bias of the stack's first layer (compute_bias: the bucket of
  memory_position - context_position, bidirectional in the encoder, causal
  in the decoder), plus the causal mask in the decoder; softmax in float32;
- T5DenseActDense (relu: wo(relu(wi x))) or T5DenseGatedActDense
  (gated-gelu: wo(gelu_new(wi_0 x) * wi_1 x));
- a final_layer_norm after each stack; the LM head on the decoder output,
  times d_model^-0.5 first when tie_word_embeddings.

The relative bucket function is transformers' _relative_position_bucket
verbatim (torch ops, float32), checked against a table of hand-computed
buckets (the same table tests/test-t5.c checks attnviz's against).
"""

import math
import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

T5_NAMES = ["t5-tiny", "flan-t5-tiny"]

# (relative position j - i, bidirectional, buckets, max distance, bucket):
# worked out by hand from the definition (see tests/test-t5.c).
BUCKET_TABLE = [
    (0, True, 32, 128, 0), (-1, True, 32, 128, 1), (1, True, 32, 128, 17),
    (-7, True, 32, 128, 7), (7, True, 32, 128, 23), (-12, True, 32, 128, 9),
    (-30, True, 32, 128, 11), (50, True, 32, 128, 29), (-127, True, 32, 128, 15),
    (-500, True, 32, 128, 15), (500, True, 32, 128, 31),
    (0, False, 32, 128, 0), (5, False, 32, 128, 0), (-1, False, 32, 128, 1),
    (-15, False, 32, 128, 15), (-20, False, 32, 128, 17), (-40, False, 32, 128, 23),
    (-70, False, 32, 128, 27), (-127, False, 32, 128, 31), (-1000, False, 32, 128, 31),
    (-3, True, 8, 20, 2), (3, True, 8, 20, 6), (-9, True, 8, 20, 3),
    (-3, False, 8, 20, 3), (-5, False, 8, 20, 4), (-19, False, 8, 20, 7),
]


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """transformers.models.t5.modeling_t5.T5Attention._relative_position_bucket."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
    )
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def check_bucket_table():
    for rel, bidi, nb, md, want in BUCKET_TABLE:
        got = int(relative_position_bucket(torch.tensor([rel]), bidi, nb, md)[0])
        assert got == want, (rel, bidi, nb, md, got, want)


def compute_bias(table, q_len, k_len, bidirectional, nb, md):
    """T5Attention.compute_bias: (H, q_len, k_len)."""
    context = torch.arange(q_len, dtype=torch.long)[:, None]
    memory = torch.arange(k_len, dtype=torch.long)[None, :]
    buckets = relative_position_bucket(memory - context, bidirectional, nb, md)
    return table[buckets].permute(2, 0, 1)


def t5_norm(x, w, eps):
    var = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def attention(p, prefix, xq, xkv, H, dk, bias, causal):
    """One T5Attention: its output (Tq, d) and probabilities (H, Tq, Tk)."""
    Tq, Tk = xq.shape[0], xkv.shape[0]
    q = (xq @ p[prefix + ".q.weight"].T).view(Tq, H, dk).transpose(0, 1)
    k = (xkv @ p[prefix + ".k.weight"].T).view(Tk, H, dk).transpose(0, 1)
    v = (xkv @ p[prefix + ".v.weight"].T).view(Tk, H, dk).transpose(0, 1)
    scores = q @ k.transpose(1, 2)
    if bias is not None:
        scores = scores + bias
    if causal:
        mask = torch.triu(torch.ones(Tq, Tk, dtype=torch.bool), 1)
        scores = scores + torch.where(mask, torch.finfo(torch.float32).min, 0.0)
    w = F.softmax(scores.float(), dim=-1)
    out = (w @ v).transpose(0, 1).reshape(Tq, H * dk)
    return out @ p[prefix + ".o.weight"].T, w


def mlp(p, prefix, x, gated):
    if gated:
        h = gelu_new(x @ p[prefix + ".wi_0.weight"].T) * (x @ p[prefix + ".wi_1.weight"].T)
    else:
        h = torch.relu(x @ p[prefix + ".wi.weight"].T)
    return h @ p[prefix + ".wo.weight"].T


def t5_forward(c, p, src, tgt):
    H, dk, eps = c["num_heads"], c["d_kv"], c["layer_norm_epsilon"]
    nb, md = c["relative_attention_num_buckets"], c["relative_attention_max_distance"]
    gated = c["feed_forward_proj"].startswith("gated")
    emb = p["shared.weight"]

    x = emb[src]
    S = x.shape[0]
    bias = compute_bias(p["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], S, S, True, nb, md)
    enc_att = []
    for i in range(c["num_layers"]):
        b = f"encoder.block.{i}.layer."
        h, w = attention(p, b + "0.SelfAttention", t5_norm(x, p[b + "0.layer_norm.weight"], eps),
                         t5_norm(x, p[b + "0.layer_norm.weight"], eps), H, dk, bias, False)
        x = x + h
        enc_att.append(w)
        x = x + mlp(p, b + "1.DenseReluDense", t5_norm(x, p[b + "1.layer_norm.weight"], eps), gated)
    enc = t5_norm(x, p["encoder.final_layer_norm.weight"], eps)

    y = emb[tgt]
    T = y.shape[0]
    bias = compute_bias(p["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], T, T, False, nb, md)
    dec_att, cross_att = [], []
    for i in range(c["num_decoder_layers"]):
        b = f"decoder.block.{i}.layer."
        hn = t5_norm(y, p[b + "0.layer_norm.weight"], eps)
        h, w = attention(p, b + "0.SelfAttention", hn, hn, H, dk, bias, True)
        y = y + h
        dec_att.append(w)
        h, w = attention(p, b + "1.EncDecAttention", t5_norm(y, p[b + "1.layer_norm.weight"], eps), enc,
                         H, dk, None, False)
        y = y + h
        cross_att.append(w)
        y = y + mlp(p, b + "2.DenseReluDense", t5_norm(y, p[b + "2.layer_norm.weight"], eps), gated)
    y = t5_norm(y, p["decoder.final_layer_norm.weight"], eps)
    if c["tie_word_embeddings"]:
        y = y * (c["d_model"] ** -0.5)
        logits = y @ emb.T
    else:
        logits = y @ p["lm_head.weight"].T
    return torch.stack(enc_att), torch.stack(dec_att), torch.stack(cross_att), logits


def t5_config(ff, tied, n_enc, n_dec, name):
    return {
        "_name_or_path": name,
        "architectures": ["T5ForConditionalGeneration"],
        "classifier_dropout": 0.0,
        "d_ff": 48,
        "d_kv": 8,
        "d_model": 32,
        "decoder_start_token_id": 0,
        "dense_act_fn": "gelu_new" if ff == "gated-gelu" else "relu",
        "dropout_rate": 0.1,
        "eos_token_id": 1,
        "feed_forward_proj": ff,
        "initializer_factor": 1.0,
        "is_encoder_decoder": True,
        "is_gated_act": ff.startswith("gated"),
        "layer_norm_epsilon": 1e-06,
        "model_type": "t5",
        "n_positions": 512,
        "num_decoder_layers": n_dec,
        "num_heads": 4,
        "num_layers": n_enc,
        "output_past": True,
        "pad_token_id": 0,
        "relative_attention_max_distance": 20,
        "relative_attention_num_buckets": 8,
        "tie_word_embeddings": tied,
        "torch_dtype": "float32",
        "transformers_version": "4.40.0",
        "use_cache": True,
        "vocab_size": 96,
    }


def t5_params(c, seed):
    torch.manual_seed(seed)
    d, ff, H, dk, V = c["d_model"], c["d_ff"], c["num_heads"], c["d_kv"], c["vocab_size"]
    nb = c["relative_attention_num_buckets"]
    gated = c["feed_forward_proj"].startswith("gated")
    p = {"shared.weight": torch.randn(V, d) * 1.0}

    def attn(prefix):
        for n in "qkv":
            p[f"{prefix}.{n}.weight"] = torch.randn(H * dk, d) * (d ** -0.5)
        p[f"{prefix}.o.weight"] = torch.randn(d, H * dk) * ((H * dk) ** -0.5)

    def ffn(prefix):
        if gated:
            p[prefix + ".wi_0.weight"] = torch.randn(ff, d) * (d ** -0.5)
            p[prefix + ".wi_1.weight"] = torch.randn(ff, d) * (d ** -0.5)
        else:
            p[prefix + ".wi.weight"] = torch.randn(ff, d) * (d ** -0.5)
        p[prefix + ".wo.weight"] = torch.randn(d, ff) * (ff ** -0.5)

    for stack, n, sub in (("encoder", c["num_layers"], 2), ("decoder", c["num_decoder_layers"], 3)):
        for i in range(n):
            b = f"{stack}.block.{i}.layer."
            attn(b + "0.SelfAttention")
            if i == 0:
                # large enough that the bias visibly shapes the attention
                p[b + "0.SelfAttention.relative_attention_bias.weight"] = torch.randn(nb, H) * 2.0
            for j in range(sub):
                p[f"{b}{j}.layer_norm.weight"] = 1.0 + torch.randn(d) * 0.2
            if stack == "decoder":
                attn(b + "1.EncDecAttention")
            ffn(b + f"{sub - 1}.DenseReluDense")
        p[f"{stack}.final_layer_norm.weight"] = 1.0 + torch.randn(d) * 0.2
    if not c["tie_word_embeddings"]:
        p["lm_head.weight"] = torch.randn(V, d) * (d ** -0.5)
    return p


def make_t5(fresh_dir, write_json, write_safetensors, save_npy, attention_stats):
    """Writes tests/fixtures/{t5-tiny,flan-t5-tiny}; returns their statistics."""
    check_bucket_table()
    stats = {}
    with tempfile.TemporaryDirectory() as tmp:
        tok, expected = unigram_tokenizer(tmp)
    # S = 23 source tokens: distances past max_distance (20) reach the last bucket
    src = torch.tensor([5, 17, 33, 8, 61, 42, 9, 77, 23, 14, 50, 88, 31, 12, 7, 66, 45, 29, 90, 11, 38, 54, 1])
    tgt = torch.tensor([0, 44, 13, 70, 26, 9, 81, 35, 18, 62, 3, 57, 20, 48, 93, 15, 39, 74, 6, 28, 85, 52])
    for name, ff, tied, n_enc, n_dec, seed in (("t5-tiny", "relu", True, 2, 2, 51),
                                                ("flan-t5-tiny", "gated-gelu", False, 2, 3, 52)):
        c = t5_config(ff, tied, n_enc, n_dec, name)
        p = t5_params(c, seed)
        with torch.no_grad():
            enc, dec, cross, logits = t5_forward(c, p, src, tgt)
        d = fresh_dir(name)
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
            "reference": "tools/fixtures_t5.py: transformers modeling_t5 eager semantics, float32",
        })
        stats[name] = attention_stats(enc)
        write_json(os.path.join(d, "tokenizer.json"), tok)
        write_json(os.path.join(d, "tokenizer_config.json"), {
            "tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "unk_token": "<unk>",
            "pad_token": "<pad>", "model_max_length": 512, "extra_ids": 0})
        write_json(os.path.join(r, "tokenization.json"), expected)
    return stats


# --------------------------------------------------------------------------
# the Unigram tokenizer: SentencePiece trains it, and its own encoder gives
# the expected ids

CORPUS = """The quick brown fox jumps over the lazy dog.
Attention is all you need: the encoder reads the source, the decoder writes the target.
A translation model aligns source words with target words through cross-attention.
Translate English to German: the house is wonderful.
Sequence to sequence models learn to map one sentence onto another one.
Multi-head attention lets every head look at different positions of the input.
The relative position bias of T5 replaces absolute positions with buckets of distances.
Heads in the first layer often attend to the previous or the next token.
""" * 4

TOKENIZER_STRINGS = [
    "The quick brown fox",
    "attention heads attend",
    "  leading and trailing spaces  ",
    "many    spaces between words",  # (tabs and newlines: T5's nmt_nfkc makes them spaces; identity does not)
    "Translate English to German: the house is wonderful.",
    "unknown characters: Zürich, 東京, and ☃!",
    "xyzzy qqq",
    "",
    "a",
]


def unigram_tokenizer(tmpdir):
    """Trains a 96-piece SentencePiece Unigram model with T5's special ids;
    returns (tokenizer.json object, [(text, ids)])."""
    import sentencepiece as spm
    corpus = os.path.join(tmpdir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write(CORPUS)
    prefix = os.path.join(tmpdir, "t5-unigram")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=96, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0,
        normalization_rule_name="identity", num_threads=1, seed_sentencepiece_size=2000,
        minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    vocab = [[sp.id_to_piece(i), float(sp.get_score(i))] for i in range(sp.get_piece_size())]
    special = lambda i, s: {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(0, "<pad>"), special(1, "</s>"), special(2, "<unk>")],
        # trained with the identity normalization: T5's own files hold a
        # Precompiled (nmt_nfkc) map here (tools/make-t5-gguf.py's fixture
        # has one, and checks attnviz applies it as SentencePiece does)
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": False},
    }
    expected = [{"text": s, "ids": sp.encode(s) + [1]} for s in TOKENIZER_STRINGS]
    return tok, expected
