"""`clv report` end to end on tiny notebooks and a tiny orders file: files, exit codes, parameters, atomicity."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from test_reports import COLUMNS, FAIL, PLOT, RECORD_PARAMETERS, make_notebook, make_orders

from clvlib.reporting.cli import build_parser, main
from clvlib.config import NOTEBOOKS_DIR, PROJ_ROOT

COLUMN_ARGS = [arg for canonical, source in COLUMNS.items() for arg in ("--column", f"{canonical}={source}")]


def _text(page: str) -> str:
    # The page's text as a reader sees it: code is split into highlighting spans in the HTML.
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    make_orders(root / "orders.csv")
    make_notebook(root / "nb" / "01_params.ipynb", RECORD_PARAMETERS, title="Parameters report")
    make_notebook(root / "nb" / "02_plot.ipynb", PLOT, title="Plot report")
    (root / "params.yaml").write_text("max_customers: 7\nbogus_parameter: 1\n")
    return root


@pytest.fixture(scope="module")
def good_run(workspace, tmp_path_factory):
    """One successful run of both notebooks in parallel, with every common option set."""
    out = tmp_path_factory.mktemp("runs") / "good"
    argv = ["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--as-of", "2024-03-31",
            "--currency", "EUR", "--params", str(workspace / "params.yaml"), "--out", str(out), "--jobs", "2",
            "--notebooks-dir", str(workspace / "nb"), "--with-code"]
    completed = subprocess.run([sys.executable, "-m", "clvlib", *argv], capture_output=True, text=True,
                               cwd=workspace, timeout=300)
    return out, completed


def test_run_writes_every_file_and_exits_zero(good_run):
    out, completed = good_run
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(out / "index.html")
    names = {p.name for p in out.iterdir()}
    assert names == {"01_params.ipynb", "01_params.html", "02_plot.ipynb", "02_plot.html", "index.html", "run.json",
                     "exports", "glossary.html"}  # the glossary the pages link, in the folder that is sent
    assert not list(out.parent.glob(".good*"))  # no temporary folder left behind


def test_parameters_reach_the_notebook(good_run, workspace):
    out, _ = good_run
    received = json.loads((out / "exports" / "01_params" / "params.json").read_text())
    assert received == {"data": str((workspace / "orders.csv").resolve()), "preset": None, "columns": COLUMNS,
                        "read_options": None, "as_of": "2024-03-31", "currency": "EUR", "export_dir": "exports/01_params",
                        "max_customers": 7}


def test_progress_and_unknown_parameter_warning_on_stderr(good_run):
    _, completed = good_run
    assert re.search(r"01_params: cell 3/4 \(\d+\.\ds\)  import json, os", completed.stderr)
    assert re.search(r"02_plot: done after \d+\.\ds", completed.stderr)
    assert "warning: No notebook declares the parameter(s) ['bogus_parameter']" in completed.stderr


def test_html_is_self_contained_with_title_toc_and_images(good_run):
    out, _ = good_run
    page = (out / "02_plot.html").read_text()
    assert "<title>Plot report — Data: orders.csv · as of 2024-03-31 · currency EUR</title>" in page
    assert re.search(r'<nav class="clv-toc">.*href="#First-section">First section</a>.*Second section', page)
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) == 1
    assert re.findall(r'(?:src|href)="(https?://[^"]+)"', page) == []  # nothing to fetch: renders offline
    formulas = re.findall(r'<img[^>]*class="clv-math"[^>]*>', page)  # the formula, typeset
    assert len(formulas) == 1 and 'alt="x^2"' in formulas[0] and 'src="data:image/svg+xml;base64,' in formulas[0]
    assert "$x^2$" not in page and "mathjax" not in page.lower()
    assert 'href="index.html"' in page
    assert "import matplotlib" in _text(page)  # the analyst version keeps the code


def test_run_json_records_parameters_hash_versions_timings(good_run, workspace):
    out, _ = good_run
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["sha256"] == hashlib.sha256((workspace / "orders.csv").read_bytes()).hexdigest()
    assert record["parameters"]["columns"] == COLUMNS and record["parameters"]["currency"] == "EUR"
    assert record["parameters"]["params"] == {"max_customers": 7, "bogus_parameter": 1}
    assert set(record["versions"]) >= {"clvlib", "pandas", "papermill", "python"}
    assert record["versions"]["pandas"] == pd.__version__
    assert set(record["timings"]) == {"01_params", "02_plot", "total"}
    assert all(seconds > 0 for seconds in record["timings"].values())
    written = pd.read_csv(workspace / "orders.csv")
    assert record["cleaning"]["rows_read"] == len(written) == record["cleaning"]["rows_kept"]
    assert record["headline"]["orders"] == len(written)
    assert record["headline"]["revenue"] == pytest.approx(written["Total"].sum())


def test_index_links_every_report_and_shows_figures(good_run):
    out, _ = good_run
    page = (out / "index.html").read_text()
    links = set(re.findall(r'href="([^"#]+)"', page))
    assert {"01_params.html", "02_plot.html", "01_params.ipynb", "run.json", "exports/01_params/params.json"} <= links
    assert all((out / link).is_file() for link in links)
    assert re.search(r"Revenue \(EUR\)</div><div class=\"value\">1,110</div>", page)  # thousands separator
    assert "Rows read" in page and "Rows kept" in page


def test_no_code_hides_code(workspace, tmp_path):
    out = tmp_path / "business"
    code = main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--out", str(out), "--no-code",
                 "--notebooks-dir", str(workspace / "nb"), "-q"])
    assert code == 0
    assert sorted(p.name for p in out.glob("*.html")) == ["01_params.html", "02_plot.html", "glossary.html",
                                                          "index.html"]
    page = (out / "01_params.html").read_text()
    text = _text(page)
    assert "parameters recorded" in text and "First section" in text  # outputs and narrative stay
    for source_text in ("os.makedirs", "json.dump", "max_customers: int", "pd.DataFrame", "In [", "# Parameters"):
        assert source_text not in text
    assert 'class="jp-CodeMirrorEditor' not in page and 'class="highlight' not in page
    assert page.count(" jp-CodeCell ") == page.count(" jp-mod-noInput") == 4  # every code cell, injected one too
    assert "import matplotlib" not in _text((out / "02_plot.html").read_text())


def test_sequential_run_warms_the_next_kernel_without_changing_the_notebook(workspace, tmp_path):
    # The second notebook's kernel starts and imports its modules while the first runs (sequential runs only);
    # the notebook must still see a fresh namespace (its first cell asserts it) and count executions from 1.
    out = tmp_path / "sequential"
    assert main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--out", str(out), "-q",
                 "--notebooks-dir", str(workspace / "nb")]) == 0
    executed = nbformat.read(out / "02_plot.ipynb", as_version=4)
    counts = [cell.execution_count for cell in executed.cells if cell.cell_type == "code"]
    assert counts == [1, 2, 3, 4]
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', (out / "02_plot.html").read_text())) == 1


def test_bad_data_fails_before_any_notebook(workspace, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Email,Order,Date\na@x.com,1,2024-01-05\n")  # no revenue column
    out = tmp_path / "never"
    code = main(["report", "--data", str(bad), *COLUMN_ARGS, "--out", str(out),
                 "--notebooks-dir", str(workspace / "nb")])
    assert code == 2
    err = capsys.readouterr().err
    assert "the data cannot be used, no report was run" in err and "Total" in err
    assert list(tmp_path.iterdir()) == [bad]  # no output, no temporary or failed folder


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--column", "customer_id"])
    assert exit_info.value.code == 2
    assert "--column expects CANONICAL=SOURCE" in capsys.readouterr().err
    assert main(["report", "--notebooks", "zz", "--notebooks-dir", str(PROJ_ROOT / "tests")]) == 2


def test_failed_notebook_leaves_previous_report_intact(good_run, workspace, tmp_path):
    previous, _ = good_run
    out = tmp_path / "report"
    shutil.copytree(previous, out)
    before = _tree(out)
    failing = tmp_path / "nb"
    failing.mkdir()
    shutil.copy(workspace / "nb" / "01_params.ipynb", failing)  # succeeds first: its output must not leak either
    make_notebook(failing / "03_fail.ipynb", FAIL, title="Failing report")
    completed = subprocess.run(
        [sys.executable, "-m", "clvlib", "report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS,
         "--out", str(out), "--notebooks-dir", str(failing)],
        capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1
    message = completed.stderr
    assert "notebook '03_fail' failed at cell" in message
    assert "('numerator = 1')" in message and "ZeroDivisionError: division by zero" in message
    assert _tree(out) == before  # byte for byte
    kept = tmp_path / "report.failed"  # the whole new run, the page that worked included
    assert sorted(p.name for p in kept.iterdir()) == ["01_params.html", "01_params.ipynb", "03_fail.failed.html",
                                                       "03_fail.failed.ipynb", "exports", "glossary.html",
                                                       "index.html", "run.json"]
    record = json.loads((kept / "run.json").read_text())
    assert record["status"] == "failed"
    assert [r.get("error", "").split(":")[0] for r in record["reports"]] == ["", "failed at cell 4"]
    index = _text((kept / "index.html").read_text())
    assert "FAILED RUN" in index and "FAILED failed at cell 4: ZeroDivisionError: division by zero" in index
    failed_nb = nbformat.read(kept / "03_fail.failed.ipynb", as_version=4)
    errors = [o for c in failed_nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ZeroDivisionError"]
    page = (kept / "03_fail.failed.html").read_text()
    assert "ZeroDivisionError" in _text(page) and "numerator / 0" in _text(page)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # temporary folders removed

    # Fixed, the next run replaces the previous report as a whole and clears the failure it reported.
    assert main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--out", str(out), "-q",
                 "--notebooks", "01", "--notebooks-dir", str(failing)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01_params.html", "01_params.ipynb", "exports", "glossary.html",
                                                      "index.html", "run.json"]
    assert json.loads((out / "run.json").read_text())["timings"].keys() == {"01_params", "total"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb", "report"]  # no .failed, no old or temporary copy


def test_periodic_run_one_folder_per_date_and_history(workspace, tmp_path, capsys):
    out = tmp_path / "history"
    code = main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--every", "month",
                 "--from", "2024-01-01", "--to", "2024-02-29", "--out", str(out), "--notebooks", "01_params",
                 "--notebooks-dir", str(workspace / "nb"), "-q"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["2024-01-31", "2024-02-29", "index.html"]
    written = pd.read_csv(workspace / "orders.csv", parse_dates=["Date"])
    for as_of in ("2024-01-31", "2024-02-29"):
        record = json.loads((out / as_of / "run.json").read_text())
        assert record["as_of"] == as_of
        assert record["headline"]["orders"] == int((written["Date"] <= as_of).sum())
        received = json.loads((out / as_of / "exports" / "01_params" / "params.json").read_text())
        assert received["as_of"] == as_of
        assert 'href="../index.html"' in (out / as_of / "index.html").read_text()
    assert re.search(r"2024-02-29 01_params: done after", capsys.readouterr().err)  # progress names the date
    history = (out / "index.html").read_text()
    assert re.findall(r'<a href="(\d{4}-\d\d-\d\d)/index.html">', history) == ["2024-01-31", "2024-02-29"]
    assert 'src="data:image/png;base64,' in history


def test_help_explains_every_option_with_examples():
    report = build_parser()._subparsers._group_actions[0].choices["report"]
    text = report.format_help()
    for option in ("--data", "--preset", "--column", "--params", "--as-of", "--every", "--from", "--to", "--out",
                   "--notebooks", "--no-code", "--jobs", "--currency"):
        assert option in text
    assert text.count("Example:") >= 10 and "examples:" in text and "--notebooks-dir" not in text


@pytest.mark.slow
def test_real_notebooks_on_the_demo_store(tmp_path):
    if not list(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        pytest.skip("no report notebooks in notebooks/ yet")
    out = tmp_path / "demo"
    completed = subprocess.run([sys.executable, "-m", "clvlib", "report", "--out", str(out), "--jobs", "2", "-q",
                                "--params", str(_small_params(tmp_path))],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    record = json.loads((out / "run.json").read_text())
    stems = sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert sorted(r["name"] for r in record["reports"]) == stems
    for stem in stems:
        page = (out / f"{stem}.html").read_text()
        assert "jp-OutputArea-output" in page and "Traceback (most recent call last)" not in _text(page)
        assert re.search(r'<img[^>]+src="data:image/png;base64,', page), f"{stem}: no figure"
        executed = nbformat.read(out / f"{stem}.ipynb", as_version=4)
        noise = [(i, o.output_type) for i, c in enumerate(executed.cells) if c.cell_type == "code"
                 for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"]
        assert noise == [], f"{stem}: errors or warnings shown to readers in cells {noise}"
    received = json.loads((out / "run.json").read_text())["parameters"]["params"]
    assert received == {"max_customers": 2000, "n_draws": 20}


def _small_params(tmp_path: Path) -> Path:
    # The notebooks' size knobs (fewer customers, fewer parameter draws for intervals) keep this run short.
    path = tmp_path / "small.yaml"
    path.write_text("max_customers: 2000\nn_draws: 20\n")
    return path


# -- the --out contract: the runner replaces only what it wrote -------------------------------------------------------
def _run_into(workspace, out, *extra):
    return main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--out", str(out), "-q",
                 "--notebooks", "01", "--notebooks-dir", str(workspace / "nb"), *extra])


def test_out_refuses_a_folder_the_kit_did_not_write(workspace, tmp_path, capsys):
    out = tmp_path / "work"
    out.mkdir()
    (out / "notes.txt").write_text("my work")
    (out / "sub").mkdir()
    (out / "sub" / "deep.csv").write_text("a,b\n1,2\n")
    before = _tree(out)
    assert _run_into(workspace, out) == 2
    assert "is not a report written by the kit" in capsys.readouterr().err
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # nothing written beside it either


def test_out_refuses_a_file_and_the_folder_holding_the_data(workspace, tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    assert _run_into(workspace, target) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(workspace / "orders.csv", data_dir / "orders.csv")
    for out in (data_dir, data_dir / "orders.csv"):
        code = main(["report", "--data", str(data_dir / "orders.csv"), *COLUMN_ARGS, "--out", str(out), "-q",
                     "--notebooks", "01", "--notebooks-dir", str(workspace / "nb")])
        assert code == 2
    err = capsys.readouterr().err
    assert "the data file" in err or "is not a report written by the kit" in err
    assert sorted(p.name for p in data_dir.iterdir()) == ["orders.csv"]


def test_out_accepts_an_empty_folder_and_replaces_its_own_report(workspace, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert _run_into(workspace, out) == 0
    assert json.loads((out / "run.json").read_text())["generator"] == "clvlib report"
    first = (out / "run.json").read_text()
    assert _run_into(workspace, out) == 0  # its own report: replaced
    assert (out / "run.json").read_text() != first


def test_periodic_out_refuses_a_foreign_index_page(workspace, tmp_path, capsys):
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("<html>my site</html>")
    code = main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--as-of", "2024-01-31",
                 "--as-of", "2024-02-29", "--out", str(out), "-q", "--notebooks", "01",
                 "--notebooks-dir", str(workspace / "nb")])
    assert code == 2
    assert "index.html the kit did not write" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert (out / "index.html").read_text() == "<html>my site</html>"


# -- parameters that cannot work stop the run before any notebook ----------------------------------------------------
@pytest.mark.parametrize("as_of, says", [("2023-06-30", "the data start later"),
                                         ("2025-01-31", "more than 31 days after the last order")])
def test_as_of_outside_the_data_exits_2_before_any_notebook(workspace, tmp_path, capsys, as_of, says):
    out = tmp_path / "never"
    code = main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--as-of", as_of,
                 "--out", str(out), "-q", "--notebooks-dir", str(workspace / "nb")])
    assert code == 2
    err = capsys.readouterr().err
    assert says in err and "started" not in err
    assert list(tmp_path.iterdir()) == []


def test_unusable_clv_parameter_exits_2(workspace, tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("time_unit: Y\n")
    code = main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--params", str(params),
                 "--out", str(tmp_path / "never"), "-q", "--notebooks-dir", str(workspace / "nb")])
    assert code == 2
    assert "time_unit" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_currency_comes_from_the_data_unless_given(workspace, tmp_path):
    table = pd.read_csv(workspace / "orders.csv").assign(Currency="eur")
    table.to_csv(tmp_path / "eur.csv", index=False)
    for extra, expected in (([], "EUR"), (["--currency", "CHF"], "CHF")):
        out = tmp_path / f"out{len(extra)}"
        assert main(["report", "--data", str(tmp_path / "eur.csv"), *COLUMN_ARGS, "--out", str(out), "-q",
                     "--notebooks", "01", "--notebooks-dir", str(workspace / "nb"), *extra]) == 0
        received = json.loads((out / "exports" / "01_params" / "params.json").read_text())
        assert received["currency"] == expected
        assert json.loads((out / "run.json").read_text())["parameters"]["currency"] == expected


def test_privacy_mode_is_recorded_and_shown(workspace, tmp_path):
    for extra, says in (([], "keyed pseudonyms for customer ids, no emails"), (["--with-emails"], "--with-emails")):
        out = tmp_path / f"out{len(extra)}"
        assert main(["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--out", str(out), "-q",
                     "--notebooks", "01", "--notebooks-dir", str(workspace / "nb"), *extra]) == 0
        assert says in json.loads((out / "run.json").read_text())["privacy"]
        assert says in _text((out / "index.html").read_text())


def test_relative_paths_are_the_working_folder_s_and_out_dot_is_refused_plainly(workspace, tmp_path, monkeypatch,
                                                                             capsys):
    shutil.copy(workspace / "orders.csv", tmp_path / "orders.csv")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--data", "orders.csv", *COLUMN_ARGS, "--out", "out", "-q", "--notebooks", "01",
                 "--notebooks-dir", str(workspace / "nb")]) == 0
    received = json.loads((tmp_path / "out" / "exports" / "01_params" / "params.json").read_text())
    assert received["data"] == str(tmp_path / "orders.csv")  # read from here, not from the project folder
    (tmp_path / "inside").mkdir()
    monkeypatch.chdir(tmp_path / "inside")
    assert main(["report", "--data", "../orders.csv", *COLUMN_ARGS, "--out", ".", "-q", "--notebooks", "01",
                 "--notebooks-dir", str(workspace / "nb")]) == 2
    err = capsys.readouterr().err
    assert "holds the folder you are working in" in err and "PosixPath" not in err


@pytest.mark.parametrize("where", ["data", "option"])
def test_a_currency_that_is_not_a_code_never_reaches_a_page(workspace, tmp_path, capsys, where):
    payload = "<svg/onload=document.title='pwned'>"
    table = pd.read_csv(workspace / "orders.csv")
    if where == "data":
        table = table.assign(Currency=payload)
    table.to_csv(tmp_path / "orders.csv", index=False)
    extra = ["--currency", payload] if where == "option" else []
    argv = ["report", "--data", str(tmp_path / "orders.csv"), *COLUMN_ARGS, "--out", str(tmp_path / "out"), "-q",
            "--notebooks", "01", "--notebooks-dir", str(workspace / "nb"), *extra]
    if where == "option":
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
    else:
        assert main(argv) == 2
    assert "three-letter ISO 4217 code" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_index_escapes_every_figure_it_writes(tmp_path):
    from clvlib.reporting.index import write_run_index

    record = {"parameters": {"currency": "<b>"}, "headline": {"revenue": 12.5, "clv_label": "<i>label</i>"},
              "reports": [], "timings": {}, "notes": ["<script>x</script>"], "privacy": "<u>p</u>",
              "cleaning": {"rows_read": 1, "rows_kept": 1, "input_revenue": 12.5, "revenue": 12.5, "excluded": [],
                           "notes": []},
              "data": {"label": "<img>", "sha256": "0" * 64}, "created": "now", "versions": {"clvlib": "0"},
              "as_of": "2024-01-01"}
    page = write_run_index(tmp_path, record).read_text()
    for raw in ("<b>", "<i>label</i>", "<script>x</script>", "<u>p</u>", "<img>"):
        assert raw not in page and html.escape(raw) in page


def test_reading_options_reach_the_runner_every_notebook_and_run_json(workspace, tmp_path):
    # A European export: Latin-1 text, ';'-separated, day-first dates, decimal commas, a second currency.
    (tmp_path / "eu.csv").write_bytes(
        "Email;Order;Date;Total;Währung\n"
        "josé@x.com;1;05/01/2024;10,50;EUR\n"
        "josé@x.com;2;05/02/2024;1.020,00;EUR\n"
        "b@x.com;3;03/02/2024;8,00;USD\n".encode("latin-1"))
    (tmp_path / "rates.csv").write_text("currency,rate\nUSD,0.5\n")
    (tmp_path / "params.yaml").write_text("read_options:\n  timezone: Europe/Paris\n  encoding: utf-8\n")
    out = tmp_path / "out"
    columns = [*COLUMN_ARGS, "--column", "currency=Währung"]
    argv = ["report", "--data", str(tmp_path / "eu.csv"), *columns, "--encoding", "latin-1", "--sep", ";",
            "--dayfirst", "--decimal", ",", "--thousands", ".", "--rates", str(tmp_path / "rates.csv"),
            "--params", str(tmp_path / "params.yaml"), "--currency", "EUR", "--out", str(out), "-q",
            "--notebooks", "01", "--notebooks-dir", str(workspace / "nb")]
    assert main(argv) == 0
    expected = {"encoding": "latin-1", "sep": ";", "dayfirst": True, "decimal": ",", "thousands": ".",
                "rates": {"USD": 0.5}, "timezone": "Europe/Paris"}  # the command line wins over --params
    received = json.loads((out / "exports" / "01_params" / "params.json").read_text())
    assert received["read_options"] == expected
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["read_options"] == expected
    import clvlib

    orders = clvlib.load_orders(str(tmp_path / "eu.csv"), columns={**COLUMNS, "currency": "Währung"},
                                read_options=received["read_options"])  # what each notebook does with it
    assert orders["revenue"].tolist() == [10.5, 4.0, 1020.0]
    assert orders["order_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-02-03", "2024-02-05"]


def test_reading_option_usage_errors_exit_2(tmp_path, capsys):
    (tmp_path / "rates.csv").write_text("EUR,lots\n")
    for argv, says in ((["--dayfirst", "--monthfirst"], "not allowed with argument"),
                       (["--rates", str(tmp_path / "rates.csv")], "three-letter currency code and a positive rate"),
                       (["--timezone", "Mars/Olympus"], "--timezone must be an IANA time zone")):
        with pytest.raises(SystemExit) as exit_info:
            main(["report", *argv])
        assert exit_info.value.code == 2
        assert says in capsys.readouterr().err


def test_data_error_hints_speak_the_command_line(workspace, tmp_path, capsys):
    columns = [a.replace("revenue=Total", "revenue=Totl") for a in COLUMN_ARGS]
    code = main(["report", "--data", str(workspace / "orders.csv"), *columns, "--out", str(tmp_path / "never"),
                 "--notebooks-dir", str(workspace / "nb")])
    assert code == 2
    err = capsys.readouterr().err
    assert "The closest match is `Total`: pass --column revenue=Total." in err and "columns=" not in err


def test_pages_hide_code_by_default_and_with_code_shows_it(workspace, tmp_path):
    common = ["report", "--data", str(workspace / "orders.csv"), *COLUMN_ARGS, "--notebooks-dir",
              str(workspace / "nb"), "-q"]
    assert main([*common, "--out", str(tmp_path / "default")]) == 0
    assert main([*common, "--out", str(tmp_path / "analyst"), "--with-code"]) == 0
    default = (tmp_path / "default" / "01_params.html").read_text()
    analyst = (tmp_path / "analyst" / "01_params.html").read_text()
    assert "json.dump" not in _text(default) and "json.dump" in _text(analyst)
    assert json.loads((tmp_path / "default" / "run.json").read_text())["parameters"]["no_code"] is True
    assert json.loads((tmp_path / "analyst" / "run.json").read_text())["parameters"]["no_code"] is False
    # Both flags at once is a usage error.
    with pytest.raises(SystemExit) as stop:
        main([*common, "--out", str(tmp_path / "both"), "--with-code", "--no-code"])
    assert stop.value.code == 2
