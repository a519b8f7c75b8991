"""Marian (Helsinki-NLP opus-mt) reference fixture for tools/make-fixtures.py.

A random-weight MarianMTModel in Hugging Face layout, with real
SentencePiece models: source.spm and target.spm are trained here by
python3-sentencepiece on a small English and German text, vocab.json maps
the pieces of both to the model's ids as an opus-mt folder does ("</s>" 0,
"<unk>" 1, the pieces, "<pad>" last).  SentencePiece's own encode writes
the expected ids of a set of strings (reference/tokenization.json): the
source.spm ids, and MarianTokenizer's ids (each piece's vocab.json id, an
unknown piece "<unk>", then "</s>").

What transformers' eager modeling_marian outputs for the weights, step by
step: token embeddings times sqrt(d_model) (scale_embedding) plus
MarianSinusoidalPositionalEmbedding (sin in the first d/2 dimensions, cos
in the second, not interleaved; positions from 0), no layernorm_embedding,
post-norm layers: x = LN(x + attn(x)), in the decoder x = LN(x +
cross(x, enc)), x = LN(x + fc2(swish(fc1(x)))); MarianAttention scales q
by head_dim^-0.5; logits = x @ shared.T + final_logits_bias.  The decoder
starts from decoder_start_token_id, the pad token.
"""

import io
import math
import os

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

# Marian's layers are BART's (transformers copies modeling_bart into
# modeling_marian): the same reference functions, beside this script
from fixtures_bart import attention, layer_norm, linear  # noqa: E402
import fixtures_charsmap  # noqa: E402

MARIAN_NAMES = ["marian-tiny"]

# Enough text for a few dozen pieces of each language; the fixture's model
# is random, so the texts need not be translations of each other.
SOURCE_TEXT = """The cat sat on the mat.
The dog sat on the log.
A small house stands by the river.
The river runs to the sea.
We see the sea from the house.
She reads a book in the garden.
He writes a letter to his mother.
The children play in the park after school.
My brother lives in a big city.
The city is loud at night.
I like green tea and fresh bread.
They walk to the station every morning.
The train leaves at seven o'clock.
Where is the old bridge?
The weather is cold and the sky is grey.
Our teacher speaks three languages.
The garden has red and yellow flowers.
Please open the window, it is warm.
The book on the table is mine.
We will meet again tomorrow evening.
""".splitlines()

TARGET_TEXT = """Die Katze sass auf der Matte.
Der Hund sass auf dem Baumstamm.
Ein kleines Haus steht am Fluss.
Der Fluss fliesst zum Meer.
Wir sehen das Meer vom Haus aus.
Sie liest ein Buch im Garten.
Er schreibt seiner Mutter einen Brief.
Die Kinder spielen nach der Schule im Park.
Mein Bruder wohnt in einer grossen Stadt.
Die Stadt ist nachts laut.
Ich mag gruenen Tee und frisches Brot.
Sie gehen jeden Morgen zum Bahnhof.
Der Zug faehrt um sieben Uhr ab.
Wo ist die alte Bruecke?
Das Wetter ist kalt und der Himmel ist grau.
Unser Lehrer spricht drei Sprachen.
Der Garten hat rote und gelbe Blumen.
Bitte oeffne das Fenster, es ist warm.
Das Buch auf dem Tisch ist meins.
Wir treffen uns morgen Abend wieder.
""".splitlines()

# Strings whose segmentation attnviz must reproduce: plain sentences,
# words the training text never had (pieces, then single characters),
# characters no piece has (the unknown piece, fused when adjacent), extra
# white space (removed by SentencePiece's normalizer), digits.
TOKENIZE_STRINGS = [
    "The cat sat on the mat.",
    "The children read a letter in the garden.",
    "Bridges and flowers, rivers and seas!",
    "unbelievably quick zebras",
    "  extra   spaces  here ",
    "Seven o'clock: 7 trains.",
    "QWERTY xyz",
    "Zug nach Koeln",
    "naïve café über 北京",
    "a\u00e6\u00f8b \u263a\u263a c",
    *fixtures_charsmap.HARD_STRINGS,
    "",
    "mat",
]

SOURCE_SENTENCE = "The children play in the garden."

# The positions attnviz's pos=shuffled:7 gives the 16 source and the 14
# target tokens (Fisher-Yates with GLib's seeded GRand,
# attnviz_variant_positions); test-marian checks attnviz still makes these.
SHUFFLED_7_SOURCE = [8, 2, 6, 0, 1, 9, 3, 12, 5, 11, 10, 14, 4, 13, 7, 15]
SHUFFLED_7_TARGET = [10, 0, 13, 2, 8, 4, 11, 7, 6, 3, 9, 1, 12, 5]


def train_spm(lines, vocab_size):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", character_coverage=1.0, num_threads=1, seed_sentencepiece_size=10000,
        shuffle_input_sentence=False, minloglevel=2)
    return model.getvalue()


