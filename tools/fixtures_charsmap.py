#!/usr/bin/python3
"""A small SentencePiece precompiled character map, and the fuzzers' seeds
that carry it.

    /usr/bin/python3 tools/fixtures_charsmap.py

nmt_nfkc's map is 240 kB, too big for a fuzzer's seed (64 to 256 KiB
inputs).  rules_model() trains a tiny Unigram model with python3-sentencepiece
and a rule table of its own (normalization_rule_tsv: full-width letters,
the "fi" ligature, U+3000, NBSP and tab as spaces, U+200B removed, a
circled digit, "e" + U+0301 as one character), so its proto holds a
compiled map of a few hundred bytes: the same darts-clone layout as
nmt_nfkc's (attnviz-charsmap.c).  Writes

    tests/fuzz/corpus/spm/unigram-charsmap.spm            the model
    tests/fuzz/corpus/tokenizer/unigram-precompiled.json  the same as a
                        tokenizer.json with a Precompiled normalizer

make-t5-gguf.py's GGUF fuzz seed takes its map from rules_model() too.
Deterministic.
"""

import base64
import io
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RULES = [("FF46", "66"), ("FF55", "75"), ("FF4C", "6C"), ("FB01", "66 69"), ("3000", "20"), ("A0", "20"),
         ("9", "20"), ("200B", ""), ("2460", "31"), ("65 301", "E9")]
CORPUS = ["the full file fine", "a cafe in the field", "fill the fun"] * 3


def _field(buf, want):
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
            varint()
        elif wire == 2:
            n = varint()
            if field == want:
                return bytes(buf[i:i + n])
            i += n
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(wire)
    return b""


def rules_model():
    """(the model's bytes, its precompiled charsmap)."""
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
                hard_vocab_limit=False, shuffle_input_sentence=False)
        finally:
            os.chdir(here)
    model = out.getvalue()
    return model, _field(_field(model, 3), 2)


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
    print(f"wrote the fuzzers' charsmap seeds ({len(model)}-byte model, {len(charsmap)}-byte map)")


if __name__ == "__main__":
    main()
