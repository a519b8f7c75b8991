#!/usr/bin/python3
"""Reference head-detector scores for tests/test-measures.c.

For each case, dumps the attention of a model on fixed ids with
`attnviz dump` (the matrices the engine records), then scores every head
the way TransformerLens's head detector does (transformer_lens/head_detector.py:
get_previous_token_head_detection_pattern, get_duplicate_token_head_detection_pattern,
get_induction_head_detection_pattern and compute_head_attention_similarity_score
with error_measure="mul", exclude_bos and exclude_current_token off), in
float64 PyTorch, and writes tests/fixtures/measures/NAME.json:

    {"model": path from the source root, "ids": [...],
     "previous_token": [[L x H]], "duplicate_token": [[...]], "induction": [[...]]}

The test runs the engine on the same ids and compares its own scores.

    tools/make-measure-fixtures.py [BUILD_DIR]     (default _build)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ids with repeats: a BOS, a random run, the run again (and for the GPT-2
# fixture a token repeated next to itself, where the induction mask has
# an entry on the diagonal)
CASES = {
    "induction-decoder": ("data/models/induction-decoder",
                          [1, 30, 9, 41, 17, 22, 5, 36, 12, 27, 19, 40, 8, 33,
                           30, 9, 41, 17, 22, 5, 36, 12, 27, 19, 40, 8, 33]),
    "gpt2-tiny": ("tests/fixtures/gpt2-tiny",
                  [1, 7, 7, 45, 3, 90, 12, 7, 45, 3, 90, 12, 64, 7, 7, 45]),
}


def duplicate_pattern(tokens):
    # token j equals token i, j < i (the diagonal cleared), lower triangle
    t = tokens.repeat(tokens.shape[-1], 1).numpy()
    eq = np.equal(t, t.T).astype(int)
    np.fill_diagonal(eq, 0)
    return torch.tril(torch.as_tensor(eq).double())


def previous_pattern(tokens):
    n = tokens.shape[-1]
    p = torch.zeros(n, n, dtype=torch.float64)
    p[1:, :-1] = torch.eye(n - 1, dtype=torch.float64)
    return torch.tril(p)


def induction_pattern(tokens):
    dup = duplicate_pattern(tokens)
    shifted = torch.roll(dup, shifts=1, dims=1)
    zeros = torch.zeros(dup.shape[0], 1, dtype=torch.float64)
    return torch.tril(torch.cat((zeros, shifted[:, 1:]), dim=1))


def score(attention, pattern):
    # error_measure "mul": the share of all the head's attention on the mask
    return ((attention * pattern).sum() / attention.sum()).item()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "_build")
    exe = os.path.join(build, "app", "attnviz")
    out_dir = os.path.join(ROOT, "tests", "fixtures", "measures")
    os.makedirs(out_dir, exist_ok=True)
    for name, (model, ids) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            dump = os.path.join(tmp, "dump")
            subprocess.run([exe, "dump", os.path.join(ROOT, model), "--ids", ",".join(map(str, ids)),
                            "-o", dump, "-q"], check=True)
            att = np.load(os.path.join(dump, "attentions.npy")).astype(np.float64)
        tokens = torch.tensor(ids)[None, :]
        patterns = {"previous_token": previous_pattern(tokens),
                    "duplicate_token": duplicate_pattern(tokens),
                    "induction": induction_pattern(tokens)}
        result = {"model": model, "ids": ids}
        for key, pattern in patterns.items():
            result[key] = [[score(torch.from_numpy(att[l, h]), pattern) for h in range(att.shape[1])]
                           for l in range(att.shape[0])]
        path = os.path.join(out_dir, name + ".json")
        with open(path, "w") as f:
            json.dump(result, f)
            f.write("\n")
        print(path)


if __name__ == "__main__":
    main()
