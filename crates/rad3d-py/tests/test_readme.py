"""The README's "From Python" example runs as printed."""

import contextlib
import io

from conftest import REPO


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_example_runs():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    bleu4, ci = lines[0].split(" ", 1)
    assert 0.0 <= float(bleu4) <= 1.0 and "lower" in ci
    assert all(float(x) >= 0.0 for x in lines[1].split())