def sinusoids(n_pos, dim):
    """MarianSinusoidalPositionalEmbedding._init_weight, float64 then float32."""
    position_enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)]
                             for pos in range(n_pos)])
    out = torch.empty(n_pos, dim)
    sentinel = dim // 2 if dim % 2 == 0 else (dim // 2) + 1
    out[:, 0:sentinel] = torch.FloatTensor(np.sin(position_enc[:, 0::2]))
    out[:, sentinel:] = torch.FloatTensor(np.cos(position_enc[:, 1::2]))
    return out


def marian_forward(c, p, src, tgt, src_pos=None, tgt_pos=None, positions=True):
    """SRC_POS, TGT_POS: each token's position (default 0, 1, ...);
    POSITIONS False: no sinusoids at all (attnviz's pos=none)."""
    H, d = c["encoder_attention_heads"], c["d_model"]
    scale = math.sqrt(d) if c["scale_embedding"] else 1.0
    emb = p["model.shared.weight"]
    table = sinusoids(c["max_position_embeddings"], d)

    def embed(ids, pos):
        if not positions:
            return emb[ids] * scale
        pos = torch.arange(ids.shape[0]) if pos is None else torch.tensor(pos)
        return emb[ids] * scale + table[pos]

    x = embed(src, src_pos)
    enc_att = []
    for i in range(c["encoder_layers"]):
        b = f"model.encoder.layers.{i}."
        h, w = attention(p, b + "self_attn", x, x, H, False)
        x = layer_norm(x + h, p, b + "self_attn_layer_norm")
        enc_att.append(w)
        h = linear(F.silu(linear(x, p, b + "fc1")), p, b + "fc2")
        x = layer_norm(x + h, p, b + "final_layer_norm")
    enc = x

    y = embed(tgt, tgt_pos)
    dec_att, cross_att = [], []
    for i in range(c["decoder_layers"]):
        b = f"model.decoder.layers.{i}."
        h, w = attention(p, b + "self_attn", y, y, H, True)
        y = layer_norm(y + h, p, b + "self_attn_layer_norm")
        dec_att.append(w)
        h, w = attention(p, b + "encoder_attn", y, enc, H, False)
        y = layer_norm(y + h, p, b + "encoder_attn_layer_norm")
        cross_att.append(w)
        h = linear(F.silu(linear(y, p, b + "fc1")), p, b + "fc2")
        y = layer_norm(y + h, p, b + "final_layer_norm")
    logits = y @ emb.T + p["final_logits_bias"][0]
    return torch.stack(enc_att), torch.stack(dec_att), torch.stack(cross_att), logits


def marian_config(V):
    pad = V - 1
    return {
        "_name_or_path": "marian-tiny",
        "activation_dropout": 0.0, "activation_function": "swish", "add_bias_logits": False,
        "add_final_layer_norm": False, "architectures": ["MarianMTModel"], "attention_dropout": 0.0,
        "bad_words_ids": [[pad]], "bos_token_id": 0, "classif_dropout": 0.0, "classifier_dropout": 0.0,
        "d_model": 32, "decoder_attention_heads": 4, "decoder_ffn_dim": 48, "decoder_layerdrop": 0.0,
        "decoder_layers": 2, "decoder_start_token_id": pad, "decoder_vocab_size": V, "dropout": 0.1,
        "encoder_attention_heads": 4, "encoder_ffn_dim": 48, "encoder_layerdrop": 0.0, "encoder_layers": 2,
        "eos_token_id": 0, "extra_pos_embeddings": V, "forced_eos_token_id": 0, "id2label": {"0": "LABEL_0"},
        "init_std": 0.02, "is_encoder_decoder": True, "label2id": {"LABEL_0": 0}, "max_length": 64,
        "max_position_embeddings": 64, "model_type": "marian", "normalize_before": False,
        "normalize_embedding": False, "num_beams": 1, "num_hidden_layers": 2, "pad_token_id": pad,
        "scale_embedding": True, "share_encoder_decoder_embeddings": True, "static_position_embeddings": True,
        "torch_dtype": "float32", "transformers_version": "4.40.0", "use_cache": True, "vocab_size": V,
    }


def marian_params(c, seed):
    torch.manual_seed(seed)
    d, ff, V = c["d_model"], c["encoder_ffn_dim"], c["vocab_size"]
    shared = torch.randn(V, d) * 0.3
    shared[c["pad_token_id"]] = 0.0   # nn.Embedding's padding_idx row, as in opus-mt
    p = {"model.shared.weight": shared}

    def lin(name, n_out, n_in):
        p[name + ".weight"] = torch.randn(n_out, n_in) * (n_in ** -0.5)
        p[name + ".bias"] = torch.randn(n_out) * 0.1

    def ln(name):
        p[name + ".weight"] = 1.0 + torch.randn(d) * 0.2
        p[name + ".bias"] = torch.randn(d) * 0.1

    for stack, layers in (("model.encoder", c["encoder_layers"]), ("model.decoder", c["decoder_layers"])):
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


def marian_vocab(source, target):
    """opus-mt's vocab.json: "</s>", "<unk>", the pieces of both models in
    order (source first), "<pad>" last."""
    vocab = {"</s>": 0, "<unk>": 1}
    for sp in (source, target):
        for i in range(sp.get_piece_size()):
            if sp.is_control(i) or sp.is_unknown(i):
                continue
            vocab.setdefault(sp.id_to_piece(i), len(vocab))
    vocab["<pad>"] = len(vocab)
    return vocab


