#!/usr/bin/python3
"""Random T5s written twice, as a Hugging Face folder and as GGUF in
llama.cpp's `t5` layout, with their PyTorch reference.

    /usr/bin/python3 tools/make-t5-gguf.py [OUT]     (default tests/fixtures)

Writes OUT/t5-gguf-tiny (ReLU, untied head, 3 encoder and 2 decoder layers:
llama.cpp cannot load more decoder layers than encoder ones)
and OUT/flan-t5-gguf-tiny (gated GELU, tied head, 2 and 2), each with

    hf/                  config.json, model.safetensors, tokenizer.json
                         (Unigram, nmt_nfkc's Precompiled normalizer, the
                         <extra_id_N> sentinels as special added tokens),
                         tokenizer_config.json
    model-f32.gguf       the same weights and tokenizer in llama.cpp's layout
                         (token_embd, enc.blk.N.*, dec.blk.N.*, attn_rel_b in
                         block 0 of each stack, output when untied; t5.*
                         metadata; tokenizer.ggml.model "t5" with scores,
                         token types and the precompiled charsmap)
    model-q8_0.gguf      t5-gguf-tiny only: every matrix whose rows split into
                         blocks of 32 in Q8_0 (the others F32), as llama.cpp's
                         quantizer leaves rows it cannot split
    reference/           source_ids, target_ids, encoder_attentions,
                         attentions (decoder self), cross_attentions, logits
                         (.npy, float32) from the PyTorch forward of
                         tools/fixtures_t5.py (transformers' modeling_t5)
    reference-q8_0/      t5-gguf-tiny only: the same on the Q8_0 file's
                         weights as dequantized
    tokenization.json    t5-gguf-tiny only: [{text, ids}]: SentencePiece's own ids (python3-
                         sentencepiece, nmt_nfkc) for strings with full-width
                         letters, ligatures, repeated spaces and sentinels; a
                         sentinel is matched whole and the text between is
                         encoded on its own, as Hugging Face's T5 tokenizer
                         does, then </s>

flan-t5-gguf-tiny's tokenizer has no normalizer and no charsmap (the
charsmap is 240 kB; one copy in the fixtures is enough).
Without OUT it also writes the GGUF fuzzers' T5 seed (write_fuzz_seed).
relative_attention_max_distance is 128, the value llama.cpp fixes (GGUF has
no key for it).  GGUF is written here directly (the format is small), so
the fixtures need neither llama.cpp nor its gguf-py.  Deterministic.
"""

import base64
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures_charsmap  # noqa: E402
import fixtures_t5  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_SENTINELS = 4
SPM_VOCAB = 96

STRINGS = [
    "The quick brown fox",
    "\uff34\uff48\uff45 \uff51\uff55\uff49\uff43\uff4b brown \uff26\uff4f\uff58",   # full-width letters
    "\ufb01ne \ufb02ow o\ufb03ce",                                               # fi, fl, ffi ligatures
    "many    spaces   between words",
    "  leading and trailing  ",
    "tabs\tand\nnewlines",
    "Translate English to German: <extra_id_0> house <extra_id_1>.",
    "<extra_id_3>the<extra_id_2> end",
    "caf\u00e9 cafe\u0301 \u00bd \u2460",
    *fixtures_charsmap.HARD_STRINGS,
    "",
    "x",
]

# --------------------------------------------------------------------------
# GGUF, version 3 (ggml's gguf.h): header, key/values, tensor infos, data

GGUF_UINT8, GGUF_INT32, GGUF_UINT32, GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 0, 5, 4, 6, 7, 8, 9
GGML_F32, GGML_Q8_0 = 0, 8
ALIGN = 32


def gguf_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf_value(kind, v):
    if kind == GGUF_STRING:
        return gguf_str(v)
    if kind == GGUF_BOOL:
        return struct.pack("<B", 1 if v else 0)
    return struct.pack({GGUF_UINT8: "<B", GGUF_INT32: "<i", GGUF_UINT32: "<I", GGUF_FLOAT32: "<f"}[kind], v)


