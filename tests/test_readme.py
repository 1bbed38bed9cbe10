"""The README and the docs pages as a reader meets them.

- Every ```python block runs as written: per page, in order, in one fresh namespace, in an empty folder.
  Where a `print(...)` line ends in a comment, the comment is what it prints: each number in the comment
  equals the printed one to the digits the comment shows (a comment without numbers is the printed text).
- Every ```console block whose commands are `$ torch-neuron …` is run, its commands in order in one empty
  folder: each prints what the block shows below it (the lines shown, from the first; numbers to the digits
  shown, or to 1e-12 relative where 15 or more are shown; `time:` (`시간:`) lines are not compared).
- Every relative link and picture leads to a file, and the README links every docs page.
Blocks not meant to run are fenced ```text, ```console without `$ torch-neuron`, or ```bash.
"""

import ast
import contextlib
import io
import math
import re
import tokenize
from pathlib import Path

import pytest
import reference as ref

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
NEEDS_PLOT = ("torch_neuron.plot", "from torch_neuron import plot", "tn.plot", "matplotlib")


def _rel(page):
    return page.relative_to(ROOT).as_posix()


def blocks(page, *langs):
    """(line number of the fence, body) of each fenced block of these languages, in order."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(2)) for m in FENCE.finditer(text) if m.group(1) in langs]


# ---------------------------------------------------------------- the numbers a comment shows


def _numbers(text):
    return [m.group(0) for m in NUMBER.finditer(text)]


def _close(shown, got, *, digits15_rel=0.0):
    """got (a float) equals shown (the text of a number) to the digits shown."""
    mantissa = shown.lstrip("+-").split("e")[0].split("E")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(re.split("[eE]", shown)[1]) if re.search("[eE]", shown) else 0
    want = float(shown)
    tol = 0.5 * 10.0 ** (exponent - decimals)
    significant = len(mantissa.replace(".", "").lstrip("0"))
    if digits15_rel and significant >= 15:
        tol = max(tol, digits15_rel * abs(want))
    return math.isfinite(float(got)) and abs(float(got) - want) <= tol


def check_shown(shown, printed, where, *, digits15_rel=0.0):
    """The printed text shows what the comment (or shown line) says: the same numbers, to the digits shown."""
    want, got = _numbers(shown), _numbers(printed)
    if not want:
        assert printed.strip() == shown.strip(), f"{where}: prints {printed.strip()!r}, the text shows {shown!r}"
        return
    assert len(got) == len(want), f"{where}: prints {printed.strip()!r}, the text shows {shown!r}"
    for s, g in zip(want, got):
        assert _close(s, float(g), digits15_rel=digits15_rel), (
            f"{where}: prints {printed.strip()!r}, the text shows {shown!r} ({g} is not {s})"
        )


def _comments(source):
    """{line number: comment text} of the block's comments."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string[1:].strip()
    return out


def _is_print(stmt):
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Name)
        and stmt.value.func.id == "print"
    )


def run_block(source, namespace, where):
    """Run the block statement by statement; a print with a trailing comment must print what the comment shows."""
    tree = ast.parse(source, filename=where)
    comments = _comments(source)
    for stmt in tree.body:
        code = compile(ast.Module([stmt], type_ignores=[]), where, "exec")
        comment = comments.get(stmt.end_lineno) if _is_print(stmt) else None
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
        if comment is not None:
            check_shown(comment, out.getvalue(), f"{where}, line {stmt.lineno}")


PYTHON_PAGES = [p for p in PAGES if blocks(p, "python")]


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_rel)
def test_python_blocks_run_as_written(page, tmp_path, monkeypatch):
    try:
        import matplotlib  # noqa: F401

        have_plot = True
    except ImportError:
        have_plot = False
    monkeypatch.chdir(tmp_path)  # whatever a block writes lands here
    namespace = {"__name__": "__readme__"}
    skipped = []
    for line, body in blocks(page, "python"):
        if not have_plot and any(word in body for word in NEEDS_PLOT):
            skipped.append(line)  # a picture needs the [plot] extra; the other blocks still run
            continue
        run_block(body, namespace, f"{_rel(page)}:{line}")
    if skipped:
        pytest.skip(f"the blocks at lines {skipped} need matplotlib (the [plot] extra); the others ran")


