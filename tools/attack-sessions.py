#!/usr/bin/python3
"""Crafts hostile session inputs and runs attnviz on each (a tool, not a test).

    tools/attack-sessions.py ATTNVIZ WORKDIR [--only SUBSTRING] [--failed EARLIER-LOG]

ATTNVIZ is a built attnviz (the sanitizer build: _build-asan/app/attnviz).
It dumps the fixture models in every format (a decoder, an encoder and the
encoder-decoder in data/models), then writes hundreds of inputs made from
those dumps and from numpy: shapes wrong, huge, zero or disagreeing with
the metadata; tokens, ids and spans that disagree; odd text; NaN, infinite
and negative weights; other dtypes; files cut at every offset of their
header; huge header lengths; duplicate keys; deep JSON; links, FIFOs and
folders in place of files; npy folders with files missing or extra.  Each
goes through `attnviz view FILE --info` and `attnviz render FILE -o OUT`
with a 10 s timeout, and the run is a failure when:

  - it crashed, hung, or a sanitizer or GLib (CRITICAL, WARNING) spoke;
  - it exited with another status than 0, 1 (bad input) or 2 (usage);
  - it failed with more than one line, or a line that does not name the
    file (or the option, for a usage error);
  - it failed and left a file in the output folder, or changed the file
    that was there;
  - a case made to be refused was taken (or one made to be taken refused).

Prints one line per failure and a count at the end; exits 1 when any.
"""
import json
import os
import shutil
import stat
import struct
import subprocess
import sys

import numpy as np

TIMEOUT = 10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ENV = dict(os.environ)
ENV.pop("DISPLAY", None)
ENV.pop("WAYLAND_DISPLAY", None)
ENV.update({
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    "LSAN_OPTIONS": "suppressions=%s/tests/lsan.supp:print_suppressions=0" % ROOT,
    "G_DEBUG": "fatal-warnings",
    "OPENBLAS_NUM_THREADS": "1",
})


class Case:
    def __init__(self, name, path, expect=None, args=(), blame=None, render=True):
        self.name = name
        self.path = path          # the FILE argument
        self.expect = expect      # "ok", "fail" (exit 1), "usage" (exit 2) or None (either)
        self.args = list(args)    # --tokens ...
        self.blame = blame        # what a failure must name (default: FILE's name)
        self.render = render


# ---- writers ----

def npy_bytes(arr=None, descr=None, shape=None, fortran=False, body=None, header=None, version=1):
    """An .npy file's bytes, with any field overridden."""
    if arr is not None:
        descr = descr or arr.dtype.str
        shape = arr.shape if shape is None else shape
        body = (arr.tobytes(order="F" if fortran else "C")) if body is None else body
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr, "True" if fortran else "False", repr(tuple(shape)))
    h = header.encode("latin-1") if isinstance(header, str) else header
    pre = 10 if version == 1 else 12
    pad = (-(pre + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    if version == 1:
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h) & 0xFFFF)
    else:
        head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(h))
    return head + h + (body or b"")


