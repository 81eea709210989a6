"""The report runner's library side: notebook discovery and parameters, HTML pages, history index, periodic dates.

Also holds the helpers that build tiny notebooks and a tiny orders file, imported by test_cli.py and
test_browser.py (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from clvlib.reporting import html as report_html
from clvlib.reporting import index as report_index
from clvlib.reporting import run as reports

PARAMETERS_CELL = '''data: str | None = None  # path to an order export; None = demo store
preset: str | None = None  # export layout
columns: dict | None = None  # canonical -> source column
read_options: dict | None = None  # read_transactions options
as_of: str | None = None  # ISO date
currency: str = "USD"  # label
export_dir: str = "exports"  # where files go
max_customers: int | None = None  # size knob'''

# Writes every parameter it received to export_dir/params.json, so tests can read what reached the kernel.
RECORD_PARAMETERS = '''import json, os
os.makedirs(export_dir, exist_ok=True)
received = dict(data=data, preset=preset, columns=columns, read_options=read_options, as_of=as_of, currency=currency,
                export_dir=export_dir, max_customers=max_customers)
json.dump(received, open(os.path.join(export_dir, "params.json"), "w"))
print("parameters recorded")'''

PLOT = '''assert "matplotlib" not in globals() and "io" not in globals()  # a clean namespace, even when warmed
import matplotlib
matplotlib.use("Agg")
from matplotlib.figure import Figure
from IPython.display import Image, display
import io
fig = Figure(figsize=(4, 3)); ax = fig.subplots(); ax.plot([1, 3, 2]); ax.set(title="A line")
buffer = io.BytesIO(); fig.savefig(buffer, format="png"); display(Image(buffer.getvalue()))'''

TABLE = '''import pandas as pd
pd.DataFrame({"customers": [1200, 34], "revenue": [15000.5, 320.0]}, index=["repeat", "one-time"])'''

FAIL = '''numerator = 1
numerator / 0  # fails on purpose'''


def make_notebook(path: Path, body: str, title: str = "Tiny report") -> Path:
    """A report notebook: markdown title, the tagged parameters cell, two sections, ``body`` and a table."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = new_code_cell(PARAMETERS_CELL)
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_markdown_cell(f"# {title}\n\nWhat this report is for."),
        parameters,
        new_markdown_cell("## First section\n\nThe formula is $x^2$."),
        new_code_cell(body),
        new_markdown_cell("## Second section\n\nA table."),
        new_code_cell(TABLE),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def make_orders(path: Path) -> pd.DataFrame:
    """A tiny generic export with non-canonical headers (mapped with --column); returns the table written."""
    table = pd.DataFrame({
        "Email": ["a@x.com", "a@x.com", "b@x.com", "c@x.com", "c@x.com", "c@x.com", "d@x.com", "e@x.com"],
        "Order": ["1", "2", "3", "4", "5", "6", "7", "8"],
        "Date": ["2024-01-05", "2024-02-05", "2024-01-10", "2024-01-20", "2024-02-25", "2024-03-20",
                 "2024-03-02", "2024-03-30"],
        "Total": [10.0, 20.0, 15.0, 40.0, 5.0, 1000.0, 12.5, 7.5],
    })
    table.to_csv(path, index=False)
    return table


COLUMNS = {"customer_id": "Email", "order_id": "Order", "order_date": "Date", "revenue": "Total"}


def test_find_notebooks_sorted_and_subset(tmp_path):
    for name in ("02_b", "01_a", "10_c"):
        make_notebook(tmp_path / f"{name}.ipynb", "1")
    (tmp_path / "scratch.ipynb").write_text("{}")  # not a report notebook: no NN_ prefix
    assert [p.stem for p in reports.find_notebooks(tmp_path)] == ["01_a", "02_b", "10_c"]
    assert [p.stem for p in reports.find_notebooks(tmp_path, ["c", "01"])] == ["01_a", "10_c"]
    with pytest.raises(ValueError, match=r"must be one of \['01_a', '02_b', '10_c'\], but 'zz' was passed"):
        reports.find_notebooks(tmp_path, ["zz"])