def test_the_readme_has_python_to_run():
    assert blocks(README, "python")


def test_the_readme_shows_the_reference_numbers():
    # the numbers the README prints are the book's (tests/reference.py recomputes them from outside oracles)
    text = README.read_text(encoding="utf-8")
    for value in (ref.W_100, ref.B_100, ref.PREDICT_018):
        assert repr(value) in text


def test_a_print_comment_is_checked():
    # the checker itself: a wrong number, a missing digit and wrong text fail; rounding to the digits shown passes
    run_block("print(round(2 / 3, 4))  # 0.6667\nprint(1 / 3)  # 0.333\n", {}, "ok")
    for bad in (
        "print(2 / 3)  # 0.66\n",
        "print(1.5)  # 1.5 2.5\n",
        "print(True)  # False\n",
        "print(913.5973364346768)  # 913.5973364346786\n",
    ):
        with pytest.raises(AssertionError):
            run_block(bad, {}, "bad")


# ---------------------------------------------------------------- the command line sessions shown


def sessions(page):
    """(where, [(argv, shown output lines)]) of each console block with `$ torch-neuron …` lines: one folder a block."""
    out = []
    for line, body in blocks(page, "console"):
        lines, commands = body.splitlines(), []
        for i, text in enumerate(lines):
            if text.startswith("$ "):
                shown = []
                for after in lines[i + 1 :]:
                    if after.startswith("$ "):
                        break
                    shown.append(after)
                commands.append((text[2:].split(), shown))
        if any(argv[0] == "torch-neuron" for argv, _ in commands):
            assert all(argv[0] == "torch-neuron" for argv, _ in commands), f"{_rel(page)}:{line}: only torch-neuron"
            out.append((f"{_rel(page)}:{line}", commands))
    return out


SESSIONS = [s for p in PAGES for s in sessions(p)]


def torch_neuron_command(argv):
    """What `torch-neuron argv…` prints (stdout, then stderr), run in this process: the installed command's main."""
    from torch_neuron.cli import main  # the console script's entry point (pyproject.toml)

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit:
            pass
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("where, commands", SESSIONS, ids=[s[0] for s in SESSIONS])
def test_console_sessions_print_what_they_show(where, commands, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # in order, in one folder: a later command may read what an earlier one wrote
    for argv, shown in commands:
        printed = torch_neuron_command(argv[1:]).splitlines()
        said = f"{where}: $ {' '.join(argv)}"
        assert len(printed) >= len(shown), f"{said}: printed {printed}"
        for k, (want, got) in enumerate(zip(shown, printed)):
            timing = next((w for w in ("time:", "시간:") if want.startswith(w)), None)  # --lang ko says 시간
            if timing:
                assert got.startswith(timing), f"{said}, line {k + 1}: {got!r}"
                continue
            assert NUMBER.sub("#", want) == NUMBER.sub("#", got), (
                f"{said}, line {k + 1}: prints {got!r}, shown {want!r}"
            )
            check_shown(want, got, f"{said}, line {k + 1}", digits15_rel=1e-12)


# ---------------------------------------------------------------- links


def links(page):
    text = FENCE.sub("", page.read_text(encoding="utf-8"))  # links inside code blocks are code, not links
    text = re.sub(r"`[^`\n]*`", "", text)
    return [m.group(1) for m in LINK.finditer(text)]


def anchors(page):
    """The anchors of a page's headings, as GitHub makes them: lower case, punctuation dropped, spaces as hyphens."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_lead_to_files(page):
    missing = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # a web address
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            missing.append(target)
    assert not missing, f"{_rel(page)} links to missing files or headings: {missing}"


def test_the_readme_links_every_docs_page():
    linked = {(README.parent / t.split("#")[0]).resolve() for t in links(README)}
    assert [_rel(p) for p in DOCS if p.resolve() not in linked] == []


def test_the_link_finder_finds_links():
    page = "[a](docs/a.md) ![b](docs/b.png) [c](https://x.org) `[d](no.md)`\n```text\n[e](no.md)\n```\n"
    text = re.sub(r"`[^`\n]*`", "", FENCE.sub("", page))
    assert [m.group(1) for m in LINK.finditer(text)] == ["docs/a.md", "docs/b.png", "https://x.org"]
