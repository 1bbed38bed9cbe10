"""docs/chapter3_neuron.ipynb as its readers find it: stored with its outputs (pictures included, so GitHub shows
them), small; a fresh run, on CPU in this test run's own Python and under 2 minutes, reproduces the stored w and b
and writes nothing where it runs; its first cell installs only from the repository it sits in, else says how.

Store the notebook with fresh outputs (after changing it):  python tests/test_notebook.py --store
"""

import base64
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest
from reference import B_100, W_100

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "chapter3_neuron.ipynb"
BUDGET_S = 120
MAX_BYTES = 2 * 2**20  # the stored notebook, pictures included
WIDGET = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = (
    "(슬라이더는 Jupyter 나 Colab 에서 이 셀을 실행하면 나타납니다: 아래는 같은 그림을 세 학습률에서 그린 것입니다)\n"
)
NUMBER = re.compile(r"\b([wb]) = \s*(-?\d[\d.]*(?:e[+-]?\d+)?)")


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def execute(nb, folder, *, extra_cell=None):
    """Run nb with nbclient in folder (its working directory) → (nb with outputs, seconds).

    The kernel named python3 is found first in a kernel spec written here that starts this very interpreter
    (sys.executable), so the run uses this environment and nothing is registered globally.
    """
    folder = Path(folder)
    spec = folder / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (this test run)",
                "language": "python",
            }
        )
    )
    work = folder / "work"
    work.mkdir()
    if extra_cell:
        nb.cells.append(nbformat.v4.new_code_cell(extra_cell))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(folder / "jupyter"))  # searched before the user's and system's
        env.setenv("JUPYTER_RUNTIME_DIR", str(folder / "runtime"))  # connection files here, not in $HOME
        env.setenv("IPYTHONDIR", str(folder / "ipython"))
        env.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        client = nbclient.NotebookClient(
            nb,
            timeout=BUDGET_S,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(work)}},
        )
        start = time.perf_counter()
        client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
        seconds = time.perf_counter() - start
    return nb, seconds


def for_readers(nb):
    """The executed notebook as it is stored: no widget state (a kernel draws the sliders anew), and in place of
    the sliders' output a line saying where they appear, so that GitHub shows text, not a broken widget."""
    nb.metadata.pop("widgets", None)
    for cell in code_cells(nb):
        cell.metadata.pop("execution", None)
        for k, out in enumerate(cell.outputs):
            if WIDGET in out.get("data", {}):
                cell.outputs[k] = nbformat.v4.new_output("stream", name="stdout", text=WIDGET_NOTE)
    return nb


def store():
    """Run the notebook in a temporary folder and store it with its outputs."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        nb, seconds = execute(nb, folder)
    nb = for_readers(nb)
    nbformat.validate(nb)
    nbformat.write(nb, NOTEBOOK)
    print(f"{NOTEBOOK}: {NOTEBOOK.stat().st_size / 2**20:.2f} MiB, ran in {seconds:.0f} s")


def text_output(nb):
    return "".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "") for c in code_cells(nb) for o in c.outputs
    )


def printed_numbers(nb):
    """Every printed 'w = …' and 'b = …' in order: (name, value)."""
    return [(name, float(value)) for name, value in NUMBER.findall(text_output(nb))]


def pictures(nb, kind="image/png"):
    return [o["data"][kind] for c in code_cells(nb) for o in c.outputs if kind in o.get("data", {})]


# --- the stored notebook ---


@pytest.fixture(scope="module")
def stored():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    return nb


def test_it_is_stored_with_the_outputs_of_one_run_top_to_bottom(stored):
    cells = code_cells(stored)
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    assert all(c.outputs for c in cells if "print(" in c.source or "display(" in c.source)
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    out = text_output(stored)
    assert f"w = {W_100!r}\n" in out and f"b = {B_100!r}\n" in out  # the book's numbers, for readers on GitHub


def test_it_shows_its_pictures_where_it_is_stored_and_stays_small(stored):
    pngs, gifs = pictures(stored), pictures(stored, "image/gif")
    assert len(pngs) >= 7  # the data, the fit, the limit cycle, the explorer at 3 lr, the lr sweep
    assert len(gifs) == 1  # the descent
    for picture in pngs + gifs:
        assert len(base64.b64decode(picture)) > 5_000
    assert NOTEBOOK.stat().st_size < MAX_BYTES
    assert "widgets" not in stored.metadata and not [
        o for c in code_cells(stored) for o in c.outputs if WIDGET in o.get("data", {})
    ]
    assert WIDGET_NOTE in text_output(stored)


def test_no_output_names_a_folder_of_the_machine_it_ran_on(stored):
    out = text_output(stored)
    assert not re.search(r"/tmp/|/home/|/work/|/Users/|\\\\Users\\\\", out), out


def test_no_cell_runs_a_shell_command_or_a_magic():
    """The first cell installs through subprocess, and only from the repository the notebook sits in."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in code_cells(nb):
        assert not re.search(r"^\s*[!%]", cell.source, re.M), cell.source


