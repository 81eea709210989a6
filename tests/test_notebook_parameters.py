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


def _parameters(path) -> dict[str, tuple[object, str]]:
    """name -> (default, help) of a notebook's parameters cell."""
    seen = papermill.inspect_notebook(str(path))
    return {name: (ast.literal_eval(p["default"]), p["help"]) for name, p in seen.items()}


# Parameters shared by several notebooks: one help text everywhere (01's `margin` is the lesson's example rate, a
# different parameter with its own default; `export_dir` differs only in what None does).
SHARED = ("data", "preset", "columns", "as_of", "currency", "with_emails", "export_dir", "time_unit",
          "horizon_months", "annual_discount_rate", "margin", "calibration_end", "marketing_spend")
OWN_MEANING = {("01_clv_basics", "margin")}


def test_shared_parameters_have_one_help_text():
    helps: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for name, (_, text) in _parameters(path).items():
            if name in SHARED and (path.stem, name) not in OWN_MEANING:
                helps.setdefault(name, set()).add(text.split("; None:")[0] if name == "export_dir" else text)
    assert {name: texts for name, texts in helps.items() if len(texts) > 1} == {}


def test_clv_parameters_default_to_predict_clv_defaults():
    import inspect

    import clvlib
    from clvlib.reporting.index import CLV_PARAMETERS

    defaults = {name: p.default for name, p in inspect.signature(clvlib.predict_clv).parameters.items()}
    for path in NOTEBOOKS:
        if "clvlib.predict_clv(" not in path.read_text():
            continue
        declared = _parameters(path)
        assert set(CLV_PARAMETERS) <= set(declared), path.name
        assert {n: declared[n][0] for n in CLV_PARAMETERS} == {n: defaults[n] for n in CLV_PARAMETERS}, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_thin(path):
    # Logic lives in clvlib: no functions, no path fixing, one plots alias, under ~100 lines of code.
    nb = nbformat.read(path, as_version=4)
    code = [line.strip() for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()]
    code = [line for line in code if line and not line.startswith("#")]
    assert len(code) <= 100, f"{path.name}: {len(code)} lines of code"
    text = "\n".join(code)
    assert not [line for line in code if line.startswith("def ")], path.name
    assert "PROJ_ROOT" not in text and "source = " not in text, f"{path.name}: paths are resolved by clvlib"
    assert "import clvlib.plots as" not in text or "import clvlib.plots as clvplots" in text, path.name
