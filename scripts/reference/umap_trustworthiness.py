#!/usr/bin/env python3
"""Trustworthiness of our UMAP against umap-learn's on the same data (docs/umap.md).

Developer tool (needs umap-learn and scikit-learn; never run by CI). Data sets:
scikit-learn's bundled digits (1,797 x 64) and Gaussian blobs (1,500 x 50, 5 centres).
For each: umap-learn with its default spectral start and with init="pca", and our
`umap_points` example with init pca and random, five seeds each; prints the mean and
range of trustworthiness at k = 15 (sklearn.manifold.trustworthiness, which our
example's value equals) and the fit seconds.

Usage: scripts/reference/umap_trustworthiness.py [--bin target/release/examples/umap_points]
"""
import argparse
import os
import subprocess
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits, make_blobs
from sklearn.manifold import trustworthiness
import umap

K = 15
SEEDS = range(5)


def ours(binary, x, init, seed, tmp):
    points = os.path.join(tmp, "points.csv")
    out = os.path.join(tmp, "emb.csv")
    np.savetxt(points, x, delimiter=",", fmt="%.9g")
    res = subprocess.run([binary, points, out, str(K), "2", init, str(seed)],
                         check=True, capture_output=True, text=True).stdout
    values = dict(line.split() for line in res.splitlines())
    emb = np.loadtxt(out, delimiter=",")
    # Our value and scikit-learn's on our embedding agree; digits' integer pixels tie many
    # distances, which scikit-learn's argsort orders arbitrarily and ours by index.
    t_sk = trustworthiness(x, emb, n_neighbors=K)
    assert abs(t_sk - float(values["trustworthiness"])) < 1e-4, (t_sk, values)
    return t_sk, float(values["seconds"])


def theirs(x, init, seed):
    t0 = time.perf_counter()
    emb = umap.UMAP(n_neighbors=K, n_components=2, init=init, random_state=seed).fit_transform(x)
    return trustworthiness(x, emb, n_neighbors=K), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/examples/umap_points")
    a = ap.parse_args()
    digits = load_digits().data.astype(np.float32)
    blobs, _ = make_blobs(n_samples=1500, n_features=50, centers=5, random_state=0)
    with tempfile.TemporaryDirectory() as tmp:
        for name, x in [("digits", digits), ("blobs", blobs.astype(np.float32))]:
            rows = []
            for label, fn in [
                ("umap-learn spectral", lambda s: theirs(x, "spectral", s)),
                ("umap-learn pca", lambda s: theirs(x, "pca", s)),
                ("rad3d-umap pca", lambda s: ours(a.bin, x, "pca", s, tmp)),
                ("rad3d-umap random", lambda s: ours(a.bin, x, "random", s, tmp)),
            ]:
                ts, secs = zip(*(fn(s) for s in SEEDS))
                rows.append((label, np.mean(ts), min(ts), max(ts), np.median(secs)))
            print(f"## {name} ({x.shape[0]} x {x.shape[1]}), trustworthiness at k = {K}")
            print("| method | mean | min | max | median s |")
            print("|---|---:|---:|---:|---:|")
            for r in rows:
                print(f"| {r[0]} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} | {r[4]:.2f} |")
            print()


if __name__ == "__main__":
    main()
