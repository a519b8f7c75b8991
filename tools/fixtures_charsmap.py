#!/usr/bin/python3
"""A small SentencePiece precompiled character map, and the fuzzers' seeds
that carry it.

    /usr/bin/python3 tools/fixtures_charsmap.py

nmt_nfkc's map is 240 kB, too big for a fuzzer's seed (64 to 256 KiB
inputs).  rules_model() trains a tiny Unigram model with python3-sentencepiece
and a rule table of its own (normalization_rule_tsv: full-width letters,
the "fi" ligature, U+3000, NBSP and tab as spaces, U+200B removed, a
circled digit, "e" + U+0301 as one character), so its proto holds a
compiled map of about 1 kB: the same darts-clone layout as nmt_nfkc's
(attnviz-charsmap.c).  Writes

    tests/fuzz/corpus/spm/unigram-charsmap.spm            the model
    tests/fuzz/corpus/tokenizer/unigram-precompiled.json  the same as a
                        tokenizer.json with a Precompiled normalizer
    tests/fuzz/corpus/spm/unigram-charsmap-keep-spaces.spm,
    tests/fuzz/corpus/tokenizer-gguf/t5-charsmap-keep-spaces.gguf
                        the "keep-spaces" model below
    tests/fixtures/charsmap/NAME.spm, NAME.gguf   the model trained three
                        ways: "rules" (the spec's defaults), "no-dummy"
                        (add_dummy_prefix false), "keep-spaces"
                        (remove_extra_whitespaces false); the GGUF holds
                        only its tokenizer, in llama.cpp's "t5" layout
    tests/fixtures/charsmap/tokenization.json   [{model, text, ids}]:
                        python3-sentencepiece's ids for STRINGS

make-t5-gguf.py's GGUF fuzz seed takes its map from rules_model() too.
Deterministic.
"""

import base64
import io
import json
import os
import struct
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RULES = [("FF46", "66"), ("FF55", "75"), ("FF4C", "6C"), ("FB01", "66 69"), ("3000", "20"), ("A0", "20"),
         ("9", "20"), ("200B", ""), ("2460", "31"), ("65 301", "E9")]
CORPUS = ["the full file fine", "a cafe in the field", "fill the fun"] * 3


def proto_fields(buf):
    """(field number, wire type, value) of a protobuf message's fields."""
    i = 0

    def varint():
        nonlocal i
        v, shift = 0, 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v
    while i < len(buf):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            yield field, wire, varint()
        elif wire == 2:
            n = varint()
            yield field, wire, buf[i:i + n]
            i += n
        elif wire == 5:
            yield field, wire, buf[i:i + 4]
            i += 4
        elif wire == 1:
            yield field, wire, buf[i:i + 8]
            i += 8
        else:
            raise ValueError(wire)


def _field(buf, want):
    """The bytes of the first length-delimited field WANT, or b\"\"."""
    for field, wire, value in proto_fields(buf):
        if field == want and wire == 2:
            return bytes(value)
    return b""


# Texts where nmt_nfkc's map and GLib's NFKC part, or the map matters
# (attnviz applies the map itself, attnviz-charsmap.c): the T5 and Marian
# fixtures check their tokenizers on them.
HARD_STRINGS = [
    "\uff46\uff55\uff4c\uff4c \uff37\uff49\uff44\uff54\uff48",                # full-width letters
    "\ufb01 \u2460\u2461 \u2122 \u2026 \u00bd",                           # ligature, circled digits, TM, ellipsis
    "a\u00a0b\u3000c\u2003d \u202fe",                                     # NBSP, ideographic and other spaces
    "zero\u200bwidth\u200djoin \ufeffbom \u00adsoft",                    # zero-width and format characters
    "ctrl\u0001\u0007x\u007f\u0085y\u2028z",                              # control characters, NEL, LS
    "tab\there\r\nline \x0bvt\x0cff",                                     # tabs, newlines, VT, FF
    "e\u0301 a\u0308 \u212b n\u0303\u0327",                               # combining accents, the angstrom sign
    "\ud55c\uad6d\uc5b4 \u1100\u1161\u11a8 \u3131",                      # Hangul: syllables, conjoining jamo
    "\U0001f600\U0001f44d\U0001f3fd \u263a\ufe0f",                          # emoji, skin tone, variation selector
]


def rules_model(**spec):
    """(the model's bytes, its precompiled charsmap); SPEC: normalizer
    flags (add_dummy_prefix, remove_extra_whitespaces)."""
    import sentencepiece as spm
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # the trainer spec records the table's path: a relative one, the same each time
        os.chdir(tmp)
        try:
            with open("rules.tsv", "w", encoding="ascii") as f:
                f.write("".join(f"{a}\t{b}\n" for a, b in RULES))
            out = io.BytesIO()
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(CORPUS), model_writer=out, vocab_size=30, model_type="unigram",
                normalization_rule_tsv="rules.tsv", character_coverage=1.0, num_threads=1, minloglevel=2,
                hard_vocab_limit=False, shuffle_input_sentence=False, **spec)
        finally:
            os.chdir(here)
    model = out.getvalue()
    return model, _field(_field(model, 3), 2)


