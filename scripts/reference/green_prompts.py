#!/usr/bin/env python3
"""Reference data for rad3d-metrics' GREEN implementation, made with GREEN's own code.

GREEN (github.com/Stanford-AIMI/GREEN) is not importable without its heavy dependencies
(sentence-transformers, sklearn, datasets), so this script loads the functions it needs
straight from a GREEN checkout's source with `ast` and executes them unchanged:
`make_prompt` and `clean_responses` (green_score/utils.py), the judge chat template and the
methods `parse_error_counts` / `compute_green` (green_score/green.py). The chat template is
rendered with transformers' own `render_jinja_template`, as `apply_chat_template` does.

Writes
  crates/rad3d-metrics/tests/data/green_prompts.json   prompts + chat texts for the fixture pairs
  crates/rad3d-metrics/tests/data/green_parse_cases.json  extra responses with GREEN's parse

Usage:
  .venv-ref/bin/python scripts/reference/green_prompts.py GREEN_CHECKOUT [FIXTURES_DIR]
"""

import ast
import json
import os
import re
import sys
import types

from transformers.utils.chat_template_utils import render_jinja_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "rad3d-metrics", "tests", "data")


def load_functions(path, names, cls=None):
    """Executes the named top-level functions (or methods of `cls`) of a source file."""
    tree = ast.parse(open(path).read())
    body = tree.body
    if cls is not None:
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    defs = [n for n in body if isinstance(n, ast.FunctionDef) and n.name in names]
    assert len(defs) == len(names), f"not all of {names} found in {path}"
    namespace = {"re": re}
    exec(compile(ast.Module(body=defs, type_ignores=[]), path, "exec"), namespace)
    return [namespace[n] for n in names]


def chat_template(path):
    """The string assigned to `chat_template` in GREEN.__init__."""
    for node in ast.walk(ast.parse(open(path).read())):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "chat_template"
        ):
            return node.value.value
    raise SystemExit(f"no chat_template in {path}")


def main():
    green_dir = sys.argv[1]
    fixtures = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "..", "shared", "fixtures")
    utils_py = os.path.join(green_dir, "green_score", "utils.py")
    green_py = os.path.join(green_dir, "green_score", "green.py")
    make_prompt, clean_responses = load_functions(utils_py, ["make_prompt", "clean_responses"])
    parse_error_counts, compute_green = load_functions(
        green_py, ["parse_error_counts", "compute_green"], cls="GREEN"
    )
    template = chat_template(green_py)
    cases = json.load(open(os.path.join(fixtures, "green", "green_cases.json")))

    # A stand-in `self` carrying GREEN's category lists (from the fixture, which copied
    # them from GREEN.__init__).
    scorer = types.SimpleNamespace(
        categories=cases["categories"], sub_categories=cases["sub_categories"]
    )
    scorer.parse_error_counts = types.MethodType(parse_error_counts, scorer)
    scorer.compute_green = types.MethodType(compute_green, scorer)

    def chat(prompt, eos):
        messages = [{"from": "human", "value": prompt}, {"from": "gpt", "value": ""}]
        rendered, _ = render_jinja_template(
            conversations=[messages],
            chat_template=template,
            add_generation_prompt=True,
            eos_token=eos,
        )
        return rendered[0]

    pairs = [(c["reference"], c["hypothesis"]) for c in cases["cases"]]
    # Extra pairs: whitespace runs, truncation at 300 words, empty candidate, unicode.
    long_ref = " ".join(f"w{i}" for i in range(320))
    pairs += [
        ("  Mild\tcardiomegaly.\n\nNo  effusion. ", "Normal heart size."),
        (long_ref, "Short report."),
        ("Left lower lobe opacity.", ""),
        ("Nodule 3.5 cm, pleural effusion — small; no pneumothorax.", "Ödem 2 cm ✓"),
    ]
    prompts = []
    for ref, hyp in pairs:
        prompt = make_prompt(ref, hyp)
        prompts.append(
            {
                "reference": ref,
                "hypothesis": hyp,
                "prompt": prompt,
                "chat_llama2": chat(prompt, "</s>"),
                "chat_im_end": chat(prompt, "<|im_end|>"),
            }
        )
    with open(os.path.join(OUT, "green_prompts.json"), "w") as f:
        json.dump({"template": template, "cases": prompts}, f, indent=1, ensure_ascii=False)

    # Responses exercising the parser's corners, with GREEN's own results.
    sig = "[Clinically Significant Errors]:\n"
    insig = "[Clinically Insignificant Errors]:\n"
    matched = "[Matched Findings]:\n"
    lines = [f"({c}) x: {n}. y" for c, n in zip("abcdef", [1, 0, 2, 0, 0, 3])]
    responses = [case["judge_response"] for case in cases["cases"]]
    responses += [
        sig + "\n".join(lines) + "\n\n" + insig + "(a) x: 4.\n\n" + matched + "5. a; b",
        # numbered instead of lettered sub-categories
        sig + "(1) x: 2.\n(3) y: 1.\n\n" + matched + "3.",
        # section starting with "No"
        sig + "No errors.\n\n" + matched + "2. a; b",
        # no matched findings → 0
        sig + "(a) x: 1.\n\n" + matched + "0.",
        # missing sections entirely
        "The reports agree.",
        # duplicate letters: the last in sorted order wins; counts without a period
        sig + "(b) x: 7.\n(b) a: 2.\n(c) z: 3 errors\n\n" + matched + "4. ok",
        # matched count not at the start, and a count glued to letters
        sig + "(a) x: 2a.\n(d) y:  5.\n\n" + matched + "Two. a\n",
        # blank line made of spaces ends a section; tabs and CRLF
        sig + "(a) x: 1.\n   \n(b) y: 9.\n\n" + matched + "1.",
        sig.replace("\n", "\r\n") + "(a) x: 2.\r\n(e) y: 1.\r\n\r\n" + matched + "6.\r\n",
        # unicode digits and extra text on a line
        sig + "(a) x: ٣. (b) y: 1.\n(f) q: 10.\n\n" + matched + "٢. z",
        # a second [Matched Findings] block, leading whitespace in the section
        matched + "   \n  3. x\n\n" + matched + "8.",
        # explanation header and assistant marker (for clean_responses)
        "<|user|>\nprompt</s>\n<|assistant|>\n[Explanation]:\nfine\n\n" + sig + "(a) x: 1.\n\n" + matched + "1. y</s>",
    ]
    parse_cases = []
    for r in responses:
        _, sig_counts = scorer.parse_error_counts(r, scorer.categories[0])
        _, insig_counts = scorer.parse_error_counts(r, scorer.categories[1])
        n_matched, _ = scorer.parse_error_counts(r, scorer.categories[2])
        parse_cases.append(
            {
                "response": r,
                "significant_errors": sig_counts,
                "insignificant_errors": insig_counts,
                "matched_findings": n_matched,
                "green": scorer.compute_green(r),
                "cleaned": clean_responses(r),
            }
        )
    with open(os.path.join(OUT, "green_parse_cases.json"), "w") as f:
        json.dump(parse_cases, f, indent=1, ensure_ascii=False)
    print(f"wrote {len(prompts)} prompts and {len(parse_cases)} parse cases to {OUT}")


if __name__ == "__main__":
    main()