def st_bytes(tensors, metadata=None, header_override=None):
    """A safetensors file: TENSORS is [(name, dtype, shape, bytes)]."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = header_override if header_override is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def write(path, data):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def softmax_rows(shape, causal=False, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random(shape).astype(np.float32) + 0.01
    if causal:
        T = shape[-1]
        a = a * np.tril(np.ones((shape[-2], T), dtype=np.float32))
    return (a / a.sum(-1, keepdims=True)).astype(np.float32)


# ---- the runs ----

def run(cmd, out_dir=None):
    try:
        p = subprocess.run(cmd, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT, cwd=out_dir)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return None, "", (e.stderr or b"").decode("utf-8", "replace")


SANITIZER_SIGNS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
                   "CRITICAL **", "WARNING **", "Segmentation", "Aborted", "Trace/breakpoint")


def judge(case, what, rc, out, err, leftovers):
    problems = []
    if rc is None:
        return ["hung (over %d s)" % TIMEOUT]
    for s in SANITIZER_SIGNS:
        if s in err:
            line = next((l for l in err.splitlines() if s in l), s)
            problems.append("sanitizer/GLib: " + line.strip()[:200])
            break
    if rc < 0 or rc > 2:
        problems.append("exit %d" % rc)
        return problems
    lines = [l for l in err.splitlines() if not l.startswith("attnviz: warning:")]
    if rc != 0:
        if len(lines) != 1:
            problems.append("%d lines of error: %r" % (len(lines), err[:300]))
        elif not lines[0].startswith("attnviz: "):
            problems.append("error not from attnviz: %r" % lines[0][:200])
        else:
            blame = case.blame if case.blame is not None else [os.path.basename(case.path.rstrip("/"))]
            if rc == 1 and not any(b in lines[0] for b in blame):
                problems.append("error does not name %s: %r" % (blame, lines[0][:200]))
        if leftovers:
            problems.append("left behind after failing: %s" % leftovers)
    expect = case.expect
    if what == "render" and rc == 2 and "did not record that head" in err:
        return problems   # a dump of some heads: render's default head is not there
    if expect == "ok" and rc != 0:
        problems.append("refused a good input: %r" % err.strip()[:200])
    elif expect == "fail" and rc == 0:
        problems.append("took a bad input (exit 0)")
    elif expect == "fail" and rc == 2:
        problems.append("bad input said as a usage error: %r" % err.strip()[:200])
    elif expect == "usage" and rc != 2:
        problems.append("usage error exit %d: %r" % (rc, err.strip()[:200]))
    return problems


def attack(attnviz, case, scratch):
    failures = []
    rc, out, err = run([attnviz, "view", case.path, "--info"] + case.args)
    for p in judge(case, "view", rc, out, err, None):
        failures.append("view: " + p)
    view_rc = rc
    if case.render:
        out_dir = os.path.join(scratch, "out")
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.mkdir(out_dir)
        # an existing figure that a failure must leave as it was
        keep = os.path.join(out_dir, "fig.png")
        write(keep, b"old figure")
        rc, out, err = run([attnviz, "render", case.path, "-o", keep, "-q"] + case.args, out_dir)
        names = sorted(os.listdir(out_dir))
        leftovers = None
        if rc not in (0, None):
            with open(keep, "rb") as f:
                if f.read() != b"old figure":
                    leftovers = "fig.png changed"
            if names != ["fig.png"]:
                leftovers = (leftovers or "") + " files: %s" % names
        for p in judge(case, "render", rc, out, err, leftovers):
            failures.append("render: " + p)
        if rc is not None and view_rc is not None and (rc == 0) != (view_rc == 0) and rc != 2 and view_rc != 2:
            failures.append("view exit %s but render exit %s" % (view_rc, rc))
    return failures


# ---- the valid dumps ----

def make_dumps(attnviz, work):
    dumps = {}
    fx = os.path.join(ROOT, "tests", "fixtures")
    specs = [
        ("dec", os.path.join(ROOT, "data", "models", "induction-decoder"), ["--text", "abcab"]),
        ("gpt2-some", os.path.join(fx, "gpt2-tiny"), ["--ids", "1,2,3,4", "--layers", "1", "--heads", "0,1"]),
        ("bert", os.path.join(fx, "bert-tiny"), ["--ids", "1,2,3,4,5"]),
        ("s2s", os.path.join(ROOT, "data", "models", "dates-seq2seq"), ["--text", "12 March 2001", "--target", "2001"]),
    ]
    for name, model, args in specs:
        for fmt, ext in (("npy", ""), ("safetensors", ".safetensors"), ("json", ".json")):
            out = os.path.join(work, "valid", name + ext + ("-npy" if fmt == "npy" else ""))
            if os.path.exists(out):
                shutil.rmtree(out) if os.path.isdir(out) else os.unlink(out)
            p = subprocess.run([attnviz, "dump", model, "-o", out, "--format", fmt, "-q"] + args, env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0:
                print("could not dump %s as %s: %s" % (name, fmt, p.stderr.decode()[:500]))
                continue
            dumps[(name, fmt)] = out
    return dumps


# ---- the cases ----

BAD_VALUES = [0, -1, 1 << 31, 1 << 62, (1 << 63) - 1, 1e300, 2.5, "7", None, [], {}, True]


def meta_mutations(meta):
    """(name, mutated metadata, expect) for a dump's metadata dict."""
    out = []
    for key in sorted(meta):
        m = dict(meta)
        del m[key]
        out.append(("no-" + key, m, None))
        for i, v in enumerate(BAD_VALUES):
            m = dict(meta)
            m[key] = v
            out.append(("%s=%d" % (key, i), m, None))
    T = meta.get("n_tokens", 1)
    toks = meta.get("tokens", [])
    for k in ("n_tokens", "n_layer", "n_head"):
        for d in (-1, 1):
            m = dict(meta)
            if isinstance(m.get(k), int):
                m[k] = m[k] + d
                # more layers or heads than recorded is a dump of some of them; fewer is not
                # more or fewer layers or heads than recorded may be a dump of some of them
                out.append(("%s%+d" % (k, d), m, "fail" if k == "n_tokens" else None))
    if toks:
        m = dict(meta, tokens=toks[:-1])
        out.append(("tokens-one-short", m, "fail"))
        m = dict(meta, tokens=toks + toks[-1:])
        out.append(("tokens-one-more", m, "fail"))
        for field, vals in (("id", [-1, 1 << 24, 1 << 40, 1.5, "3", None, 1e300]),
                            ("start", [-1, 1 << 33, 1e300, 2.5, "x", None, [], {}, True]),
                            ("end", [-1, 1 << 33, 1e300, 2.5, "x", None, [], {}]),
                            ("special", [1, "yes", None, [], {}]),
                            ("text", [1, None, [], "\x00abc", "a\x1b[31mred", "\u202e\ufeff", "x" * 200000,
                                      "\ud7ff\U0010ffff", "line\nbreak"])):
            for i, v in enumerate(vals):
                tt = [dict(t) for t in toks]
                tt[len(tt) // 2][field] = v
                m = dict(meta, tokens=tt)
                exp = "fail" if field == "id" else None
                if field == "id" and v == 1.5:
                    exp = None
                out.append(("token-%s-%d" % (field, i), m, exp))
        # spans backwards, overlapping, past any text
        tt = [dict(t) for t in toks]
        tt[-1]["start"], tt[-1]["end"] = 10, 5
        out.append(("span-backwards", dict(meta, tokens=tt), "fail"))
        tt = [dict(t, start=0, end=3) for t in toks]
        out.append(("spans-all-overlap", dict(meta, tokens=tt), None))
        tt = [dict(t, start=(1 << 32) - 2, end=(1 << 32) - 1) for t in toks]
        out.append(("spans-past-4g", dict(meta, tokens=tt), None))
        tt = [dict(t) for t in toks]
        tt[0] = "not a token"
        out.append(("token-not-an-object", dict(meta, tokens=tt), "fail"))
    for k in ("layers", "heads"):
        v = meta.get(k)
        if isinstance(v, list) and v:
            out.append((k + "-duplicate", dict(meta, **{k: v[:1] * len(v)}), "fail" if len(v) > 1 else None))
            out.append((k + "-negative", dict(meta, **{k: [-1] + v[1:]}), "fail"))
            out.append((k + "-huge", dict(meta, **{k: [1 << 40] + v[1:]}), "fail"))
            out.append((k + "-float", dict(meta, **{k: [0.5] + v[1:]}), "fail"))
            out.append((k + "-short", dict(meta, **{k: v[:-1]}), "fail"))
            out.append((k + "-reversed", dict(meta, **{k: v[::-1]}), None))
    if meta.get("encoder_decoder"):
        for k in ("n_source_tokens", "n_enc_layer"):
            for d in (-1, 1, 1 << 20):
                out.append(("%s%+d" % (k, d), dict(meta, **{k: meta[k] + d}), "fail"))
        st = meta.get("source_tokens", [])
        out.append(("source-tokens-one-short", dict(meta, source_tokens=st[:-1]), "fail"))
        out.append(("source-tokens-empty", dict(meta, source_tokens=[]), "fail"))
        out.append(("source-n-huge-consistent", dict(meta, n_source_tokens=1 << 24, n_enc_layer=4096), "fail"))
    else:
        out.append(("says-encoder-decoder", dict(meta, encoder_decoder=True), "fail"))
        out.append(("says-encoder-decoder-full", dict(meta, encoder_decoder=True, n_source_tokens=T, n_enc_layer=1,
                                                      source_tokens=toks), "fail"))
    out.append(("pooled", dict(meta, pool=4), "fail"))
    out.append(("banded", dict(meta, attentions_row_offset=1), "fail"))
    out.append(("banded-huge", dict(meta, attentions_row_offset=1e300), "fail"))
    out.append(("banded-null", dict(meta, attentions_row_offset=None), None))
    out.append(("banded-list", dict(meta, attentions_row_offset=[1]), None))
    out.append(("causal-flipped", dict(meta, causal=not meta.get("causal")), None))
    out.append(("causal-int", dict(meta, causal=1), "fail"))
    out.append(("model-giant", dict(meta, model="m" * 1000000), None))
    out.append(("model-escapes", dict(meta, model="\x1b]0;pwn\x07/\n\r", variant="\x1b[2J", model_type="\n"), None))
    return out


def deep_json(depth):
    return "[" * depth + "]" * depth


def json_text(obj):
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")


FULL_META = ("dec-json", "s2s-json", "s2s-npy", "gpt2-some-safetensors", "bert-npy")


def meta_cases(meta, tag):
    """The metadata's mutations: all of them for a few dumps, a sample for the rest (the code reading the
    metadata is the same for every format)."""
    m = meta_mutations(meta)
    return m if tag in FULL_META else m[::9]


def cases_json_dump(work, src, tag):
    cases = []
    d = os.path.join(work, "c-" + tag)
    os.makedirs(d, exist_ok=True)
    raw = open(src, "rb").read()
    doc = json.loads(raw)
    meta = doc["metadata"]

    def add(name, data, expect=None):
        p = write(os.path.join(d, name.replace("/", "_") + ".json"), data)
        cases.append(Case("%s/%s" % (tag, name), p, expect))

    add("valid", raw, "ok")
    for name, m, exp in meta_cases(meta, tag):
        add("meta-" + name, json_text(dict(doc, metadata=m)), exp)
    # the arrays
    att = doc["attentions"]
    a = np.array(att, dtype=np.float64)
    L, H, T, _ = a.shape
    for name, v, exp in (
            ("att-nan", None, "fail"), ("att-negative", -0.5, "fail"), ("att-huge", 1e300, "fail"),
            ("att-string", "x", "fail"), ("att-bool", True, "fail"), ("att-obj", {}, "fail"), ("att-list", [1], "fail"),
            ("att-zero-row", "zero", None)):
        b = json.loads(json.dumps(att))
        if v == "zero":
            b[0][0][T - 1] = [0.0] * T
        else:
            b[0][0][T - 1][0] = v
        add(name, json_text(dict(doc, attentions=b)), exp)
    add("att-one-more-layer", json_text(dict(doc, attentions=att + att[:1])), "fail")
    add("att-one-less-token", json_text(dict(doc, attentions=[[r[:-1] for r in h] for h in att[0:1]])), "fail")
    add("att-ragged", json_text(dict(doc, attentions=[[att[0][0][:-1]] + att[0][1:]] + att[1:])), "fail")
    add("att-scalar", json_text(dict(doc, attentions=1.0)), "fail")
    add("att-empty", json_text(dict(doc, attentions=[])), "fail")
    add("att-6d", json_text(dict(doc, attentions=[att])), "fail")
    add("att-deep", b'{"metadata": %s, "attentions": %s}' % (json_text(meta), deep_json(100000).encode()), "fail")
    add("att-null", json_text(dict(doc, attentions=None)), "fail")
    for arr in ("input_ids", "loss", "topk_ids", "topk_probs", "logits_last", "layers", "heads", "token_spans",
                "encoder_attentions", "cross_attentions", "source_ids"):
        if arr not in doc:
            continue
        x = doc[arr]
        for i, v in enumerate((None, [], 5, "x", [[[[[[1]]]]]], x[:-1] if isinstance(x, list) else x,
                               [1e30] * (len(x) if isinstance(x, list) else 1))):
            add("%s-%d" % (arr, i), json_text(dict(doc, **{arr: v})), None)
        m = dict(doc)
        del m[arr]
        add("no-" + arr, json_text(m), "fail" if arr in ("encoder_attentions", "cross_attentions") else None)
    if "topk_ids" in doc:
        b = json.loads(json.dumps(doc["topk_ids"]))
        b[0][0] = 1 << 30
        add("topk-id-past-vocab", json_text(dict(doc, topk_ids=b)), "fail")
        b[0][0] = -1
        add("topk-id-negative", json_text(dict(doc, topk_ids=b)), "fail")
    # the bytes
    add("bom", b"\xef\xbb\xbf" + raw, None)
    add("nul-inside", raw[:20] + b"\x00" + raw[20:], "fail")
    add("non-utf8", raw.replace(b'"model"', b'"mo\xffdel"', 1), "fail")
    add("non-utf8-text", raw.replace(b'"text":"', b'"text":"\xc3\x28', 1), "fail")
    add("dup-metadata", raw[:-1] + b', "metadata": {}}', None)
    add("dup-attentions", raw[:-1] + b', "attentions": [[[[2]]]]}', None)
    at = raw.index(b'"attentions":')
    add("nan-literal", raw[:at] + raw[at:].replace(b"0.", b"NaN", 1), "fail")
    add("comment", b"/* x */" + raw, "fail")
    add("trailing-garbage", raw + b"xx", "fail")
    add("number-past-64-bits", json_text(dict(doc, metadata=dict(meta, n_tokens=18446744073709551621))), "fail")
    add("root-array", b"[" + raw + b"]", "fail")
    add("root-string", b'"x"', "fail")
    add("empty", b"", "fail")
    add("deep-metadata", b'{"metadata": {"x": %s}, "attentions": []}' % deep_json(5000).encode(), "fail")
    for cut in sorted(set([1, 2, 5, 10, 50, 100, 500, len(raw) // 2, len(raw) - 2, len(raw) - 1])):
        if cut < len(raw):
            add("cut-%d" % cut, raw[:cut], "fail")
    return cases


def st_parse(raw):
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return header, raw[8 + n:]


def st_rebuild(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def cases_st_dump(work, src, tag):
    cases = []
    d = os.path.join(work, "c-" + tag)
    os.makedirs(d, exist_ok=True)
    raw = open(src, "rb").read()
    header, data = st_parse(raw)
    meta = json.loads(header["__metadata__"]["attnviz"])

    def add(name, b, expect=None):
        p = write(os.path.join(d, name.replace("/", "_") + ".safetensors"), b)
        cases.append(Case("%s/%s" % (tag, name), p, expect))

    add("valid", raw, "ok")
    for name, m, exp in meta_cases(meta, tag):
        h = json.loads(json.dumps(header))
        h["__metadata__"]["attnviz"] = json.dumps(m)
        add("meta-" + name, st_rebuild(h, data), exp)
    h = json.loads(json.dumps(header))
    h["__metadata__"]["attnviz"] = "{" * 100000
    add("meta-deep", st_rebuild(h, data), "fail")
    h["__metadata__"]["attnviz"] = "not json"
    add("meta-not-json", st_rebuild(h, data), "fail")
    h["__metadata__"]["attnviz"] = "[]"
    add("meta-array", st_rebuild(h, data), "fail")
    del h["__metadata__"]["attnviz"]
    add("meta-missing", st_rebuild(h, data), "fail")
    h = json.loads(json.dumps(header))
    h["__metadata__"]["format"] = 5
    add("format-not-a-string", st_rebuild(h, data), "fail")
    # tensors: dtype, shape, offsets
    for tname in sorted(k for k in header if k != "__metadata__"):
        t = header[tname]
        for i, (field, v) in enumerate((("dtype", "F16"), ("dtype", "BOOL"), ("dtype", "I8"), ("dtype", "F64"),
                                        ("dtype", "U64"), ("dtype", "F8_E4M3"), ("dtype", "xx"),
                                        ("shape", [0]), ("shape", t["shape"][::-1]), ("shape", [1 << 62, 4]),
                                        ("shape", [-1] + t["shape"][1:]), ("shape", t["shape"] + [1]),
                                        ("shape", []), ("shape", [1] * 7),
                                        ("data_offsets", [0, 0]), ("data_offsets", [0, len(data) + 4]),
                                        ("data_offsets", [t["data_offsets"][1], t["data_offsets"][0]]))):
            h = json.loads(json.dumps(header))
            h[tname][field] = v
            add("t-%s-%d" % (tname, i), st_rebuild(h, data), None)
        h = json.loads(json.dumps(header))
        del h[tname]
        add("t-no-%s" % tname, st_rebuild(h, data), "fail" if "attentions" in tname else None)
    # values
    att = header["attentions"]
    lo, hi = att["data_offsets"]
    for name, v in (("nan", np.nan), ("inf", np.inf), ("neg", -1.0)):
        buf = bytearray(data)
        buf[lo + 8:lo + 12] = np.float32(v).tobytes()
        add("att-" + name, st_rebuild(header, bytes(buf)), "fail")
    # bytes
    hlen = struct.unpack("<Q", raw[:8])[0]
    for cut in list(range(0, 9)) + [20, hlen // 2, hlen + 7, hlen + 8, hlen + 9, len(raw) - 1]:
        add("cut-%d" % cut, raw[:cut], "fail")
    add("hlen-huge", struct.pack("<Q", 1 << 62) + raw[8:], "fail")
    add("hlen-100M", struct.pack("<Q", 100_000_001) + raw[8:], "fail")
    add("hlen-zero", struct.pack("<Q", 0) + raw[8:], "fail")
    hb = raw[8:8 + hlen]
    dup = hb[:-1] + b', "attentions": ' + json.dumps(att).encode() + b"}"
    add("dup-tensor", struct.pack("<Q", len(dup)) + dup + data, None)
    return cases


def npy_folder_mutations(work, src, tag):
    cases = []
    d = os.path.join(work, "c-" + tag)
    os.makedirs(d, exist_ok=True)
    meta = json.load(open(os.path.join(src, "metadata.json")))
    n = [0]

    def clone(name):
        n[0] += 1
        p = os.path.join(d, "%03d-%s" % (n[0], name))
        if os.path.lexists(p):
            shutil.rmtree(p)
        shutil.copytree(src, p, symlinks=True)
        return p

    def add(name, p, expect=None, blame=None):
        cases.append(Case("%s/%s" % (tag, name), p, expect, blame=blame))

    add("valid", src, "ok")
    add("valid-metadata-json", os.path.join(src, "metadata.json"), "ok", blame=[os.path.basename(src)])
    for name, m, exp in meta_cases(meta, tag):
        p = clone("meta-" + name)
        write(os.path.join(p, "metadata.json"), json_text(m))
        add("meta-" + name, p, exp)
    arrays = sorted(f for f in os.listdir(src) if f.endswith(".npy"))
    for f in arrays:
        arr = np.load(os.path.join(src, f))
        stem = f[:-4]
        variants = [
            ("missing", None, "fail" if stem in ("attentions", "encoder_attentions", "cross_attentions") else None),
            ("empty-file", b"", "fail"),
            ("f16", npy_bytes(arr.astype(np.float16)), "fail"),
            ("f64", npy_bytes(arr.astype(np.float64)), None),
            ("big-endian", npy_bytes(arr.astype(">f4")), "fail"),
            ("fortran", npy_bytes(np.asfortranarray(arr), fortran=True), "fail" if arr.ndim > 1 else None),
            ("bool", npy_bytes(arr.astype(bool)), None),
            ("object", npy_bytes(descr="|O", shape=arr.shape, body=b"\0" * (8 * arr.size)), "fail"),
            ("extra-dim", npy_bytes(arr[None]), "fail"),
            ("one-less", npy_bytes(arr.reshape(-1)[:-1]), "fail"),
            ("scalar", npy_bytes(np.float32(1.0).reshape(())), "fail"),
            ("huge-shape", npy_bytes(descr="<f4", shape=(1 << 31, 1 << 31), body=b""), "fail"),
            ("shape-overflow", npy_bytes(descr="<f4", shape=(1 << 31 - 1,) * 5, body=b""), "fail"),
            ("negative-shape", npy_bytes(descr="<f4", shape=(-1,) + arr.shape[1:], body=arr.tobytes()), "fail"),
            ("nan", npy_bytes(np.full(arr.shape, np.nan, dtype=np.float32)), None),
            ("negative", npy_bytes(-np.abs(arr.astype(np.float32)) - 1), None),
            ("dir", "dir", "fail"),
            ("fifo", "fifo", "fail"),
            ("link-loop", "loop", "fail"),
            ("dangling", "dangling", "fail"),
            ("dev-zero", "devzero", "fail"),
            ("i64-max", npy_bytes(np.full(arr.shape, (1 << 63) - 1, dtype=np.int64)), None),
        ]
        for vname, content, exp in variants:
            p = clone("%s-%s" % (stem, vname))
            target = os.path.join(p, f)
            os.unlink(target)
            if content is None:
                pass
            elif content == "dir":
                os.mkdir(target)
            elif content == "fifo":
                os.mkfifo(target)
            elif content == "loop":
                os.symlink(f, target)
            elif content == "dangling":
                os.symlink("nowhere.npy", target)
            elif content == "devzero":
                os.symlink("/dev/zero", target)
            else:
                write(target, content)
            add("%s-%s" % (stem, vname), p, exp)
    # metadata.json itself
    for vname in ("dir", "fifo", "loop", "empty", "missing", "devzero", "huge-line"):
        p = clone("metadata-" + vname)
        target = os.path.join(p, "metadata.json")
        os.unlink(target)
        if vname == "dir":
            os.mkdir(target)
        elif vname == "fifo":
            os.mkfifo(target)
        elif vname == "loop":
            os.symlink("metadata.json", target)
        elif vname == "empty":
            write(target, b"")
        elif vname == "devzero":
            os.symlink("/dev/zero", target)
        elif vname == "huge-line":
            write(target, b'{"x": "' + b"a" * (17 << 20) + b'"}')
        add("metadata-" + vname, p, "fail")
    p = clone("extra-files")
    write(os.path.join(p, "attentions (copy).npy"), b"junk")
    write(os.path.join(p, "notes.txt"), b"hello")
    os.mkfifo(os.path.join(p, "pipe.npy"))
    add("extra-files", p, None)
    p = clone("the-folder-a-link")
    link = p + "-link"
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(p, link)
    add("folder-through-a-link", link, None)
    return cases


def cases_foreign_npy(work):
    cases = []
    d = os.path.join(work, "c-npy")
    os.makedirs(d, exist_ok=True)

    def add(name, data, expect=None, args=(), blame=None, ext=".npy"):
        p = write(os.path.join(d, name + ext), data) if data is not None else os.path.join(d, name + ext)
        cases.append(Case("npy/" + name, p, expect, args=args, blame=blame))
        return p

    good = {
        "tt": softmax_rows((5, 5)),
        "htt": softmax_rows((3, 5, 5)),
        "lhtt": softmax_rows((2, 3, 5, 5)),
        "lhts": softmax_rows((2, 3, 5, 7)),
        "l1htt": softmax_rows((2, 1, 3, 5, 5)),
        "causal": softmax_rows((2, 2, 6, 6), causal=True),
        "t1": softmax_rows((1, 1)),
        "row": softmax_rows((1, 1, 1, 4000)),
        "tall": softmax_rows((1, 1, 3000, 1)),
    }
    for k, a in good.items():
        add("good-" + k, npy_bytes(a), "ok")
    a = good["lhtt"]
    for dt in ("<f8", "<i8", "<i4", "|u1", "|b1"):
        add("dtype-ok-" + dt.strip("<|"), npy_bytes(a.astype(np.dtype(dt))), None)
    for dt in ("<f2", ">f4", ">f8", "<c8", "|i1", "<u2", "<u8", "<U3", "|S4", "|V4", "|O", "<M8[s]", "f4", "<f4x",
               "'", "", "<f16"):
        add("dtype-" + dt.replace("|", "p").replace("<", "l").replace(">", "g").replace("'", "q").replace("[", "")
            .replace("]", ""), npy_bytes(descr=dt, shape=a.shape, body=a.tobytes()), "fail")
    add("fortran", npy_bytes(np.asfortranarray(a), fortran=True), "fail")
    # values
    for name, v in (("nan", np.nan), ("inf", np.inf), ("ninf", -np.inf), ("neg", -0.001), ("negzero", -0.0),
                    ("denormal", 1e-45), ("max", np.finfo(np.float32).max)):
        b = a.copy()
        b[1, 2, 3, 4] = v
        add("value-" + name, npy_bytes(b), "fail" if name in ("nan", "inf", "ninf", "neg") else None)
    add("value-f64-overflow", npy_bytes(np.full((3, 3), 1e300)), "fail")
    add("value-i64-max", npy_bytes(np.full((3, 3), (1 << 63) - 1, dtype=np.int64)), None)
    add("value-i64-min", npy_bytes(np.full((3, 3), -(1 << 63), dtype=np.int64)), "fail")
    add("rows-zero", npy_bytes(np.zeros((2, 4, 4), np.float32)), None)
    add("all-bool-false", npy_bytes(np.zeros((4, 4), bool)), None)
    add("scores-huge", npy_bytes(np.full((4, 4), 3e38, np.float32)), None)
    # shapes
    for shape in ((), (5,), (0, 0), (0, 5), (5, 0), (1, 0, 5, 5), (2, 2, 2, 2, 2), (2, 2, 1, 2, 2, 2),
                  (1, 1, 1, 1, 1, 1), (4097, 1, 1, 1), (1, 4097, 1, 1), (2, 3, 1, 5, 5)):
        n = int(np.prod(shape)) if shape else 1
        add("shape-" + "x".join(map(str, shape)), npy_bytes(descr="<f4", shape=shape,
                                                            body=np.full(n, 0.5, np.float32).tobytes()),
            "fail")
    for name, shape in (("int32-max", (1, 1 << 31)), ("past-int32", (1 << 32, 1)), ("product-overflow", (1 << 31 - 1,) * 5),
                        ("2g-values", (1 << 29, 2)), ("over-budget", (1 << 20, 1 << 10)), ("t-huge", (1 << 30, 1 << 30))):
        add("shape-" + name, npy_bytes(descr="<f4", shape=shape, body=b"\0" * 64), "fail")
    # headers
    base = npy_bytes(good["htt"])
    hlen = struct.unpack("<H", base[8:10])[0]
    for cut in range(0, 10 + hlen + 1):
        add("cut-%d" % cut, base[:cut], "fail")
    add("cut-body", base[:-3], "fail")
    add("magic", b"\x93NUMPZ" + base[6:], "fail")
    for v in (0, 4, 255):
        add("version-%d" % v, base[:6] + bytes([v]) + base[7:], "fail")
    add("v2", npy_bytes(good["htt"], version=2), "ok")
    add("v3", npy_bytes(good["htt"], version=3), "ok")
    add("v2-hlen-huge", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + base[10:], "fail")
    add("v2-short", b"\x93NUMPY\x02\x00\x10", "fail")
    add("v1-hlen-max", b"\x93NUMPY\x01\x00\xff\xff" + base[10:], "fail")
    sh = "(3, 5, 5)"
    hdrs = {
        "no-descr": "{'fortran_order': False, 'shape': %s, }" % sh,
        "no-shape": "{'descr': '<f4', 'fortran_order': False, }",
        "no-fortran": "{'descr': '<f4', 'shape': %s, }" % sh,
        "shape-unclosed": "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5, 5",
        "shape-list": "{'descr': '<f4', 'fortran_order': False, 'shape': [3, 5, 5], }",
        "shape-words": "{'descr': '<f4', 'fortran_order': False, 'shape': (three, 5, 5), }",
        "shape-neg": "{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 5, 5), }",
        "shape-plus": "{'descr': '<f4', 'fortran_order': False, 'shape': (+3, 5, 5), }",
        "shape-long": "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 5L, 5L), }",
        "shape-99digits": "{'descr': '<f4', 'fortran_order': False, 'shape': (%s, 5, 5), }" % ("9" * 99),
        "shape-ws": "{'descr': '<f4', 'fortran_order': False, 'shape': (\t3,\n5,5), }",
        "dup-shape": "{'shape': (1, 5, 5), 'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % sh,
        "dup-descr": "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % sh,
        "key-in-value": "{'descr': '<f4', 'fortran_order': False, 'x': \"'shape': (1,)\", 'shape': %s, }" % sh,
        "fortran-garbage": "{'descr': '<f4', 'fortran_order': Falsey, 'shape': %s, }" % sh,
        "fortran-true-caps": "{'descr': '<f4', 'fortran_order': TRUE, 'shape': %s, }" % sh,
        "nul-in-header": "{'descr': '<f4'\0, 'fortran_order': False, 'shape': %s, }" % sh,
        "non-utf8": "{'descr': '<f4', 'fortran_order': False, 'shape': %s, '\xff\xfe': 1}" % sh,
        "empty-dict": "{}",
        "empty": "",
        "descr-unclosed": "{'descr': '<f4",
        "colon-last": "{'descr':",
    }
    for name, h in hdrs.items():
        add("header-" + name, npy_bytes(header=h, body=good["htt"].tobytes()),
            "fail" if name.startswith("dup-") else None)
    # special files named .npy
    p = os.path.join(d, "dir.npy")
    if not os.path.isdir(p):
        os.mkdir(p)
    cases.append(Case("npy/a-folder", p, "fail"))
    p = os.path.join(d, "fifo.npy")
    if not os.path.exists(p):
        os.mkfifo(p)
    cases.append(Case("npy/a-fifo", p, "fail"))
    for name, target in (("loop.npy", "loop.npy"), ("dangling.npy", "nowhere.npy"), ("devzero.npy", "/dev/zero"),
                         ("devnull.npy", "/dev/null")):
        p = os.path.join(d, name)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)
        cases.append(Case("npy/link-" + name, p, "fail"))
    cases.append(Case("npy/missing", os.path.join(d, "nothing-here.npy"), "fail"))
    # a sparse file claiming 2 GiB minus a little of float32: in budget, all zeros
    p = os.path.join(d, "sparse-2g.npy")
    if not os.path.exists(p):
        hdr = npy_bytes(descr="<f4", shape=(1, 1, 16384, 32768 - 1), body=b"")
        with open(p, "wb") as f:
            f.write(hdr)
            f.truncate(len(hdr) + 4 * 16384 * (32768 - 1))
    cases.append(Case("npy/sparse-near-budget", p, None))
    p = os.path.join(d, "sparse-over.npy")
    if not os.path.exists(p):
        hdr = npy_bytes(descr="<f4", shape=(1, 1, 1 << 15, 1 << 15), body=b"")
        with open(p, "wb") as f:
            f.write(hdr)
            f.truncate(len(hdr) + 4 * (1 << 30) + 4)
    cases.append(Case("npy/sparse-over-budget", p, "fail"))

    # token files
    att = add("tok-target", npy_bytes(good["lhtt"]), "ok")
    cross = add("tok-cross", npy_bytes(good["lhts"]), "ok")
    tdir = os.path.join(d, "tokens")
    os.makedirs(tdir, exist_ok=True)

    def tok(name, data, expect, target=att, extra=(), opt="--tokens"):
        p = os.path.join(tdir, name)
        if data is not None:
            write(p, data)
        blame = [os.path.basename(p)]
        cases.append(Case("tokens/" + name, target, expect, args=[opt, p] + list(extra), blame=blame))

    five = ["a", "b", "c", "d", "e"]
    tok("good.txt", "\n".join(five) + "\n", "ok")
    tok("good-crlf.txt", "\r\n".join(five) + "\r\n", "ok")
    tok("good.json", json.dumps(five), "ok")
    tok("good-ints.json", json.dumps([1, 2, 3, 4, 5]), None)
    tok("no-last-newline.txt", "\n".join(five), "ok")
    tok("empty.txt", "", "fail")
    tok("only-newline.txt", "\n", "fail")
    tok("six.txt", "\n".join(five + ["f"]) + "\n", "fail")
    tok("four.json", json.dumps(five[:4]), "fail")
    tok("blank-lines.txt", "\n\n\n\n\n", "ok")
    tok("nul.txt", b"a\nb\0\nc\nd\ne\n", "fail")
    tok("non-utf8.txt", b"a\nb\xff\nc\nd\ne\n", "fail")
    tok("overlong-utf8.txt", b"a\n\xc0\xaf\nc\nd\ne\n", "fail")
    tok("surrogate.txt", b"a\n\xed\xa0\x80\nc\nd\ne\n", "fail")
    tok("escapes.txt", "\x1b[2J\n\x07\n\u202e\n\t\n\r\n", "ok")
    tok("giant-label.txt", "\n".join(["x" * (4 << 20)] + five[1:]) + "\n", "ok")
    tok("over-16m.txt", "\n".join(["x" * (17 << 20)] + five[1:]) + "\n", "fail")
    tok("nul-escape.json", json.dumps(["a\u0000b"] + five[1:]), None)
    tok("null-item.json", json.dumps([None] + five[1:]), "fail")
    tok("nested.json", json.dumps([["a"]] + five[1:]), "fail")
    tok("float.json", json.dumps([1.5] + five[1:]), "fail")
    tok("bool.json", json.dumps([True] + five[1:]), "fail")
    tok("huge-int.json", "[18446744073709551621, \"b\", \"c\", \"d\", \"e\"]", "fail")
    tok("object.json", json.dumps({"tokens": five}), "fail")
    tok("string.json", json.dumps("abcde"), "fail")
    tok("deep.json", deep_json(100000), "fail")
    tok("deep-ok-size.json", "[" + ",".join(['"a"'] * 4) + "," + deep_json(63) + "]", "fail")
    tok("invalid.json", "[\"a\", ", "fail")
    tok("non-utf8.json", b'["a", "\xff", "c", "d", "e"]', "fail")
    tok("dup-keys-deep.json", '[{"a":1,"a":2}, "b", "c", "d", "e"]', "fail")
    tok("trailing-comma.json", '["a", "b", "c", "d", "e",]', "fail")
    tok("single-quotes.json", "['a', 'b', 'c', 'd', 'e']", "fail")
    tok("bom.json", b"\xef\xbb\xbf" + json.dumps(five).encode(), None)
    tok("txt-looks-json.txt", json.dumps(five), "fail")
    os.makedirs(os.path.join(tdir, "folder.txt"), exist_ok=True)
    tok("folder.txt", None, "fail")
    fifo = os.path.join(tdir, "fifo.txt")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    tok("fifo.txt", None, "fail")
    for name, target in (("loop.txt", "loop.txt"), ("dangling.json", "nowhere"), ("devzero.txt", "/dev/zero"),
                         ("devnull.json", "/dev/null")):
        p = os.path.join(tdir, name)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)
        tok(name, None, "fail")
    tok("missing.txt", None, "fail")
    # the cross-attention's two sides
    seven = ["s%d" % i for i in range(7)]
    write(os.path.join(tdir, "seven.txt"), "\n".join(seven) + "\n")
    write(os.path.join(tdir, "five.txt"), "\n".join(five) + "\n")
    cases.append(Case("tokens/cross-both", cross, "ok",
                      args=["--tokens", os.path.join(tdir, "five.txt"), "--source-tokens", os.path.join(tdir, "seven.txt")]))
    cases.append(Case("tokens/cross-swapped", cross, "fail",
                      args=["--tokens", os.path.join(tdir, "seven.txt"), "--source-tokens", os.path.join(tdir, "five.txt")],
                      blame=["seven.txt", "five.txt"]))
    cases.append(Case("tokens/source-for-square", att, "usage",
                      args=["--source-tokens", os.path.join(tdir, "five.txt")], blame=["--source-tokens"]))
    tok("cross-source-nul.txt", b"a\0\n" * 7, "fail", target=cross, opt="--source-tokens")
    cases.append(Case("tokens/empty-option", att, None, args=["--tokens", ""], blame=["--tokens", "''"]))
    return cases


def cases_foreign_st(work):
    cases = []
    d = os.path.join(work, "c-st")
    os.makedirs(d, exist_ok=True)

    def add(name, data, expect=None):
        p = write(os.path.join(d, name + ".safetensors"), data)
        cases.append(Case("st/" + name, p, expect))

    a = softmax_rows((2, 3, 5, 5))
    f32 = lambda x: x.astype("<f4").tobytes()
    add("good", st_bytes([("attentions", "F32", a.shape, f32(a))]), "ok")
    add("good-f16", st_bytes([("attentions", "F16", a.shape, a.astype("<f2").tobytes())]), "ok")
    add("good-f64", st_bytes([("attentions", "F64", a.shape, a.astype("<f8").tobytes())]), "ok")
    add("good-hf", st_bytes([("attentions.%d" % l, "F32", (1,) + a.shape[1:], f32(a[l:l + 1])) for l in range(2)]), "ok")
    add("good-hf-3d", st_bytes([("attentions.%d" % l, "F32", a.shape[1:], f32(a[l])) for l in range(2)]), "ok")
    add("good-extra-tensor", st_bytes([("attentions", "F32", a.shape, f32(a)), ("logits", "F32", (3,), b"\0" * 12)]), "ok")
    for dt, raw in (("BOOL", b"\1" * a.size), ("U8", b"\1" * a.size), ("I8", b"\1" * a.size),
                    ("I32", np.ones(a.size, "<i4").tobytes()), ("I64", np.ones(a.size, "<i8").tobytes()),
                    ("F8_E4M3", b"\1" * a.size), ("U64", b"\0" * 8 * a.size), ("C64", b"\0" * 8 * a.size)):
        add("dtype-" + dt, st_bytes([("attentions", dt, a.shape, raw)]), None)
    bf = (a.view(np.uint32) >> 16).astype("<u2").tobytes()
    add("good-bf16", st_bytes([("attentions", "BF16", a.shape, bf)]), "ok")
    nanf16 = a.astype("<f2").copy()
    nanf16[0, 0, 0, 0] = np.inf
    add("f16-inf", st_bytes([("attentions", "F16", a.shape, nanf16.tobytes())]), "fail")
    for name, shape in (("1d", (a.size,)), ("6d", (1, 2, 3, 5, 5, 1)), ("zero", (0, 3, 5, 5)), ("5d-no-batch",
                        (2, 2, 3, 5, 5))):
        n = int(np.prod(shape))
        add("shape-" + name, st_bytes([("attentions", "F32", shape, np.full(n, 0.2, "<f4").tobytes())]), "fail")
    one = (1,) + a.shape[1:]
    L = lambda l, shape=one, dt="F32", raw=None: ("attentions.%s" % l, dt, shape, raw if raw is not None else
                                                  np.full(int(np.prod(shape)), 0.2, "<f4" if dt == "F32" else "<f2").tobytes())
    add("hf-gap", st_bytes([L(0), L(2)]), "fail")
    add("hf-from-1", st_bytes([L(1), L(2)]), "fail")
    add("hf-00", st_bytes([L(0), L("00")]), "fail")
    add("hf-01", st_bytes([L(0), L(1), L("01")]), "fail")
    add("hf-plus", st_bytes([L(0), L("+1")]), "fail")
    add("hf-minus", st_bytes([L(0), L("-1")]), "fail")
    add("hf-space", st_bytes([L(0), L(" 1")]), "fail")
    add("hf-word", st_bytes([L(0), L("x")]), "fail")
    add("hf-empty", st_bytes([L(0), L("")]), "fail")
    add("hf-huge-index", st_bytes([L(0), L("18446744073709551617")]), "fail")
    add("hf-shapes-differ", st_bytes([L(0), L(1, shape=(1, 3, 4, 4))]), "fail")
    add("hf-ranks-differ", st_bytes([L(0), L(1, shape=a.shape[1:])]), "fail")
    add("hf-dtypes-differ", st_bytes([L(0), L(1, dt="F16")]), None)
    add("hf-2d", st_bytes([L(0, shape=(5, 5))]), "fail")
    add("hf-4d-no-batch", st_bytes([L(0, shape=(2, 3, 5, 5))]), "fail")
    add("hf-5d", st_bytes([L(0, shape=(1, 1, 3, 5, 5))]), "fail")
    add("hf-zero", st_bytes([L(0, shape=(1, 0, 5, 5))]), "fail")
    add("hf-non-square", st_bytes([L(0, shape=(1, 3, 5, 7))]), None)
    add("hf-bool", st_bytes([L(0, dt="BOOL", raw=b"\1" * 75)]), None)
    add("hf-1000-layers", st_bytes([L(i, shape=(1, 1, 1, 1)) for i in range(1000)]), None)
    add("hf-5000-layers", st_bytes([L(i, shape=(1, 1, 1, 1)) for i in range(5000)]), "fail")
    add("hf-with-whole", st_bytes([("attentions", "F32", a.shape, f32(a)), L(0)]), None)
    add("none", st_bytes([("weights", "F32", (2,), b"\0" * 8)]), "fail")
    add("empty-header", st_bytes([]), "fail")
    add("metadata-not-strings", st_bytes([("attentions", "F32", a.shape, f32(a))], metadata={"format": 5}), None)
    add("metadata-dump-without-attnviz", st_bytes([("attentions", "F32", a.shape, f32(a))],
                                                  metadata={"format": "attnviz-dump"}), "fail")
    add("metadata-dump-empty", st_bytes([("attentions", "F32", a.shape, f32(a))],
                                        metadata={"format": "attnviz-dump", "attnviz": "{}"}), "fail")
    good = st_bytes([("attentions", "F32", a.shape, f32(a))])
    hlen = struct.unpack("<Q", good[:8])[0]
    for cut in range(0, 8 + hlen + 2):
        add("cut-%d" % cut, good[:cut], "fail")
    add("cut-data", good[:-1], "fail")
    add("hlen-huge", struct.pack("<Q", (1 << 64) - 1) + good[8:], "fail")
    add("hlen-past", struct.pack("<Q", hlen + 1000) + good[8:], "fail")
    hdr = good[8:8 + hlen]
    for name, h in (("deep", deep_json(200000).encode()), ("not-object", b"[1, 2]"), ("nul", hdr[:5] + b"\0" + hdr[6:]),
                    ("non-utf8", hdr.replace(b"attentions", b"attentions\xff", 1)),
                    ("dup-key", hdr[:-1] + b', "attentions": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'),
                    ("huge-number", hdr.replace(b"[2, 3, 5, 5]", b"[2, 3, 5, 18446744073709551621]")),
                    ("float-shape", hdr.replace(b"[2, 3, 5, 5]", b"[2, 3, 5, 5.0]")),
                    ("offsets-float", hdr.replace(b'"data_offsets": [0, ', b'"data_offsets": [0.0, ')),
                    ("spaces", b" " * 1000 + hdr)):
        add("header-" + name, struct.pack("<Q", len(h)) + h + good[8 + hlen:], "fail" if name != "spaces" else None)
    # overlap and offsets
    add("overlap", st_bytes([], header_override=None)[:0] + struct.pack("<Q", 0), "fail")
    h = json.dumps({"attentions": {"dtype": "F32", "shape": list(a.shape), "data_offsets": [0, a.size * 4]},
                    "x": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode()
    add("overlap-tensors", struct.pack("<Q", len(h)) + h + f32(a), "fail")
    h = json.dumps({"attentions": {"dtype": "F32", "shape": [1 << 20, 1 << 20, 1, 1],
                                   "data_offsets": [0, 0]}}).encode()
    add("shape-disagrees-offsets", struct.pack("<Q", len(h)) + h, "fail")
    h = json.dumps({"attentions": {"dtype": "F32", "shape": [1 << 31, 1 << 31, 1 << 31, 1 << 31],
                                   "data_offsets": [0, 0]}}).encode()
    add("shape-product-overflow", struct.pack("<Q", len(h)) + h, "fail")
    return cases


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    attnviz, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    only = None
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1]
    os.makedirs(work, exist_ok=True)
    scratch = os.path.join(work, "scratch")
    os.makedirs(scratch, exist_ok=True)
    dumps = make_dumps(attnviz, work)
    print("dumps:", ", ".join("%s/%s" % k for k in sorted(dumps)))
    cases = []
    cases += cases_foreign_npy(work)
    cases += cases_foreign_st(work)
    for (name, fmt), path in sorted(dumps.items()):
        tag = "%s-%s" % (name, fmt)
        if fmt == "json":
            cases += cases_json_dump(work, path, tag)
        elif fmt == "safetensors":
            cases += cases_st_dump(work, path, tag)
        else:
            cases += npy_folder_mutations(work, path, tag)
            cases.append(Case(tag + "/tokens-given", path, "usage",
                              args=["--tokens", os.path.join(work, "c-npy", "tokens", "good.txt")],
                              blame=["--tokens"]))
    if only:
        cases = [c for c in cases if only in c.name]
    if "--failed" in sys.argv:
        log = open(sys.argv[sys.argv.index("--failed") + 1]).read().splitlines()
        names = {l.split(": ")[0][len("FAIL "):] for l in log if l.startswith("FAIL ")}
        cases = [c for c in cases if c.name in names]
    print("%d cases" % len(cases), flush=True)
    n_failed = 0
    from concurrent.futures import ThreadPoolExecutor
    jobs = int(os.environ.get("JOBS", "2"))
    scratches = [os.path.join(scratch, str(i)) for i in range(jobs)]
    for s in scratches:
        os.makedirs(s, exist_ok=True)
    import threading
    free = list(scratches)
    lock = threading.Lock()

    def one(case):
        with lock:
            s = free.pop()
        try:
            return attack(attnviz, case, s)
        finally:
            with lock:
                free.append(s)

    with ThreadPoolExecutor(jobs) as pool:
        for case, failures in zip(cases, pool.map(one, cases)):
            if failures:
                n_failed += 1
                for f in failures:
                    print("FAIL %s: %s" % (case.name, f), flush=True)
    print("%d cases, %d failed" % (len(cases), n_failed))
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
