"""The user docs: the README is a short front door (the run and test commands on its first screen), docs/ holds the
rest, no development log anywhere (issue numbers, commit hashes, session narration), every `explorer.…` name and
`explorer/…` path they mention exists, every relative link and anchor resolves, and the README's Python example
runs."""
import contextlib
import importlib
import io
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
MARKER = "# README test command (keep identical):"


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def ci_test_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return lines[lines.index(MARKER) + 1].strip()


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines (at most 200)"
    first = "\n".join(lines[:40])
    assert "streamlit run app.py" in first
    command = ci_test_command()
    assert command.startswith("pip install") and command.endswith("python -m pytest")
    assert command in lines[:40], "the CI test command, identical and on a line of its own, in the first 40 lines"
    assert "![" in first, "a picture on the first screen"


def test_docs_exist():
    names = {p.name for p in DOCS}
    assert {"science.md", "cli.md", "hosting.md", "testing.md", "design.md"} <= names


# "issue 14", "issues 3 and 4", "(#12)": this project's issues; another project's "owner/repo#12" or "lib#12" is
# fine, and so is a link to a heading that starts with a digit ("#2-d-trajectories")
ISSUE = re.compile(r"\bissues?\s+#?\d+|(?<![\w/])#\d+(?![\w-])", re.IGNORECASE)
HEX = re.compile(r"\b[0-9a-f]{7,40}\b")
NARRATION = re.compile(r"\b(this|last|previous|earlier|next|same) session\b", re.IGNORECASE)


def commit_hashes(text: str) -> list[str]:
    """Words of 7–40 hex digits with a digit and a letter in them (a number or an English word is not a hash)."""
    return [h for h in HEX.findall(text) if re.search(r"\d", h) and re.search(r"[a-f]", h)]


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_no_development_log(path):
    text = path.read_text()
    assert not ISSUE.findall(text), f"issue references in {page_id(path)}"
    assert not commit_hashes(text), f"commit hashes in {page_id(path)}"
    assert not NARRATION.findall(text), f"session narration in {page_id(path)}"


def test_the_checks_catch_what_they_should():
    assert ISSUE.findall("as issue 14 asked") and ISSUE.findall("fixed (#12)") and ISSUE.findall("Issue #3")
    assert not ISSUE.findall("deeplearning4j#5843 warns") and not ISSUE.findall("# Title")
    assert not ISSUE.findall("[the tab](app.md#2-d-trajectories)")
    assert commit_hashes("the earlier code (`cff56b2`)") == ["cff56b2"]
    assert not commit_hashes("1,797 digits, 1234567 steps, a defaced wall")
    assert DOTTED.findall("`explorer.runs.sweep.run_sweep(cfg)`, `python -m explorer sweep`, the explorer.") == [
        "explorer.runs.sweep.run_sweep"]
    assert slug("The coupling, measured: lr × λ heat maps") == "the-coupling-measured-lr--λ-heat-maps"
    assert slug("A model at equilibrium: `layernorm-equilibrium`") == "a-model-at-equilibrium-layernorm-equilibrium"


# a dotted name: explorer.a.b…, each part an identifier, not part of a longer word or path; a trailing dot is prose
DOTTED = re.compile(r"(?<![\w./-])explorer(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"(?<![\w./-])explorer/[\w./-]*")


def resolve(name: str):
    """Import the longest module prefix of a dotted name, then getattr the rest."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        module = ".".join(parts[:i])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name is not None and module.startswith(e.name) and e.name.startswith("explorer"):
                continue               # this prefix is not a module: try a shorter one
            raise
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def mentioned_names() -> list[tuple[str, str]]:
    return sorted({(page_id(p), n) for p in PAGES for n in DOTTED.findall(p.read_text())})


def test_docs_mention_explorer_names():
    assert len(mentioned_names()) >= 10


@pytest.mark.parametrize("page, name", mentioned_names(), ids=lambda x: x)
def test_every_explorer_name_imports(page, name):
    try:
        resolve(name)
    except (ImportError, AttributeError) as e:
        pytest.fail(f"{page} mentions {name}, which does not resolve: {e}")


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_every_explorer_path_exists(path):
    missing = [p for p in PATH.findall(path.read_text()) if not (ROOT / p.rstrip(".")).exists()]
    assert not missing, f"{page_id(path)} names files that do not exist: {missing}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation and symbols dropped, spaces to hyphens."""
    keep = "".join(c for c in heading.strip().lower()
                   if c in " -_" or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc")
    return keep.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.MULTILINE)}


LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_relative_links_and_anchors_resolve(path):
    broken = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue                                   # http(s), mailto: not checked here
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(target)
    assert not broken, f"broken links in {page_id(path)}: {broken}"


def python_example() -> str:
    text = README.read_text()
    section = text.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)


def test_the_readme_python_example_runs():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # as in the suite's workers; fast whatever runs beside it
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(python_example(), "README.md: Use it from Python", "exec"), {"__name__": "readme_example"})
    finally:
        torch.set_num_threads(threads)
    printed = out.getvalue()
    # the numbers its comments and the README's first screen quote
    assert "Adam + L2" in printed and "(1.818, 0.182)" in printed
    assert printed.count("(0.921, 0.921)") == 2
    assert "coupling slope" in printed
