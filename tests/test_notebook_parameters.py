"""Every notebook parameter is visible to papermill, so `papermill --help-notebook` documents it."""

from __future__ import annotations

import ast

import nbformat
import papermill
import pytest

from clvlib.config import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    return next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter_with_its_help(path):
    # papermill's pattern skips PEP 604 hints (`str | None`); a quoted "Optional[str]" keeps it reading them.
    declared = []
    for node in ast.parse(_parameters_cell(path).source).body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), f"{path.name}: only literals in the parameters cell"
        declared.append((node.targets[0] if isinstance(node, ast.Assign) else node.target).id)
    seen = papermill.inspect_notebook(str(path))
    assert list(seen) == declared
    assert all(seen[name]["help"] for name in declared), "every parameter carries a `# help` comment"
    assert {"data", "preset", "columns", "as_of", "currency"} <= set(declared)