# white space leading, trailing, repeated, mapped (U+3000, NBSP, tab) and
# removed (U+200B), next to what the map rewrites
STRINGS = [
    "the full file",
    "  the  full  fun  ",
    "\uff46\uff55\uff4c\uff4c\u3000\ufb01le\tfun",
    " \u200b a",
    "a\u00a0 b\t\t",
    "cafe\u0301 in  the \u2460 field",
    "\u3000\u3000x",
    "\u200b",
    " ",
    "",
    "x",
]

VARIANTS = [("rules", {}), ("no-dummy", {"add_dummy_prefix": False}),
            ("keep-spaces", {"remove_extra_whitespaces": False})]


def gguf_tokenizer(model, charsmap, spec):
    """A GGUF (version 3) holding only llama.cpp's "t5" tokenizer of MODEL."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_proto=model)
    n = sp.get_piece_size()

    def s(b):
        b = b.encode("utf-8") if isinstance(b, str) else b
        return struct.pack("<Q", len(b)) + b
    STRING, ARRAY, UINT8, INT32, UINT32, FLOAT32, BOOL = 8, 9, 0, 5, 4, 6, 7
    types = [2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 1 for i in range(n)]
    kvs = [
        ("tokenizer.ggml.model", struct.pack("<I", STRING) + s("t5")),
        ("tokenizer.ggml.tokens", struct.pack("<IIQ", ARRAY, STRING, n) + b"".join(s(sp.id_to_piece(i))
                                                                              for i in range(n))),
        ("tokenizer.ggml.scores", struct.pack("<IIQ", ARRAY, FLOAT32, n)
         + b"".join(struct.pack("<f", sp.get_score(i)) for i in range(n))),
        ("tokenizer.ggml.token_type", struct.pack("<IIQ", ARRAY, INT32, n) + b"".join(struct.pack("<i", t)
                                                                                  for t in types)),
        ("tokenizer.ggml.add_space_prefix", struct.pack("<IB", BOOL, spec.get("add_dummy_prefix", True))),
        ("tokenizer.ggml.remove_extra_whitespaces",
         struct.pack("<IB", BOOL, spec.get("remove_extra_whitespaces", True))),
        ("tokenizer.ggml.precompiled_charsmap", struct.pack("<IIQ", ARRAY, UINT8, len(charsmap)) + charsmap),
        ("tokenizer.ggml.unknown_token_id", struct.pack("<II", UINT32, sp.unk_id())),
    ]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(s(k) + v for k, v in kvs)


def tokenizer_json(model, charsmap):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_proto=model)
    n = sp.get_piece_size()
    return {
        "version": "1.0", "added_tokens": [],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]},
        "model": {"type": "Unigram", "unk_id": sp.unk_id(), "byte_fallback": False,
                  "vocab": [[sp.id_to_piece(i), float(sp.get_score(i))] for i in range(n)]},
    }


def main():
    model, charsmap = rules_model()
    assert 0 < len(charsmap) < 4096, len(charsmap)
    with open(os.path.join(ROOT, "tests", "fuzz", "corpus", "spm", "unigram-charsmap.spm"), "wb") as f:
        f.write(model)
    with open(os.path.join(ROOT, "tests", "fuzz", "corpus", "tokenizer", "unigram-precompiled.json"), "w",
              encoding="utf-8") as f:
        json.dump(tokenizer_json(model, charsmap), f, ensure_ascii=False)
        f.write("\n")
    import sentencepiece as spm
    out = os.path.join(ROOT, "tests", "fixtures", "charsmap")
    os.makedirs(out, exist_ok=True)
    cases = []
    for name, spec in VARIANTS:
        m, c = rules_model(**spec)
        with open(os.path.join(out, name + ".spm"), "wb") as f:
            f.write(m)
        with open(os.path.join(out, name + ".gguf"), "wb") as f:
            f.write(gguf_tokenizer(m, c, spec))
        if name == "keep-spaces":   # the fuzzers reach encode_chunks from here
            with open(os.path.join(ROOT, "tests", "fuzz", "corpus", "spm", "unigram-charsmap-keep-spaces.spm"),
                      "wb") as f:
                f.write(m)
            with open(os.path.join(ROOT, "tests", "fuzz", "corpus", "tokenizer-gguf", "t5-charsmap-keep-spaces.gguf"),
                      "wb") as f:
                f.write(gguf_tokenizer(m, c, spec))
        sp = spm.SentencePieceProcessor(model_proto=m)
        cases += [{"model": name, "text": t, "ids": sp.encode(t)} for t in STRINGS]
    with open(os.path.join(out, "tokenization.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote the fuzzers' charsmap seeds ({len(model)}-byte model, {len(charsmap)}-byte map) "
          f"and tests/fixtures/charsmap")


if __name__ == "__main__":
    main()
