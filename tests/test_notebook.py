"""docs/chapter3_neuron.ipynb: committed without outputs, it runs top to bottom on CPU, in this test run's
own Python, in under 2 minutes, and shows the book's w and b and the pictures.
"""
import json
import re
import sys
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


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert code_cells(nb)
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None


def test_no_cell_installs_anything_or_runs_a_shell_command():
    """The install line is for readers, commented out: running the notebook needs no network."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in code_cells(nb):
        assert not re.search(r"^\s*[!%]", cell.source, re.M), cell.source


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run by nbclient → (notebook with outputs, seconds, working folder).

    The kernel named python3 is found first in a kernel spec written here that starts this very
    interpreter (sys.executable), so the run uses this environment, and nothing is registered globally.
    A cell appended in memory prints the kernel's interpreter.
    """
    tmp = tmp_path_factory.mktemp("notebook")
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (this test run)", "language": "python"}))
    work = tmp / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print('KERNEL', sys.executable)"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(tmp / "jupyter"))          # searched before the user's and system's
        env.setenv("JUPYTER_RUNTIME_DIR", str(tmp / "runtime"))   # connection files here, not in $HOME
        env.setenv("IPYTHONDIR", str(tmp / "ipython"))
        env.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        client = nbclient.NotebookClient(nb, timeout=BUDGET_S, kernel_name="python3",
                                         resources={"metadata": {"path": str(work)}})
        start = time.perf_counter()
        client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
        seconds = time.perf_counter() - start
    return nb, seconds, work


def text_output(nb):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                   for c in code_cells(nb) for o in c.outputs)


@pytest.mark.slow
def test_it_runs_in_this_python_in_under_2_minutes(executed):
    nb, seconds, _ = executed
    assert f"KERNEL {sys.executable}\n" in text_output(nb)
    assert seconds < BUDGET_S


@pytest.mark.slow
def test_it_shows_the_books_w_and_b(executed):
    nb, _, _ = executed
    out = text_output(nb)
    assert f"w = {W_100!r}\n" in out and f"b = {B_100!r}\n" in out
    assert f"({W_100!r}, {B_100!r})" in out  # the source text's plain-Python loop, in the notebook


@pytest.mark.slow
def test_it_draws_the_pictures_in_korean(executed):
    nb, _, work = executed
    assert "그림 언어: ko" in text_output(nb)
    for name in ("fit_ko.png", "limit_cycle_ko.png", "descent_ko.gif"):
        assert (work / name).stat().st_size > 10_000, name
    shown = [o for c in code_cells(nb) for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(shown) >= 4  # the data, the fit, the limit cycle, the lr sweep (the GIF is shown as image/gif)
    assert not [o for c in code_cells(nb) for o in c.outputs if o.output_type == "error"]
