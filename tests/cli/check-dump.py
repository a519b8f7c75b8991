#!/usr/bin/python3
"""Reads an `attnviz dump` output with tools we did not write (numpy.load, and
a safetensors reader written from the format's documentation) and compares
it with the PyTorch reference of the same fixture.

usage: check-dump.py npy|safetensors OUT REFERENCE_DIR [whole|pooled]

whole (the default): a plain dump: attentions (L, H, T, T), logits_last.
pooled: a dump made with --pool 4 --pool-max --logits all: no attentions,
attentions_pooled_mean and _max (L, H, 4, 4) of the reference's heads over
the bins numpy computes here, and every position's logits.
"""
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    dtypes = {"F32": np.float32, "I32": np.int32, "I64": np.int64}
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + e], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return out, meta


def read_dump(fmt, out):
    if fmt == "npy":
        arrays = {name[:-4]: np.load(os.path.join(out, name)) for name in os.listdir(out) if name.endswith(".npy")}
        meta = json.load(open(os.path.join(out, "metadata.json")))
    else:
        arrays, raw = read_safetensors(out)
        meta = json.loads(raw["attnviz"])
    return arrays, meta


def pool(m, bins, stat):
    """The dump's bins: bin i of n over T tokens covers [i T // n, (i + 1) T // n)."""
    rows, cols = m.shape
    out = np.zeros((bins, bins), dtype=np.float64)
    for i in range(bins):
        for j in range(bins):
            cell = m[i * rows // bins:(i + 1) * rows // bins, j * cols // bins:(j + 1) * cols // bins]
            out[i, j] = cell.mean() if stat == "mean" else cell.max()
    return out


def main():
    fmt, out, ref = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "whole"
    a, meta = read_dump(fmt, out)
    want = np.load(os.path.join(ref, "attentions.npy"))
    want_ids = np.load(os.path.join(ref, "input_ids.npy"))
    want_logits = np.load(os.path.join(ref, "logits.npy"))
    want_loss = np.load(os.path.join(ref, "loss.npy"))
    T = want_ids.shape[-1]
    assert meta["variant"] == "model"
    assert (a["input_ids"] == want_ids).all()
    assert float(np.abs(a["logits_last"] - want_logits[-1]).max()) <= 1e-4
    loss = a["loss"]
    assert np.isnan(loss[-1]) and np.allclose(loss[:-1], want_loss[:-1], atol=1e-4)

    # each position's 10 most likely next tokens, most likely first, and their probabilities
    ids, probs = a["topk_ids"], a["topk_probs"]
    assert ids.dtype == np.int32 and ids.shape == (T, meta["top_k"]) and probs.shape == ids.shape
    p = np.exp(want_logits - want_logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    assert (ids[:, 0] == want_logits.argmax(axis=1)).all()
    assert np.allclose(probs, np.take_along_axis(p, ids.astype(np.int64), axis=1), atol=1e-5)
    assert (np.diff(probs, axis=1) <= 1e-7).all()

    if mode == "whole":
        att = a["attentions"]
        assert att.dtype == np.float32 and att.shape == want.shape, (att.shape, want.shape)
        assert list(meta["attentions_shape"]) == list(att.shape)
        assert meta["attentions_row_offset"] == 0
        assert meta["logits"] == "last" and "logits" not in a
        diff = float(np.abs(att - want).max())
        assert diff <= 1e-4, diff
        print("OK max |attention diff| %.3g" % diff)
        return

    assert "attentions" not in a and "attentions_shape" not in meta
    assert meta["pool"]["bins"] == 4 and meta["pool"]["statistics"] == ["mean", "max"]
    L, H = want.shape[:2]
    diff = 0.0
    for stat in ("mean", "max"):
        got = a["attentions_pooled_" + stat]
        assert got.shape == (L, H, 4, 4) and list(meta["attentions_pooled_shape"]) == [L, H, 4, 4]
        for l in range(L):
            for h in range(H):
                diff = max(diff, float(np.abs(got[l, h] - pool(want[l, h], 4, stat)).max()))
    assert diff <= 1e-4, diff
    assert meta["logits"] == "all" and a["logits"].shape == want_logits.shape
    assert float(np.abs(a["logits"] - want_logits).max()) <= 1e-4
    assert (a["logits"][-1] == a["logits_last"]).all()
    print("OK max |pooled attention diff| %.3g" % diff)


if __name__ == "__main__":
    main()
