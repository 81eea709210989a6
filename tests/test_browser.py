"""A real browser opens every page of a report run: images decode, no error text, index links resolve, screenshots.

Debian's headless chromium loads a copy of each page with a small script appended; once the page has loaded,
the script writes what it found (images and their natural widths, error outputs, traceback text, links) as JSON
into the DOM, which ``--dump-dom`` returns. The same chromium call saves a screenshot; their paths are printed
(``pytest -s``).
Skipped when chromium is missing, except under CI (env var CI set), where a missing browser fails.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from test_reports import PLOT, make_notebook, make_orders

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
COLUMNS = ["--column", "customer_id=Email", "--column", "order_id=Order", "--column", "order_date=Date",
           "--column", "revenue=Total"]

PROBE = """<script>
// Runs at the end of the body (document parsed) and again on "load" (every image fetched and decoded), each
// time writing what it sees as JSON into a hidden element; the test reads the last state chromium dumps.
function clvProbe(stage) {
  var images = Array.from(document.images).map(function (img) {
    return {alt: img.alt.slice(0, 60), width: img.naturalWidth, complete: img.complete};
  });
  var text = document.body.innerText;
  var errors = document.querySelectorAll(
    '[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output .ansi-red-intense-fg');
  var report = {
    stage: stage,
    title: document.title,
    images: images,
    error_outputs: errors.length,
    traceback: /Traceback \\(most recent call last\\)|\\b[A-Z]\\w*(Error|Exception): /.test(text),
    links: Array.from(document.querySelectorAll("a[href]")).map(function (a) { return a.getAttribute("href"); }),
    text_length: text.length
  };
  var pre = document.getElementById("clv-probe") || document.createElement("pre");
  pre.id = "clv-probe";
  pre.style.display = "none";  // read from the DOM, kept out of the screenshot
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
}
clvProbe("parsed");
window.addEventListener("load", function () { clvProbe("loaded"); });
</script>"""


def _chromium(url: str, screenshot: Path, profile: Path) -> str:
    """The DOM after load (and a screenshot) from headless chromium; the process group is killed on timeout."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1280,2000",
               "--virtual-time-budget=10000", f"--screenshot={screenshot}", "--dump-dom", url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        out, _ = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return out


def _probe(page: Path, shots: Path, profile: Path) -> dict:
    # A copy beside the original, so that relative links and images resolve exactly as they do for a reader.
    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    screenshot = shots / f"{page.parent.name}-{page.stem}.png"
    try:
        for _attempt in range(3):  # a heavily loaded machine can starve a big page of its time budget
            dom = _chromium(probe.as_uri(), screenshot, profile)
            found = re.search(r'<pre id="clv-probe"[^>]*>(.*?)</pre>', dom, re.S)
            result = json.loads(html.unescape(found.group(1))) if found else {}
            if result.get("stage") == "loaded":
                break
    finally:
        probe.unlink()
    assert result, f"{page}: the probe script did not run (chromium printed {len(dom)} characters)"
    assert result["stage"] == "loaded", f"{page}: the page did not finish loading: {result}"
    print(f"screenshot of {page}: {screenshot}")
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    return result


