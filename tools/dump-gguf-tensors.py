#!/usr/bin/python3
"""Dump GGUF tensors as llama.cpp's own gguf-py reads them, for
tests/test-quant-gguf.c to check attnviz's (de)quantizers against.

Run with Debian's Python (it has numpy):

    /usr/bin/python3 tools/dump-gguf-tensors.py --gguf-py /tmp/llref/src/gguf-py \\
        --out DIR [--source tiny-f32.gguf] [--per-type 3] [--synthetic] FILE.gguf...

gguf-py is llama.cpp's Python package (in llama.cpp's source tree, which
../shared/tools/llref/build.sh puts in $LLREF_CACHE/src, /tmp/llref/src by
default); nothing of it is copied here.

DIR gets numbered files and DIR/manifest.tsv, one line per item, tab-separated:

    kind  file  tensor  type  n_rows  n_cols  raw  values  source

  kind "tensor": the first PER_TYPE tensors of each ggml type in FILE, and
    the first of each type with rows of more than 256 values.
    raw     the tensor's bytes as stored (n_rows rows of n_cols values)
    values  gguf-py's dequantization: n_rows * n_cols little-endian float32
    source  the tensor of the same name in --source (the float32 model the
            quantized files were made from), as float32, or "-" (also for
            tensors that are float32 themselves)
  kind "quantized" (--synthetic): rows of ordinary and awkward float32
    values and gguf-py's quantization of them to F16, BF16, Q8_0 and Q4_0
    raw     gguf-py's bytes
    values  the float32 rows that were quantized
    source  "-"

Paths are relative to DIR.  The output is deterministic.
"""

import argparse
import os
import sys

import numpy as np


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py folder")
    p.add_argument("--out", required=True, help="folder to write into (made if absent)")
    p.add_argument("--source", help="the float32 GGUF the others were quantized from")
    p.add_argument("--per-type", type=int, default=3, help="tensors per type and file")
    p.add_argument("--synthetic", action="store_true", help="also write synthetic quantizations")
    p.add_argument("files", nargs="*", help="GGUF files")
    return p.parse_args()


class Writer:
    def __init__(self, out):
        self.out = out
        self.count = 0
        os.makedirs(out, exist_ok=True)
        self.manifest = open(os.path.join(out, "manifest.tsv"), "w")

    def blob(self, data, suffix):
        name = "%04d.%s" % (self.count, suffix)
        self.count += 1
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(np.ascontiguousarray(data).tobytes())
        return name

    def line(self, *fields):
        self.manifest.write("\t".join(str(f) for f in fields) + "\n")


def rows_of(tensor):
    """(n_rows, n_cols) of a tensor whose shape lists ne0 (the row) first."""
    n_cols = int(tensor.shape[0])
    n_rows = 1
    for d in tensor.shape[1:]:
        n_rows *= int(d)
    return n_rows, n_cols


def dump_file(w, gguf, path, source, per_type):
    reader = gguf.GGUFReader(path)
    taken = {}
    wide = set()
    for t in reader.tensors:
        qtype = t.tensor_type
        n_rows, n_cols = rows_of(t)
        # PER_TYPE tensors of each type, and one more whose rows hold
        # several 256-value blocks.
        if taken.get(qtype, 0) < per_type:
            taken[qtype] = taken.get(qtype, 0) + 1
        elif n_cols > 256 and qtype not in wide:
            pass
        else:
            continue
        if n_cols > 256:
            wide.add(qtype)
        data = np.asarray(t.data)
        raw = w.blob(data.view(np.uint8), "raw")
        values = gguf.quants.dequantize(data, qtype).astype("<f4", copy=False)
        assert values.size == n_rows * n_cols, (t.name, values.shape)
        deq = w.blob(values, "f32")
        src = "-"
        if source is not None and t.name in source and qtype != gguf.GGMLQuantizationType.F32:
            s = np.asarray(source[t.name].data).astype("<f4", copy=False)
            assert s.size == n_rows * n_cols
            src = w.blob(s, "f32")
        w.line("tensor", os.path.basename(path), t.name, int(qtype), n_rows, n_cols, raw, deq, src)


def synthetic_rows(n_cols):
    """Rows that quantizers find easy and hard, 512 values each."""
    rng = np.random.default_rng(1234)
    rows = [
        rng.normal(0.0, 0.02, n_cols),
        rng.normal(0.0, 1.0, n_cols),
        rng.uniform(-1.0, 1.0, n_cols),
        np.zeros(n_cols),
        np.full(n_cols, 0.37),
        np.full(n_cols, -1.25),
    ]
    outlier = rng.normal(0.0, 0.01, n_cols)
    outlier[100] = 100.0
    outlier[300] = -50.0
    rows.append(outlier)
    rows.append(-np.abs(rng.normal(0.0, 0.5, n_cols)))
    rows.append(rng.normal(0.0, 1e-6, n_cols))
    # Ties: with 127 (Q8_0) or -8 (Q4_0) first in each block of 32 the scale
    # is exactly 1, so k + 0.5 lands halfway between two levels.
    for first, lo, hi in ((127.0, -127, 126), (-8.0, -8, 7)):
        row = np.empty(n_cols)
        for b in range(0, n_cols, 32):
            row[b] = first
            row[b + 1:b + 32] = (np.arange(31) % (hi - lo) + lo) + 0.5
        rows.append(row)
    return np.array(rows, dtype="<f4")


def special_row(n_cols):
    """Values that only F16 and BF16 must take: inf, NaN, overflow, ties,
    subnormals."""
    vals = [np.inf, -np.inf, np.nan, 65504.0, 65519.0, 65520.0, 1e5, 3.4e38,
            1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8,
            6e-8, 3e-8, 2.0 ** -25, 2.0 ** -24, 1e-7, -1e-7, 6.1e-5, 1e-40, -0.0, 0.0]
    row = np.resize(np.array(vals, dtype=np.float64), n_cols)
    return row.astype("<f4")[None, :]


def dump_synthetic(w, gguf):
    n_cols = 512
    Q = gguf.GGMLQuantizationType
    rows = synthetic_rows(n_cols)
    specials = np.concatenate([rows, special_row(n_cols)])
    for qtype in (Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0):
        x = specials if qtype in (Q.F16, Q.BF16) else rows
        with np.errstate(all="ignore"):
            q = gguf.quants.quantize(x, qtype)
        raw = w.blob(q.view(np.uint8), "raw")
        src = w.blob(x, "f32")
        w.line("quantized", "-", "synthetic", int(qtype), x.shape[0], n_cols, raw, src, "-")


def main():
    args = parse_args()
    sys.path.insert(0, args.gguf_py)
    import gguf

    w = Writer(args.out)
    source = None
    if args.source:
        source = {t.name: t for t in gguf.GGUFReader(args.source).tensors}
    for path in args.files:
        dump_file(w, gguf, path, source, args.per_type)
    if args.synthetic:
        dump_synthetic(w, gguf)
    w.manifest.close()


if __name__ == "__main__":
    main()