# --- the first cell: what it does where torch_neuron is missing ---


def run_first_cell(monkeypatch, tmp_path, capsys, where):
    """The first code cell, with torch_neuron not found and pip not run → (pip commands, sys.path added, printed)."""
    import importlib.util
    import subprocess

    source = code_cells(nbformat.read(NOTEBOOK, as_version=4))[0].source
    calls = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch_neuron" else real_find_spec(name, *a)
    )
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.chdir(where)
    before = list(sys.path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the cell may add the repository; undone after the test
    exec(compile(source, "first cell", "exec"), {})
    return calls, [p for p in sys.path if p not in before], capsys.readouterr().out


def fake_repo(folder):
    (folder / "torch_neuron").mkdir(parents=True)
    (folder / "torch_neuron" / "__init__.py").write_text("")
    (folder / "pyproject.toml").write_text("[project]\nname = 'torch_neuron'\n")
    (folder / "docs").mkdir()
    return folder


def test_the_first_cell_installs_the_repository_the_notebook_sits_in(monkeypatch, tmp_path, capsys):
    repo = fake_repo(tmp_path / "torch_neuron-main")
    calls, added, out = run_first_cell(monkeypatch, tmp_path, capsys, repo / "docs")
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "-e", f"{repo}[plot,ko,notebook]"]]
    assert added == [str(repo)]  # importable at once, without restarting the kernel
    assert str(repo) in out


def test_the_first_cell_finds_a_clone_in_colabs_folder(monkeypatch, tmp_path, capsys):
    """Colab: !git clone <the repository> torch_neuron in /content, then the first cell."""
    repo = fake_repo(tmp_path / "content" / "torch_neuron")
    calls, added, _ = run_first_cell(monkeypatch, tmp_path, capsys, tmp_path / "content")
    assert len(calls) == 1 and calls[0][-1] == f"{repo}[plot,ko,notebook]" and added == [str(repo)]


def test_the_first_cell_elsewhere_installs_nothing_and_says_how(monkeypatch, tmp_path, capsys):
    (tmp_path / "content").mkdir()
    calls, added, out = run_first_cell(monkeypatch, tmp_path, capsys, tmp_path / "content")
    assert calls == [] and added == []
    assert 'pip install -e ".[plot,ko,notebook]"' in out and "git clone" in out


# --- a fresh run ---


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """A fresh run in an empty folder, with a last cell that prints the kernel's interpreter:
    → (notebook with outputs, seconds, the folder it ran in)."""
    folder = tmp_path_factory.mktemp("notebook")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb, seconds = execute(nb, folder, extra_cell="import sys; print('KERNEL', sys.executable)")
    return nb, seconds, folder / "work"


@pytest.mark.slow
def test_it_runs_in_this_python_in_under_2_minutes(executed):
    nb, seconds, _ = executed
    assert f"KERNEL {sys.executable}\n" in text_output(nb)
    assert seconds < BUDGET_S


@pytest.mark.slow
def test_a_fresh_run_reproduces_the_stored_w_and_b(executed, stored):
    nb, _, _ = executed
    fresh, kept = printed_numbers(nb), printed_numbers(stored)
    assert len(kept) >= 20 and [name for name, _ in fresh] == [name for name, _ in kept]
    assert [v for _, v in fresh] == pytest.approx([v for _, v in kept], rel=1e-12, abs=1e-12)
    out = text_output(nb)
    assert f"w = {W_100!r}\n" in out and f"b = {B_100!r}\n" in out
    assert f"({W_100!r}, {B_100!r})" in out  # the source text's plain-Python loop, in the notebook


@pytest.mark.slow
def test_running_it_writes_nothing_where_it_runs(executed):
    _, _, work = executed
    assert list(work.iterdir()) == []


@pytest.mark.slow
def test_it_draws_the_pictures_in_korean_and_the_explorer(executed):
    nb, _, _ = executed
    out = text_output(nb)
    assert "그림 언어: ko" in out
    assert len(pictures(nb)) >= 7 and len(pictures(nb, "image/gif")) == 1
    assert [o for c in code_cells(nb) for o in c.outputs if WIDGET in o.get("data", {})]  # the sliders
    assert "학습률 2.5: 발산" in out
    assert not [o for c in code_cells(nb) for o in c.outputs if o.output_type == "error"]


if __name__ == "__main__":
    if sys.argv[1:] != ["--store"]:
        sys.exit(__doc__)
    store()