def test_notebook_parameters_reads_pep604_annotations(tmp_path):
    path = make_notebook(tmp_path / "01_a.ipynb", "x = 1  # not a parameter")
    assert reports.notebook_parameters(path) == {
        "data", "preset", "columns", "read_options", "as_of", "currency", "export_dir", "max_customers"}


def test_period_ends_month_and_quarter():
    assert report_index.period_ends("month", "2023-11-30", "2024-02-15") == ["2023-11-30", "2023-12-31", "2024-01-31"]
    assert report_index.period_ends("quarter", "2024-02-01", "2024-09-30") == ["2024-03-31", "2024-06-30",
                                                                                "2024-09-30"]
    with pytest.raises(ValueError, match=r"`every` must be one of \['month', 'quarter'\], but 'week' was passed"):
        report_index.period_ends("week", "2024-01-01", "2024-02-01")


def test_add_toc_lists_headings_below_the_title():
    page = ('<!--CLV-TOC--><h1 id="Title">Title</h1><h2 id="One">One<a class="anchor-link" href="#One">¶</a></h2>'
            '<h3 id="Two-&amp;-three">Two &amp; three</h3>')
    toc = report_html.add_toc(page)
    assert re.findall(r'href="#([^"]+)">([^<]+)<', toc.split("</nav>")[0]) == [
        ("One", "One"), ("Two-&amp;-three", "Two &amp; three")]
    assert "<!--CLV-TOC-->" not in toc
    assert report_html.add_toc('<!--CLV-TOC--><h2 id="a">a</h2>') == '<h2 id="a">a</h2>'  # one heading: no list


def test_format_figure_thousands_currency_and_missing():
    assert report_html.format_figure(1234567.891, "money", "EUR") == "€1,234,568"
    assert report_html.format_figure(35.257, "money", "CHF") == "35.26 CHF"
    assert report_html.format_figure(12000, "count") == "12,000"
    assert report_html.format_figure(0.25, "share") == "25.0 %"
    assert report_html.format_figure(float("nan"), "share") == "–"


def _record(as_of: str, revenue: float, customers: int) -> dict:
    headline = {"customers": customers, "orders": 2 * customers, "revenue": revenue, "aov": revenue / (2 * customers),
                "repeat_rate": 0.25, "top20_share": 0.6, "clv_12m": None}
    return {"as_of": as_of, "parameters": {"currency": "EUR"}, "data": {"label": "shop.csv"}, "headline": headline}


def test_history_index_rebuilt_from_every_run_json(tmp_path):
    for as_of, revenue, customers in [("2024-02-29", 2000.0, 20), ("2024-01-31", 1000.0, 10)]:
        (tmp_path / as_of).mkdir()
        (tmp_path / as_of / "run.json").write_text(json.dumps(_record(as_of, revenue, customers)))
    (tmp_path / "2024-03-31.failed").mkdir()  # failed runs have no run.json and are not history
    history = report_index.collect_history(tmp_path)
    assert list(history.index) == ["2024-01-31", "2024-02-29"]
    assert history["revenue"].tolist() == [1000.0, 2000.0]
    page = report_index.write_history_index(tmp_path).read_text()
    rows = re.findall(r'<tr><td class="date"><a href="([^"]+)">([^<]+)</a></td>(.*?)</tr>', page)
    assert [(href, date) for href, date, _ in rows] == [("2024-01-31/index.html", "2024-01-31"),
                                                       ("2024-02-29/index.html", "2024-02-29")]
    assert "<td class=num>2,000</td>" in rows[1][2] and "25.0 %" in rows[1][2]
    assert "<th class=num>Revenue (EUR)</th>" in page
    assert page.count('src="data:image/png;base64,') == 1  # the trend chart, inline


def test_history_index_single_run_has_no_chart(tmp_path):
    (tmp_path / "2024-01-31").mkdir()
    (tmp_path / "2024-01-31" / "run.json").write_text(json.dumps(_record("2024-01-31", 10.0, 1)))
    page = report_index.write_history_index(tmp_path).read_text()
    assert "<img" not in page and "two or more dates" in page


