#!/usr/bin/python3
"""Reads an `attnviz dump` output with tools we did not write (numpy.load, and
a safetensors reader written from the format's documentation) and compares
its attentions with the PyTorch reference of the same fixture.

usage: check-dump.py npy|safetensors OUT REFERENCE_DIR
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


def main():
    fmt, out, ref = sys.argv[1:4]
    if fmt == "npy":
        att = np.load(os.path.join(out, "attentions.npy"))
        ids = np.load(os.path.join(out, "input_ids.npy"))
        loss = np.load(os.path.join(out, "loss.npy"))
        logits_last = np.load(os.path.join(out, "logits_last.npy"))
        meta = json.load(open(os.path.join(out, "metadata.json")))
    else:
        tensors, raw = read_safetensors(out)
        att, ids, loss, logits_last = (tensors[k] for k in ("attentions", "input_ids", "loss", "logits_last"))
        meta = json.loads(raw["attnviz"])
    want = np.load(os.path.join(ref, "attentions.npy"))
    want_ids = np.load(os.path.join(ref, "input_ids.npy"))
    want_logits = np.load(os.path.join(ref, "logits.npy"))
    want_loss = np.load(os.path.join(ref, "loss.npy"))
    assert att.dtype == np.float32 and att.shape == want.shape, (att.shape, want.shape)
    assert list(meta["attentions_shape"]) == list(att.shape)
    assert meta["variant"] == "model"
    assert (ids == want_ids).all()
    diff = float(np.abs(att - want).max())
    assert diff <= 1e-4, diff
    assert float(np.abs(logits_last - want_logits[-1]).max()) <= 1e-4
    assert np.isnan(loss[-1]) and np.allclose(loss[:-1], want_loss[:-1], atol=1e-4)
    print("OK max |attention diff| %.3g" % diff)


if __name__ == "__main__":
    main()