def write_gguf(path, kvs, tensors):
    """kvs: [(key, kind, value) or (key, GGUF_ARRAY, (elem kind, [values]))];
    tensors: [(name, ggml type, ne (ne0 first), bytes)]."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)))
    for key, kind, value in kvs:
        out += gguf_str(key) + struct.pack("<I", kind)
        if kind == GGUF_ARRAY:
            ek, items = value
            out += struct.pack("<IQ", ek, len(items))
            for it in items:
                out += gguf_value(ek, it)
        else:
            out += gguf_value(kind, value)
    offset = 0
    for name, ttype, ne, data in tensors:
        out += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", ttype, offset)
        offset += len(data) + (-len(data)) % ALIGN
    out += b"\0" * ((-len(out)) % ALIGN)
    for _, _, _, data in tensors:
        out += data + b"\0" * ((-len(data)) % ALIGN)
    with open(path, "wb") as f:
        f.write(out)


def q8_0(t):
    """ggml's Q8_0 of a (rows, cols) tensor, cols % 32 == 0: per block of 32
    an F16 scale d = max |x| / 127 and 32 int8 round(x / d).  Returns (bytes,
    the dequantized tensor)."""
    x = t.detach().to(torch.float32).numpy().reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / 127.0).astype(np.float32)
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0).astype(np.float32)
    q = np.round(x * inv[:, None]).astype(np.int8)
    d16 = d.astype(np.float16)
    blocks = np.zeros(x.shape[0], dtype=[("d", "<f2"), ("q", "i1", 32)])
    blocks["d"] = d16
    blocks["q"] = q
    deq = (q.astype(np.float32) * d16.astype(np.float32)[:, None]).reshape(t.shape)
    return blocks.tobytes(), torch.from_numpy(deq)


# --------------------------------------------------------------------------
# the tokenizer

def train_tokenizer(tmp):
    import sentencepiece as spm
    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write(fixtures_t5.CORPUS)
    prefix = os.path.join(tmp, "t5-nfkc")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=SPM_VOCAB, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0,
        normalization_rule_name="nmt_nfkc", num_threads=1, seed_sentencepiece_size=2000,
        minloglevel=2)
    with open(prefix + ".model", "rb") as f:
        proto = normalizer_spec(f.read())
    return spm.SentencePieceProcessor(model_file=prefix + ".model"), proto


def normalizer_spec(model):
    """sentencepiece_model.proto's ModelProto.normalizer_spec (field 3):
    precompiled_charsmap (2), add_dummy_prefix (3, default true),
    remove_extra_whitespaces (4, default true); python3-sentencepiece has
    no protobuf module here to read it."""
    spec = types.SimpleNamespace(precompiled_charsmap=b"", add_dummy_prefix=True, remove_extra_whitespaces=True)
    for field, _, value in fixtures_charsmap.proto_fields(model):
        if field == 3:
            for f, _, v in fixtures_charsmap.proto_fields(value):
                if f == 2:
                    spec.precompiled_charsmap = bytes(v)
                elif f == 3:
                    spec.add_dummy_prefix = bool(v)
                elif f == 4:
                    spec.remove_extra_whitespaces = bool(v)
    return types.SimpleNamespace(normalizer_spec=spec)


def sentinel(i):
    return f"<extra_id_{i}>"


def sentinel_id(i):
    """T5's convention: <extra_id_0> is the last id."""
    return SPM_VOCAB + N_SENTINELS - 1 - i


def expected_ids(sp, text):
    ids = []
    for part in re.split(r"(<extra_id_\d+>)", text):
        m = re.fullmatch(r"<extra_id_(\d+)>", part)
        if m and int(m.group(1)) < N_SENTINELS:
            ids.append(sentinel_id(int(m.group(1))))
        elif part:
            ids += sp.encode(part)
    return ids + [1]