def test_headline_figures_match_an_independent_count(tmp_path):
    written = make_orders(tmp_path / "orders.csv")
    orders = report_index.load_run_data(tmp_path / "orders.csv", columns=COLUMNS)
    figures, _ = report_index.headline_figures(orders, as_of="2024-03-31")
    per_customer = written.groupby("Email")["Total"].agg(["size", "sum"])
    assert figures["customers"] == len(per_customer) == 5
    assert figures["orders"] == len(written)
    assert figures["revenue"] == pytest.approx(written["Total"].sum())
    assert figures["aov"] == pytest.approx(written["Total"].sum() / len(written))
    assert figures["repeat_rate"] == pytest.approx((per_customer["size"] > 1).mean())
    # top 20 % of 5 customers is the single best one (c@x.com: 1045 of 1110)
    assert figures["top20_share"] == pytest.approx(per_customer["sum"].max() / written["Total"].sum())


def test_prices_stay_prices_and_formulas_become_images():
    # Two prices in one sentence are not a formula (pandoc's rule: no digit right after a closing dollar), in a
    # markdown cell as in a markdown output written by code; a real formula is typeset as an inline SVG.
    nb = new_notebook(cells=[new_markdown_cell("# T\n\nSpend **$200** or **$2,400**; the rule is $f(x) = x^2$."),
                             new_code_cell("display(Markdown(...))")])
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "display_data", data={"text/markdown": "Worth **$200** per order and **$2,400** in all."})]
    page = report_html.notebook_to_html(nb, heading=None, subtitle="s")
    assert "<strong>$200</strong> or <strong>$2,400</strong>" in page
    assert "<strong>$200</strong> per order and <strong>$2,400</strong> in all" in page
    formulas = re.findall(r'<img[^>]*class="clv-math"[^>]*>', page)
    assert len(formulas) == 1 and 'alt="f(x) = x^2"' in formulas[0]
    assert nb.cells[0].source.endswith("$f(x) = x^2$.")  # the caller's notebook is left as it was


def test_typeset_formulas_are_kept_between_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("CLVLIB_CACHE_DIR", str(tmp_path / "cache"))
    report_html._formula.cache_clear()
    typeset = report_html._typeset_formula(r"\frac{m}{1 + d - r}", True)
    assert report_html.render_math(r"$$\frac{m}{1 + d - r}$$") == typeset
    files = list(report_html.formula_cache_dir().glob("*.html"))
    assert len(files) == 1 and files[0].read_text() == typeset
    # A new process (here: an emptied in-memory cache) takes the formula from the file, not from mathtext.
    files[0].write_text("<b>from the cache</b>")
    report_html._formula.cache_clear()
    assert report_html.render_math(r"$$\frac{m}{1 + d - r}$$") == "<b>from the cache</b>"
    # Another formula, or the same one inline, is another file.
    report_html.render_math(r"Inline $\frac{m}{1 + d - r}$ and $x^2$.")
    assert len(list(report_html.formula_cache_dir().glob("*.html"))) == 3
    report_html._formula.cache_clear()


def test_an_unusable_formula_cache_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("CLVLIB_CACHE_DIR", str(blocker))  # formulas/ cannot be created under a file
    report_html._formula.cache_clear()
    assert report_html.render_math("$x^2$") == report_html._typeset_formula("x^2", False)
    assert blocker.read_text() == ""
    report_html._formula.cache_clear()


