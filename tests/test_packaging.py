"""A copy of clvlib without the repository around it (what `pip install .` gives) says what it lacks."""

from __future__ import annotations

import shutil
import subprocess
import sys

from clvlib.config import PROJ_ROOT


def test_an_installed_copy_without_notebooks_says_the_kit_runs_from_a_clone(tmp_path):
    shutil.copytree(PROJ_ROOT / "clvlib", tmp_path / "clvlib", ignore=shutil.ignore_patterns("__pycache__"))
    run = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); sys.argv = ['clv', 'report', '-q']; "
           "from clvlib.reporting.cli import main; raise SystemExit(main())", str(tmp_path)]
    completed = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    assert "run from a clone of the kit's repository" in completed.stderr
    assert "Traceback" not in completed.stderr
    library = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import clvlib, pandas as pd; "
         "print(clvlib.__file__); print(clvlib.gini(pd.DataFrame({'total_revenue': [1.0, 1.0]})))", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert library.returncode == 0, library.stderr
    assert library.stdout.splitlines() == [str(tmp_path / "clvlib" / "__init__.py"), "0.0"]
