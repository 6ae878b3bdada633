"""Synthetic but learnable token data for `mnistx converge` on a KerasHub text classifier.

Each sequence holds random filler tokens (40..VOCAB-1) and exactly one keyword token (10, 20 or
30) at a random position inside its real length; the label is which keyword (0, 1, 2). Lengths
vary (half to full SEQ), padded with 0 after the end; padding_mask marks the real tokens and
segment_ids are 0. A model learns it only by attending to the keyword: chance is 33%.

    python benchmarks/converge_text_data.py out/text.npz        # 4096 training, 1024 test rows
    mnistx converge --model benchmarks/atlas_models.py:bert_classifier --data out/text.npz
"""

from __future__ import annotations

import argparse

import numpy as np

SEQ, VOCAB = 32, 128  # atlas_models.py's SEQ and VOCAB (not imported: that loads KerasHub)

KEYWORDS = (10, 20, 30)


def make(n: int, rng: np.random.Generator) -> dict:
    """x_token_ids, x_segment_ids, x_padding_mask (n, SEQ) and y (n,) class ids."""
    lengths = rng.integers(SEQ // 2, SEQ + 1, n)
    tokens = rng.integers(40, VOCAB, (n, SEQ))
    mask = np.arange(SEQ)[None, :] < lengths[:, None]
    y = rng.integers(0, len(KEYWORDS), n)
    where = (rng.random(n) * lengths).astype(int)
    tokens[np.arange(n), where] = np.asarray(KEYWORDS)[y]
    tokens[~mask] = 0
    return {"token_ids": tokens.astype(np.int32), "segment_ids": np.zeros((n, SEQ), np.int32),
            "padding_mask": mask.astype(np.int32), "y": y.astype(np.int32)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the .npz to write")
    ap.add_argument("--train", type=int, default=4096)
    ap.add_argument("--test", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    arrays = {}
    for split, n in (("train", args.train), ("test", args.test)):
        d = make(n, rng)
        arrays[f"y_{split}"] = d.pop("y")
        arrays.update({f"x_{k}_{split}": v for k, v in d.items()})
    np.savez(args.out, **arrays)
    print(f"{args.out}: {args.train} training and {args.test} test rows of {SEQ} tokens, 3 classes")


if __name__ == "__main__":
    main()