def test_cached_formulas_need_no_matplotlib(tmp_path):
    # The point of the cache: a page whose formulas are all cached is converted without importing matplotlib.
    script = (
        "import sys\n"
        "from nbformat.v4 import new_markdown_cell, new_notebook\n"
        "from clvlib.reporting import html as report_html\n"
        "nb = new_notebook(cells=[new_markdown_cell('# T\\n\\nCLV is $m \\\\times n$.')])\n"
        "page = report_html.notebook_to_html(nb, heading=None, subtitle='s')\n"
        "assert 'class=\"clv-math\"' in page\n"
        "print('matplotlib' in sys.modules)\n"
    )
    env = {**os.environ, "CLVLIB_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert [run.stdout.strip() for run in runs] == ["True", "False"]


def test_default_folder_per_date_and_single_runs_accumulate_in_the_history(tmp_path, monkeypatch):
    # Without `out`, a run goes to reports/<as-of>/ and rebuilds reports/index.html from every run there, so
    # monthly single runs build up a history.
    monkeypatch.setattr(reports, "REPORTS_DIR", tmp_path / "reports")
    make_orders(tmp_path / "orders.csv")
    make_notebook(tmp_path / "nb" / "01_params.ipynb", RECORD_PARAMETERS)
    for as_of in ("2024-01-31", None):  # None: the last order date, 2024-03-30
        result = reports.run_report(tmp_path / "orders.csv", columns=COLUMNS, as_of=as_of,
                                    notebooks_dir=tmp_path / "nb")
        assert result.out_dir == tmp_path / "reports" / (as_of or "2024-03-30")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["2024-01-31", "2024-03-30", "index.html"]
    history = (tmp_path / "reports" / "index.html").read_text()
    assert re.findall(r'<a href="(\d{4}-\d\d-\d\d)/index.html">', history) == ["2024-01-31", "2024-03-30"]
    assert 'href="../index.html"' in (tmp_path / "reports" / "2024-03-30" / "index.html").read_text()


def test_parallel_runs_start_the_longest_notebook_first(tmp_path):
    # Longest first by the last run's seconds; on a first run (or with a new notebook) by code cells.
    from clvlib.reporting.execute import NotebookJob
    from clvlib.reporting.run import _expected_cost

    short = make_notebook(tmp_path / "nb" / "01_short.ipynb", "x = 1")
    long = make_notebook(tmp_path / "nb" / "02_long.ipynb", "x = 1")
    nb = nbformat.read(long, as_version=4)
    nb.cells += [new_code_cell(f"y{i} = {i}") for i in range(5)]
    nbformat.write(nb, long)
    jobs = [NotebookJob(name=p.stem, source=str(p), out_dir=str(tmp_path), parameters={}, no_code=False,
                        subtitle="") for p in (short, long)]
    dest = tmp_path / "reports" / "2024-06-30"
    assert [j.name for j in sorted(jobs, key=_expected_cost(dest, jobs))] == ["02_long", "01_short"]
    earlier = tmp_path / "reports" / "2024-03-31"
    earlier.mkdir(parents=True)
    (earlier / "run.json").write_text(json.dumps({"timings": {"01_short": 9.0, "02_long": 1.0, "total": 10.0}}))
    assert [j.name for j in sorted(jobs, key=_expected_cost(dest, jobs))] == ["01_short", "02_long"]
    (earlier / "run.json").write_text(json.dumps({"timings": {"01_short": 9.0, "total": 9.0}}))
    assert [j.name for j in sorted(jobs, key=_expected_cost(dest, jobs))] == ["02_long", "01_short"]


@pytest.mark.parametrize("no_code", [False, True])
def test_report_exporter_equals_nbconvert_html_exporter_but_for_its_soup_pass(no_code):
    # The kit's exporter skips HTMLExporter's BeautifulSoup pass and adds its attributes (image alt text, focusable
    # cells) itself; parsed the same way, its page must be nbconvert's page exactly.
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_output

    from clvlib.reporting.html import _exporter

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    nb = new_notebook(cells=[
        new_markdown_cell("# Title\n\n![a picture](data:image/png;base64," + png + ") and <img src='x.png'/>"),
        new_code_cell("print('<b>not bold</b>')\nx = 1", outputs=[
            new_output("stream", name="stdout", text="<b>not bold</b>\n"),
            new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
            new_output("execute_result", data={"text/html": "<table><tr><td>1</td></tr></table><img src='y.png'>",
                                               "text/plain": "1"}, execution_count=1),
        ]),
    ])
    ours, _ = _exporter(no_code).from_notebook_node(nb)
    reference, _ = HTMLExporter.from_notebook_node(_exporter(no_code), nb)
    assert 'tabindex="0"' in ours and 'alt="No description has been provided for this image"' in ours
    assert str(BeautifulSoup(ours, features="html.parser")) == reference