def tokenizer_json(sp, proto, nfkc):
    vocab = [[sp.id_to_piece(i), float(sp.get_score(i))] for i in range(SPM_VOCAB)]
    vocab += [[sentinel(N_SENTINELS - 1 - k), 0.0] for k in range(N_SENTINELS)]
    special = lambda i, s: {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}
    added = [special(0, "<pad>"), special(1, "</s>"), special(2, "<unk>")]
    added += [special(sentinel_id(i), sentinel(i)) for i in reversed(range(N_SENTINELS))]
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode("ascii")
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added,
        # what transformers' T5 conversion writes for an nmt_nfkc model
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]} if nfkc else None,
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


def tokenizer_kvs(sp, proto, nfkc):
    """What llama.cpp's converter writes (conversion/t5.py), the sentinels as
    it writes added_tokens.json's: user-defined, score -1000."""
    tokens, scores, types = [], [], []
    for i in range(SPM_VOCAB):
        tokens.append(sp.id_to_piece(i))
        scores.append(float(sp.get_score(i)))
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else 1)
    for k in range(N_SENTINELS):
        tokens.append(sentinel(N_SENTINELS - 1 - k))
        scores.append(-1000.0)
        types.append(4)
    return [
        ("tokenizer.ggml.model", GGUF_STRING, "t5"),
        ("tokenizer.ggml.pre", GGUF_STRING, "default"),
        ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, tokens)),
        ("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_FLOAT32, scores)),
        ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_INT32, types)),
        ("tokenizer.ggml.add_space_prefix", GGUF_BOOL, proto.normalizer_spec.add_dummy_prefix),
        ("tokenizer.ggml.remove_extra_whitespaces", GGUF_BOOL, proto.normalizer_spec.remove_extra_whitespaces),
    ] + ([
        ("tokenizer.ggml.precompiled_charsmap", GGUF_ARRAY,
         (GGUF_UINT8, list(proto.normalizer_spec.precompiled_charsmap)))] if nfkc else []) + [
        ("tokenizer.ggml.eos_token_id", GGUF_UINT32, 1),
        ("tokenizer.ggml.unknown_token_id", GGUF_UINT32, 2),
        ("tokenizer.ggml.padding_token_id", GGUF_UINT32, 0),
    ]


# --------------------------------------------------------------------------
# the model

def gguf_name(hf):
    """Hugging Face tensor name -> llama.cpp's (gguf-py's tensor_mapping)."""
    if hf == "shared.weight":
        return "token_embd.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    m = re.fullmatch(r"(encoder|decoder)\.final_layer_norm\.weight", hf)
    if m:
        return ("enc" if m.group(1) == "encoder" else "dec") + ".output_norm.weight"
    m = re.fullmatch(r"(encoder|decoder)\.block\.(\d+)\.layer\.(\d)\.(.*)\.weight", hf)
    stack, i, j, rest = m.group(1), m.group(2), int(m.group(3)), m.group(4)
    s = "enc" if stack == "encoder" else "dec"
    mlp = 1 if stack == "encoder" else 2
    table = {
        (0, "layer_norm"): "attn_norm", (0, "SelfAttention.q"): "attn_q", (0, "SelfAttention.k"): "attn_k",
        (0, "SelfAttention.v"): "attn_v", (0, "SelfAttention.o"): "attn_o",
        (0, "SelfAttention.relative_attention_bias"): "attn_rel_b",
        (mlp, "layer_norm"): "ffn_norm", (mlp, "DenseReluDense.wi"): "ffn_up",
        (mlp, "DenseReluDense.wi_0"): "ffn_gate", (mlp, "DenseReluDense.wi_1"): "ffn_up",
        (mlp, "DenseReluDense.wo"): "ffn_down",
    }
    if stack == "decoder":
        table.update({(1, "layer_norm"): "cross_attn_norm", (1, "EncDecAttention.q"): "cross_attn_q",
                      (1, "EncDecAttention.k"): "cross_attn_k", (1, "EncDecAttention.v"): "cross_attn_v",
                      (1, "EncDecAttention.o"): "cross_attn_o"})
    return f"{s}.blk.{i}.{table[(j, rest)]}.weight"


