#!/usr/bin/env python3
"""Deterministic 3,039-pair benchmark corpus (CT-RATE's test-set size) from the public
metrics fixtures: each reference joins 2-4 fixture references, its hypothesis the matching
fixture hypotheses, perturbed (a sentence dropped, words swapped or repeated) by a fixed
LCG. Writes raw and basic-tokenized files:  OUT/{hyps,refs}.txt, OUT/{hyps,refs}.tok.txt,
and OUT/hyps_b.txt (a second, differently perturbed system for paired tests).
"""
import os
import sys

N = 3039


def basic_tokenize(text):
    """rad3d-metrics' `basic` tokenizer: lower-case, `. , ; : ? ! ( )` as tokens, except a
    `.`/`,` between two digits."""
    s = text.lower()
    out = []
    for i, c in enumerate(s):
        in_number = c in ".," and 0 < i < len(s) - 1 and s[i - 1].isdigit() and s[i + 1].isdigit()
        if c in ".,;:?!()" and not in_number:
            out.append(f" {c} ")
        else:
            out.append(c)
    return " ".join("".join(out).split())


class Lcg:
    def __init__(self, seed):
        self.state = seed

    def next(self, bound):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % 2**64
        return (self.state >> 33) % bound


def perturb(sentences, rng):
    words = " ".join(sentences).split(" ")
    kind = rng.next(4)
    if kind == 0 and len(sentences) > 1:
        sentences = list(sentences)
        del sentences[rng.next(len(sentences))]
        words = " ".join(sentences).split(" ")
    elif kind == 1 and len(words) > 3:
        i = rng.next(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif kind == 2:
        i = rng.next(len(words))
        words.insert(i, words[i])
    return " ".join(words)


def main():
    fixtures = os.environ.get("RAD3D_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "fixtures"))
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    read = lambda n: open(os.path.join(fixtures, "metrics", n), encoding="utf-8").read().splitlines()
    hyps, refs = read("public_hyps.txt"), read("public_refs.txt")
    rng, rng_b = Lcg(2024), Lcg(7)
    H, R, B = [], [], []
    for _ in range(N):
        k = 2 + rng.next(3)
        idx = [rng.next(len(refs)) for _ in range(k)]
        R.append(" ".join(refs[i] for i in idx))
        H.append(perturb([hyps[i] for i in idx], rng))
        B.append(perturb([hyps[i] for i in idx], rng_b))
    for name, lines in [("hyps", H), ("refs", R), ("hyps_b", B)]:
        with open(os.path.join(out, f"{name}.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(out, f"{name}.tok.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(basic_tokenize(x) for x in lines) + "\n")


if __name__ == "__main__":
    main()