def _require_chromium() -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing and CI is set: run .ci/install_browser.sh")
        pytest.skip("chromium is not installed (apt-get install chromium, or .ci/install_browser.sh)")


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    _require_chromium()
    root = tmp_path_factory.mktemp("browser")
    make_orders(root / "orders.csv")
    make_notebook(root / "nb" / "01_plot.ipynb", PLOT, title="Plot report")
    out = root / "reports"
    completed = subprocess.run(
        [sys.executable, "-m", "clvlib", "report", "--data", str(root / "orders.csv"), *COLUMNS,
         "--as-of", "2024-02-29,2024-03-31", "--out", str(out), "--notebooks-dir", str(root / "nb"), "-q"],
        capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return out


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots in {folder}")
    return folder


def _pages(out: Path) -> list[Path]:
    return [out / "index.html", *sorted(p for p in out.glob("*/*.html") if not p.name.startswith("."))]


def test_every_page_renders_without_errors_and_links_resolve(report_run, shots, tmp_path):
    pages = _pages(report_run)
    assert len(pages) == 7  # the history index, and per date its index, the report and the glossary
    for page in pages:
        result = _probe(page, shots, tmp_path / "profile")
        assert all(img["complete"] and img["width"] > 0 for img in result["images"]), (page, result["images"])
        assert result["error_outputs"] == 0 and not result["traceback"], page
        assert result["text_length"] > 200 and result["title"], page
        # The reports show the plot and the history shows the trend chart; a run's index has the summary's
        # charts; the glossary is words only.
        assert len(result["images"]) >= (0 if page.name == "glossary.html" else 1), page
        if page.name == "index.html":
            targets = [h for h in result["links"] if not h.startswith("#") and not urlparse(h).scheme]
            assert targets, page
            missing = [h for h in targets if not (page.parent / unquote(h)).is_file()]
            assert missing == [], f"{page}: links to missing files {missing}"


@pytest.mark.slow
def test_real_reports_for_business_readers_render(shots, tmp_path):
    # The kit's own notebooks on the bundled demo store, in the no-code version a manager receives.
    _require_chromium()
    from clvlib.config import NOTEBOOKS_DIR

    if not list(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        pytest.skip("no report notebooks in notebooks/ yet")
    params = tmp_path / "small.yaml"
    params.write_text("max_customers: 2000\nn_draws: 20\n")  # size knobs keep the run short
    out = tmp_path / "demo"
    completed = subprocess.run([sys.executable, "-m", "clvlib", "report", "--out", str(out), "--jobs", "2", "-q",
                                "--no-code", "--params", str(params)], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    pages = [out / "index.html", *sorted(p for p in out.glob("[0-9][0-9]_*.html"))]
    assert len(pages) == 1 + len(list(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")))
    for page in pages:
        result = _probe(page, shots, tmp_path / "profile")
        assert all(img["complete"] and img["width"] > 0 for img in result["images"]), page
        assert result["error_outputs"] == 0 and not result["traceback"], page
        if page.name == "index.html":
            targets = [h for h in result["links"] if not h.startswith("#") and not urlparse(h).scheme]
            assert [h for h in targets if not (out / unquote(h)).is_file()] == []
        else:
            assert len(result["images"]) >= 2, f"{page.name}: figures missing"
            assert "clvlib.load_orders(" not in page.read_text(), f"{page.name}: code shown in the no-code version"


# --- a shop export full of script payloads: every page shows them as text and runs none ------------------------------

# Each payload, if it ran, would set the page's title to "pwned"; the probe reads the title once the page has loaded.
_PAYLOADS = {
    "script": "<script>document.title='pwned'</script>",
    "img": "<img src=x onerror=\"document.title='pwned'\">",
    "svg": "<svg/onload=document.title='pwned'>",
    "link": "[click](javascript:document.title='pwned')",
    "math": "$\\href{javascript:alert(1)}{x}$",
    "formula": '=HYPERLINK("http://x","pwned")',
}
# A file name cannot hold "/": the image payload without one.
_FILE_PAYLOAD = "<img src=x onerror=document.title='pwned'>"

_TEXT_PROBE = """<script>
window.addEventListener("load", function () {
  var pre = document.createElement("pre");
  pre.id = "clv-xss-probe";
  pre.style.display = "none";
  pre.textContent = JSON.stringify({stage: "loaded", title: document.title, text: document.body.innerText,
                                    scripts: document.scripts.length});
  document.body.appendChild(pre);
});
</script>"""


def _payload_orders(folder: Path) -> Path:
    """About 100 customers over a year and a half; payloads as ids, products, channels, statuses, file name."""
    import numpy as np
    import pandas as pd

    payloads = list(_PAYLOADS.values())
    rng = np.random.default_rng(7)
    rows = []
    for c in range(100):
        customer = payloads[c] if c < len(payloads) else f"c{c}@example.com"
        first = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        for day in sorted(rng.integers(0, 400, int(rng.geometric(0.35)))):
            n = len(rows) + 1
            rows.append({"Email": customer, "Order": str(n),
                         "Date": (first + pd.Timedelta(days=int(day))).date().isoformat(),
                         "Total": round(float(rng.gamma(2.0, 30.0)) + 1.0, 2),
                         "Channel": payloads[n // 3 % len(payloads)] if n % 3 == 0 else "web",
                         "Product": payloads[n // 2 % len(payloads)] if n % 2 == 0 else "T-shirt $$",
                         "Status": payloads[n % 3] if n % 11 == 0 else "paid"})
    path = folder / f"orders{_FILE_PAYLOAD}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_payloads_in_the_data_show_as_text_and_run_no_script(tmp_path):
    _require_chromium()
    data = _payload_orders(tmp_path)
    out = tmp_path / "report"
    columns = [f"--column={canonical}={source}" for canonical, source in (
        ("customer_id", "Email"), ("order_id", "Order"), ("order_date", "Date"), ("revenue", "Total"),
        ("channel", "Channel"), ("product", "Product"), ("status", "Status"))]
    completed = subprocess.run([sys.executable, "-m", "clvlib", "report", "--data", str(data), "--out", str(out),
                                *columns, "--jobs", "2", "-q"], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    from clvlib.config import NOTEBOOKS_DIR

    pages = [out / "index.html", *sorted(out.glob("[0-9][0-9]_*.html"))]
    assert len(pages) == 1 + len(list(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")))
    seen = ""
    for page in pages:
        probe = page.with_name(f".probe-{page.name}")
        probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _TEXT_PROBE + "</body>", 1),
                         encoding="utf-8")
        try:
            dom = _chromium(probe.as_uri(), tmp_path / f"{page.stem}.png", tmp_path / "profile")
        finally:
            probe.unlink()
        found = re.search(r'<pre id="clv-xss-probe"[^>]*>(.*?)</pre>', dom, re.S)
        assert found, f"{page.name}: the page did not finish loading"
        result = json.loads(html.unescape(found.group(1)))
        assert result["title"] != "pwned", f"{page.name}: a payload from the data ran as script"
        # The file name is on every page (the index and each notebook's cleaning report), as text.
        assert _FILE_PAYLOAD in result["text"], f"{page.name}: the data file's name is not shown as text"
        seen += result["text"]
    shown = {name: payload in seen for name, payload in _PAYLOADS.items()}
    assert all(shown.values()), f"payloads not shown as text on any page: {shown}"