def model_kvs(c, name):
    return [
        ("general.architecture", GGUF_STRING, "t5"),
        ("general.name", GGUF_STRING, name),
        ("t5.context_length", GGUF_UINT32, c["n_positions"]),
        ("t5.embedding_length", GGUF_UINT32, c["d_model"]),
        ("t5.feed_forward_length", GGUF_UINT32, c["d_ff"]),
        ("t5.block_count", GGUF_UINT32, c["num_layers"]),
        ("t5.decoder_block_count", GGUF_UINT32, c["num_decoder_layers"]),
        ("t5.attention.head_count", GGUF_UINT32, c["num_heads"]),
        ("t5.attention.key_length", GGUF_UINT32, c["d_kv"]),
        ("t5.attention.value_length", GGUF_UINT32, c["d_kv"]),
        ("t5.attention.layer_norm_epsilon", GGUF_FLOAT32, c["layer_norm_epsilon"]),
        ("t5.attention.relative_buckets_count", GGUF_UINT32, c["relative_attention_num_buckets"]),
        ("t5.attention.layer_norm_rms_epsilon", GGUF_FLOAT32, c["layer_norm_epsilon"]),
        ("t5.decoder_start_token_id", GGUF_UINT32, c["decoder_start_token_id"]),
    ]


def gguf_tensors(p, quantize):
    """[(name, type, ne, bytes)] and the weights as the file holds them."""
    out, held = [], {}
    for hf, t in p.items():
        t = t.detach().to(torch.float32).contiguous()
        ne = list(reversed(t.shape))
        if quantize and t.dim() == 2 and t.shape[1] % 32 == 0 and "relative_attention_bias" not in hf:
            data, held[hf] = q8_0(t)
            out.append((gguf_name(hf), GGML_Q8_0, ne, data))
        else:
            held[hf] = t
            out.append((gguf_name(hf), GGML_F32, ne, t.numpy().astype("<f4").tobytes()))
    return out, held


