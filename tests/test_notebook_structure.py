"""Every report notebook is stored clean and parameterised the same way, so papermill and the runner can drive it."""

from __future__ import annotations

import ast

import nbformat
import pytest

from clvlib.config import NOTEBOOKS_DIR
from clvlib.reporting.run import COMMON_PARAMETERS, notebook_parameters

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.fixture(params=NOTEBOOKS or [None], ids=[p.name for p in NOTEBOOKS] or ["none"])
def notebook(request):
    if request.param is None:
        pytest.skip(f"no notebooks in {NOTEBOOKS_DIR} yet")
    return request.param, nbformat.read(request.param, as_version=4)


def test_stored_without_outputs_or_execution_counts(notebook):
    path, nb = notebook
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert dirty == [], f"{path.name}: cells {dirty} hold outputs; clear them with `jupyter nbconvert --clear-output`"


def test_one_parameters_cell_and_it_is_the_first_code_cell(notebook):
    path, nb = notebook
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    tagged = [i for i, cell in enumerate(code) if "parameters" in cell.metadata.get("tags", [])]
    assert tagged == [0], f"{path.name}: code cells tagged `parameters`: {tagged}; expected exactly the first"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith("# ")


def test_parameters_are_literals_and_include_the_common_names(notebook):
    path, nb = notebook
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.AnnAssign | ast.Assign), f"{path.name}: {ast.unparse(node)!r} is not an assignment"
        ast.literal_eval(node.value)  # raises on anything but a literal
    assert set(COMMON_PARAMETERS) <= notebook_parameters(path)