def marian_ids(sp, vocab, text):
    """MarianTokenizer: the source pieces' vocab.json ids (unknown: "<unk>"), then "</s>"."""
    return [vocab.get(piece, vocab["<unk>"]) for piece in sp.encode(text, out_type=str)] + [vocab["</s>"]]


def make_marian(fresh_dir, write_json, write_safetensors, save_npy, attention_stats):
    src_model = train_spm(SOURCE_TEXT, 120)
    tgt_model = train_spm(TARGET_TEXT, 120)
    source = spm.SentencePieceProcessor(model_proto=src_model)
    target = spm.SentencePieceProcessor(model_proto=tgt_model)
    vocab = marian_vocab(source, target)
    c = marian_config(len(vocab))
    p = marian_params(c, 67)

    d = fresh_dir("marian-tiny")
    with open(os.path.join(d, "source.spm"), "wb") as f:
        f.write(src_model)
    with open(os.path.join(d, "target.spm"), "wb") as f:
        f.write(tgt_model)
    write_json(os.path.join(d, "vocab.json"), vocab)
    write_json(os.path.join(d, "special_tokens_map.json"),
               {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "model_max_length": 512,
        "source_lang": "en", "target_lang": "de", "separate_vocabs": False,
        "tokenizer_class": "MarianTokenizer"})
    write_json(os.path.join(d, "config.json"), c)
    write_safetensors(os.path.join(d, "model.safetensors"), [(n, t, "F32") for n, t in p.items()])

    src = torch.tensor(marian_ids(source, vocab, SOURCE_SENTENCE))
    tgt_text = "Die Kinder spielen im Garten."
    tgt = torch.tensor([c["decoder_start_token_id"]]
                       + [vocab.get(x, 1) for x in target.encode(tgt_text, out_type=str)])
    with torch.no_grad():
        enc, dec, cross, logits = marian_forward(c, p, src, tgt)
    r = os.path.join(d, "reference")
    assert len(src) == len(SHUFFLED_7_SOURCE) and len(tgt) == len(SHUFFLED_7_TARGET)
    with torch.no_grad():
        variants = {
            "nopos": marian_forward(c, p, src, tgt, positions=False),
            "shuffled7": marian_forward(c, p, src, tgt, SHUFFLED_7_SOURCE, SHUFFLED_7_TARGET),
        }
    for name, (v_enc, v_dec, v_cross, _) in variants.items():
        save_npy(os.path.join(r, f"encoder_attentions-{name}.npy"), v_enc.numpy(), np.float32)
        save_npy(os.path.join(r, f"attentions-{name}.npy"), v_dec.numpy(), np.float32)
        save_npy(os.path.join(r, f"cross_attentions-{name}.npy"), v_cross.numpy(), np.float32)
    save_npy(os.path.join(r, "source_ids.npy"), src.numpy(), np.int64)
    save_npy(os.path.join(r, "target_ids.npy"), tgt.numpy(), np.int64)
    save_npy(os.path.join(r, "encoder_attentions.npy"), enc.numpy(), np.float32)
    save_npy(os.path.join(r, "attentions.npy"), dec.numpy(), np.float32)
    save_npy(os.path.join(r, "cross_attentions.npy"), cross.numpy(), np.float32)
    save_npy(os.path.join(r, "logits.npy"), logits.numpy(), np.float32)
    # transformers' greedy generate, a whole forward pass a step: from the
    # start (pad) token until "</s>" or 8 new tokens; MarianTokenizer.decode
    # is target.spm's decode of the pieces, "</s>" left out
    greedy = [c["decoder_start_token_id"]]
    with torch.no_grad():
        for _ in range(8):
            nxt = int(marian_forward(c, p, src, torch.tensor(greedy))[3][-1].argmax())
            greedy.append(nxt)
            if nxt == c["eos_token_id"]:
                break
    pieces = {i: t for t, i in vocab.items()}
    greedy_text = target.decode_pieces([pieces[i] for i in greedy[1:] if i != c["eos_token_id"]])
    write_json(os.path.join(r, "inputs.json"), {
        "source_text": SOURCE_SENTENCE, "target_text": tgt_text,
        "source_ids": src.tolist(), "target_ids": tgt.tolist(),
        "greedy_ids": greedy, "greedy_text": greedy_text,
        "shuffled_7_source_positions": SHUFFLED_7_SOURCE, "shuffled_7_target_positions": SHUFFLED_7_TARGET,
        "reference": "tools/fixtures_marian.py: transformers modeling_marian eager semantics, float32",
    })
    write_json(os.path.join(r, "tokenization.json"), [
        {"text": s,
         "source_spm_ids": source.encode(s),
         "target_spm_ids": target.encode(s),
         "marian_ids": marian_ids(source, vocab, s)}
        for s in TOKENIZE_STRINGS])
    return {"marian-tiny": attention_stats(enc)}