def save_reference(d, c, p, src, tgt):
    os.makedirs(d)
    with torch.no_grad():
        enc, dec, cross, logits = fixtures_t5.t5_forward(c, p, src, tgt)
    for name, arr, dt in (("source_ids", src.numpy(), np.int64), ("target_ids", tgt.numpy(), np.int64),
                          ("encoder_attentions", enc.numpy(), np.float32), ("attentions", dec.numpy(), np.float32),
                          ("cross_attentions", cross.numpy(), np.float32), ("logits", logits.numpy(), np.float32)):
        np.save(os.path.join(d, name + ".npy"), np.ascontiguousarray(arr.astype(dt)))


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def make(out, name, ff, tied, n_enc, n_dec, seed, sp, proto, with_q8):
    """WITH_Q8: also the Q8_0 file, and the tokenizer with nmt_nfkc's
    charsmap (240 kB) and its expected ids; otherwise no normalizer."""
    c = fixtures_t5.t5_config(ff, tied, n_enc, n_dec, name)
    c["vocab_size"] = SPM_VOCAB + N_SENTINELS
    c["relative_attention_max_distance"] = 128
    c["relative_attention_num_buckets"] = 8
    p = fixtures_t5.t5_params(c, seed)
    d = os.path.join(out, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    hf = os.path.join(d, "hf")
    os.makedirs(hf)
    write_json(os.path.join(hf, "config.json"), c)
    write_safetensors(os.path.join(hf, "model.safetensors"), p)
    write_json(os.path.join(hf, "tokenizer.json"), tokenizer_json(sp, proto, with_q8))
    write_json(os.path.join(hf, "tokenizer_config.json"), {
        "tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "model_max_length": 512, "extra_ids": N_SENTINELS})
    kvs = model_kvs(c, name) + tokenizer_kvs(sp, proto, with_q8)
    tensors, _ = gguf_tensors(p, False)
    write_gguf(os.path.join(d, "model-f32.gguf"), kvs + [("general.file_type", GGUF_UINT32, 0)], tensors)
    # S = 23: distances past the 8 buckets' exact range reach the logarithmic ones
    src = torch.tensor([5, 17, 33, 8, 61, 42, 9, 77, 23, 14, 50, 88, 31, 12, 7, 66, 45, 29, 90, 11, 38, 54, 1])
    tgt = torch.tensor([0, 44, 13, 70, 26, 9, 81, 35, 18, 62, 3, 57, 20, 48, 93, 15, 39, 74, 6, 28, 85, 52])
    save_reference(os.path.join(d, "reference"), c, p, src, tgt)
    if with_q8:
        tensors, held = gguf_tensors(p, True)
        write_gguf(os.path.join(d, "model-q8_0.gguf"), kvs + [("general.file_type", GGUF_UINT32, 7)], tensors)
        save_reference(os.path.join(d, "reference-q8_0"), c, held, src, tgt)
        write_json(os.path.join(d, "tokenization.json"),
                   [{"text": s, "ids": expected_ids(sp, s)} for s in STRINGS])


def write_safetensors(path, p):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in p.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_fuzz_seed(path):
    """A T5 small enough for the GGUF fuzzers (under their 64 KiB inputs):
    d_model 8, 2 heads of 4, 1 encoder and 1 decoder layer, 4 buckets, a
    16-piece "t5" vocabulary with a sentinel and a small real charsmap
    (fixtures_charsmap.rules_model's: attnviz applies the map, so it is
    fuzzed too)."""
    c = fixtures_t5.t5_config("gated-gelu", False, 1, 1, "t5-fuzz-seed")
    c.update(d_model=8, d_kv=4, num_heads=2, d_ff=8, vocab_size=16, relative_attention_num_buckets=4,
             relative_attention_max_distance=128)
    p = fixtures_t5.t5_params(c, 7)
    pieces = ["<pad>", "</s>", "<unk>", "\u2581", "\u2581the", "e", "t", "h", "a", "\u2581a", "s", "n", "o", "r",
              "\u2581to", "<extra_id_0>"]
    types = [3, 3, 2] + [1] * 12 + [4]
    scores = [0.0, 0.0, 0.0] + [-1.0 - 0.25 * i for i in range(12)] + [-1000.0]
    kvs = model_kvs(c, "t5-fuzz-seed") + [
        ("tokenizer.ggml.model", GGUF_STRING, "t5"),
        ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, pieces)),
        ("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_FLOAT32, scores)),
        ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_INT32, types)),
        ("tokenizer.ggml.precompiled_charsmap", GGUF_ARRAY, (GGUF_UINT8, list(fixtures_charsmap.rules_model()[1]))),
    ]
    tensors, _ = gguf_tensors(p, False)
    write_gguf(path, kvs, tensors)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        sp, proto = train_tokenizer(tmp)
        make(out, "t5-gguf-tiny", "relu", False, 3, 2, 61, sp, proto, True)
        make(out, "flan-t5-gguf-tiny", "gated-gelu", True, 2, 2, 62, sp, proto, False)
    print(f"wrote t5-gguf-tiny and flan-t5-gguf-tiny under {out}")
    if len(sys.argv) == 1:
        for harness in ("gguf", "tokenizer-gguf"):
            write_fuzz_seed(os.path.join(ROOT, "tests", "fuzz", "corpus", harness, "model-t5.gguf"))
        print("wrote the fuzzers' T5 seed, tests/fuzz/corpus/{gguf,tokenizer-gguf}/model-t5.gguf")


if __name__ == "__main__":
    main()
