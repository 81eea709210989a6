"""HTML for the report runner: executed notebooks → self-contained pages, and the run's index page.

Everything here is string work on finished results; the numbers come from :mod:`clvlib.report_index`. Pages are
self-contained, with no external reference: images are inline (nbconvert embeds PNG outputs as data URIs), styles
are inline, and the formulas of markdown cells are typeset here, with matplotlib's mathtext, into inline SVG images
(MathJax would need a network, and would also mistake two prices such as "$82 ... $49" in an output for a formula).
A formula mathtext cannot parse is shown as its TeX source. Typeset formulas are kept between runs in
:func:`formula_cache_dir`, so that a monthly report pays for mathtext only when a formula changes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import importlib.metadata
import io
import os
import re
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from ..formatting import format_money

__all__ = ["notebook_to_html", "index_page", "add_toc", "render_math", "formula_cache_dir", "format_figure",
           "PAGE_CSS"]

# Shared by the index and history pages: a quiet, print-friendly layout with right-aligned tabular numbers.
PAGE_CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --accent:#1d4ed8; --bad:#b91c1c; --bg:#f8fafc; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--ink); background:var(--bg); }
main { max-width: 1080px; margin: 0 auto; padding: 32px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 36px 0 12px; }
.sub { color: var(--muted); margin: 0 0 24px; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.cards { display:grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.card .label { color:var(--muted); font-size:13px; }
.card .value { font-size:24px; font-weight:600; white-space:nowrap; font-variant-numeric: tabular-nums; }
.card .change { font-size:12px; color:var(--muted); }
.summary { font-size:16px; line-height:1.5; margin: 8px 0 16px; padding-left: 20px; }
.charts { display:grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
table { border-collapse: collapse; background:#fff; border:1px solid var(--line); font-size:14px; }
table.wide { width: 100%; } td.date { white-space: nowrap; }
th, td { padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: left; }
th { background:#f1f5f9; font-weight:600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background:#fafbfc; }
ul.reports { list-style:none; padding:0; display:grid; gap:10px; }
ul.reports li { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
ul.reports .meta { color:var(--muted); font-size:13px; }
ul.reports .failed { color:#b91c1c; font-size:14px; margin-top:4px; }
.note { color: var(--muted); font-size: 13px; }
img.chart { max-width:100%; background:#fff; border:1px solid var(--line); border-radius:10px; }
footer { margin-top:40px; color:var(--muted); font-size:12px; }
"""

# Extends nbconvert's lab template: drops require.js, mermaid and MathJax (no widgets or diagrams in our reports,
# formulas are typeset beforehand), adds a header naming the data and the date, plus a table of contents, and
# skips re-sanitising highlighted code.
_NOTEBOOK_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block extra_css -%}<style type="text/css">{{ resources.clv.css }}</style>{%- endblock extra_css -%}
{#- The lab template's input block without its bleach pass: pygments has already escaped the code, and the pass
    costs a third of a page's conversion. -#}
{% block input %}
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
     <div class="cm-editor cm-s-jupyter">
{{ cell.source | highlight_code(metadata=cell.metadata) }}
     </div>
</div>
{%- endblock input %}
{%- block body_header -%}{{ super() }}
<header class="clv-header">
  {%- if resources.clv.index_href -%}
  <a class="clv-back" href="{{ resources.clv.index_href | e }}">&larr; all reports</a>
  {%- endif %}
  {%- if resources.clv.heading %}<h1 class="clv-title">{{ resources.clv.heading | e }}</h1>{% endif %}
  <p class="clv-sub">{{ resources.clv.subtitle | e }}</p>
</header>
<!--CLV-TOC-->
{%- endblock body_header -%}
"""

_NOTEBOOK_CSS = """
body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 0 24px 48px; }
.clv-header { border-bottom: 1px solid #e4e7eb; padding: 16px 0 10px; margin-bottom: 12px;
              display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 18px; }
.clv-header .clv-title { flex-basis: 100%; color: #b91c1c; }
.clv-title { font: 600 26px/1.25 system-ui, sans-serif; margin: 4px 0; }
.clv-sub { color: #616e7c; margin: 0; font: 14px system-ui, sans-serif; }
.clv-back { font: 13px system-ui, sans-serif; color: #1d4ed8; text-decoration: none; }
nav.clv-toc { background: #f8fafc; border: 1px solid #e4e7eb; border-radius: 8px; padding: 10px 18px;
              margin: 8px 0 20px; font: 14px/1.6 system-ui, sans-serif; }
nav.clv-toc strong { display: block; margin-bottom: 2px; }
nav.clv-toc ul { margin: 0; padding: 0; list-style: none; }
nav.clv-toc li { break-inside: avoid; } nav.clv-toc li.h3 { padding-left: 18px; font-size: 13px; }
nav.clv-toc a { color: #1d4ed8; text-decoration: none; }
.jp-RenderedHTMLCommon table { font-variant-numeric: tabular-nums; margin: 8px 0; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: #f8fafc; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
img.clv-math { display: inline-block; margin: 0 1px; }
div.clv-math-display { text-align: center; margin: 10px 0; }
"""

_HEADING = re.compile(r'<h([1-3])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_TAG = re.compile(r"<[^>]+>")
# Markdown math, as Jupyter and pandoc read it: $$display$$, and $inline$ with no space just inside the dollars
# and no digit or letter right after the closing one (so "$82 and $49" is two prices). Code spans are left alone.
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
_DISPLAY = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.S)
_DOLLAR = re.compile(r"(?<!\\)\$")
_INLINE = re.compile(r"(?<![\\$\w])\$(?=[^\s$])([^$\n]*?[^\s\\$])\$(?![\w$])")
# LaTeX spellings mathtext lacks, and their mathtext equivalents.
# (Text in \text{...} keeps its spaces: mathtext drops plain spaces, so they become explicit "\ ".)
_TEX_ALIASES = [(re.compile(r"\\(le|ge|ne)(?![a-zA-Z])"), r"\\\1q"), (re.compile(r"\\dots(?![a-zA-Z])"), r"\\ldots"),
                (re.compile(r"\\(?:text|operatorname|textrm|mathrm)\{([^{}]*)\}"),
                 lambda m: "\\mathrm{" + m.group(1).replace(" ", "\\ ") + "}"),
                (re.compile(r"\\[dt]frac"), r"\\frac"), (re.compile(r"\\displaystyle"), " ")]


_SVG_METADATA = re.compile(rb"\s*<metadata>.*?</metadata>", re.S)
_NO_ALT = "No description has been provided for this image"
_FOCUSABLE = re.compile(r'(<div class="(?:jp-Cell-inputWrapper|[^"]*\bjp-OutputArea-output\b[^"]*)"[^>]*)>')
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)([^>]*?)(/?)>")


def _accessible(page: str) -> str:
    """What nbconvert's HTMLExporter adds with BeautifulSoup, with two substitutions: alt text on images without
    one, and keyboard focus (``tabindex="0"``) on input and output areas.

    Examples
    --------
    >>> _accessible('<div class="jp-Cell-inputWrapper"><img src="a.png"><img alt="x" src="b.png"></div>')
    '<div class="jp-Cell-inputWrapper" tabindex="0"><img src="a.png" alt="No description has been provided for \
this image"><img alt="x" src="b.png"></div>'
    """
    page = _FOCUSABLE.sub(r'\1 tabindex="0">', page)
    return _IMG_WITHOUT_ALT.sub(lambda m: f'<img{m.group(1)} alt="{_NO_ALT}"{m.group(2)}>', page)


@lru_cache(maxsize=2)
def _exporter(no_code: bool):
    # Building an exporter loads and compiles the templates; one per process and variant is enough.
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        # HTMLExporter.from_notebook_node (nbconvert 7.17) without its BeautifulSoup pass over the finished page,
        # a quarter of a conversion on pages of inline figures; _accessible adds the same attributes (tested
        # against the original).
        def from_notebook_node(self, nb, resources=None, **kw):
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _accessible(page), resources

    exporter = ReportExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"clv_report.html.j2": _NOTEBOOK_TEMPLATE})],
        template_file="clv_report.html.j2",
        embed_images=True,
        exclude_input=no_code,
        exclude_input_prompt=no_code,
        exclude_output_prompt=no_code,
    )
    return exporter


# Bump when the HTML a formula becomes changes, so that cached formulas are typeset again.
_FORMULA_VERSION = "1"


def formula_cache_dir() -> Path:
    """Where typeset formulas are kept between runs: ``$CLVLIB_CACHE_DIR/formulas``, else the user cache folder.

    The user cache folder is ``$XDG_CACHE_HOME/clvlib`` (``~/.cache/clvlib`` by default). Deleting the folder is
    always safe: formulas are typeset again on the next run.
    """
    if os.environ.get("CLVLIB_CACHE_DIR"):
        return Path(os.environ["CLVLIB_CACHE_DIR"], "formulas")
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "clvlib", "formulas")


@lru_cache(maxsize=1024)
def _formula(tex: str, display: bool) -> str:
    # Typesetting costs about a second per process (matplotlib's import, mathtext's parser and fonts) and a few
    # tens of ms per formula, while a notebook's formulas rarely change between monthly runs: like Sphinx's
    # imgmath, keep each result in a file named for what it was made from. The cache is only an optimisation, so
    # any error reading or writing it falls back to typesetting.
    key = hashlib.sha256(
        f"{_FORMULA_VERSION}\0{_matplotlib_version()}\0{display}\0{tex}".encode()).hexdigest()
    path = formula_cache_dir() / f"{key}.html"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    snippet = _typeset_formula(tex, display)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(snippet, encoding="utf-8")
        os.replace(partial, path)  # atomic: a concurrent run reads the old file or the whole new one
    except OSError:
        pass
    return snippet


@lru_cache(maxsize=1)
def _matplotlib_version() -> str:
    # The package metadata, not `matplotlib.__version__`: a cache hit then needs no matplotlib import at all.
    return importlib.metadata.version("matplotlib")


def _typeset_formula(tex: str, display: bool) -> str:
    # One formula as an inline SVG <img> (alt text: the TeX); its TeX source in <code> when mathtext cannot parse it.
    from matplotlib import mathtext, rc_context
    from matplotlib.font_manager import FontProperties

    source = tex.strip()
    for pattern, replacement in _TEX_ALIASES:
        source = pattern.sub(replacement, source)
    buffer = io.BytesIO()
    try:
        with rc_context({"mathtext.fontset": "cm", "svg.fonttype": "path", "svg.hashsalt": "clv"}):
            depth = mathtext.math_to_image(f"${source}$", buffer, prop=FontProperties(size=15 if display else 12),
                                           format="svg")
    except (ValueError, RuntimeError):
        return f"<code>{html.escape(tex.strip())}</code>"
    # Without its metadata (the creation time, the creator): smaller, and the same bytes on every run.
    svg = _SVG_METADATA.sub(b"", buffer.getvalue())
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    image = (f'<img class="clv-math" alt="{html.escape(tex.strip(), quote=True)}" src="{uri}" '
             f'style="vertical-align: -{depth:.1f}pt">')
    return f'\n\n<div class="clv-math-display">{image}</div>\n\n' if display else image


def render_math(markdown: str) -> str:
    """Replace the formulas of a markdown text by inline SVG images (matplotlib mathtext), leaving code alone.

    Parameters
    ----------
    markdown : str
        A markdown cell's source.

    Returns
    -------
    str
        The same markdown with each ``$...$`` / ``$$...$$`` formula replaced by an ``<img>`` whose ``alt`` is the
        TeX source (or by the TeX in ``<code>`` when mathtext cannot parse it).

    Examples
    --------
    >>> out = render_math("Spend $x_i$ over `$HOME`: **$82** and **$49**.")
    >>> out.count('<img class="clv-math" alt="x_i"'), "`$HOME`" in out, out.endswith(r"**\\$82** and **\\$49**.")
    (1, True, True)
    >>> render_math(r"$\\unknownmacro{x}$")
    '<code>\\\\unknownmacro{x}</code>'
    >>> _TEX_ALIASES[2][0].sub(_TEX_ALIASES[2][1], r"1 + \\text{share of customers}")
    '1 + \\\\mathrm{share\\\\ of\\\\ customers}'
    
    """
    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts are prose, odd ones the code spans the split kept
        prose = _DISPLAY.sub(lambda m: _formula(m.group(1), True), parts[i])
        prose = _INLINE.sub(lambda m: _formula(m.group(1), False), prose)
        # Every dollar left is a dollar: escaped, so that the markdown renderer does not take "$200** ... **$2"
        # for a formula either.
        parts[i] = _DOLLAR.sub(r"\\$", prose)
    return "".join(parts)


def _typeset(nb: Any) -> Any:
    # Markdown cells and markdown outputs (headline sentences written by code) alike.
    nb = copy.deepcopy(nb)  # the caller's notebook (also written as .ipynb) keeps its TeX
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = render_math(cell.source)
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown")
            if isinstance(text, str) and "$" in text:
                output["data"]["text/markdown"] = render_math(text)
    return nb


def add_toc(page: str, *, min_headings: int = 2) -> str:
    """Insert a table of contents, built from the page's ``<h1>``–``<h3>`` headings, at ``<!--CLV-TOC-->``.

    Parameters
    ----------
    page : str
        HTML whose headings carry ``id`` attributes (nbconvert adds them to markdown headings).
    min_headings : int, default 2
        Below this number of headings the marker is simply removed.

    Returns
    -------
    str
        The page with a ``<nav class="clv-toc">`` in place of the marker.

    Examples
    --------
    >>> page = '<!--CLV-TOC--><h2 id="A">A</h2><h2 id="B-c">B <a class="anchor-link" href="#B-c">¶</a></h2>'
    >>> re.findall(r'<li class="(h\\d)"><a href="(#[^"]+)">([^<]+)</a>', add_toc(page))
    [('h2', '#A', 'A'), ('h2', '#B-c', 'B')]
    """
    found = _HEADING.findall(page.split("<!--CLV-TOC-->", 1)[-1])
    # The notebook's own title (the first h1) repeats the page header; the contents list starts below it.
    if found and found[0][0] == "1":
        found = found[1:]
    items = []
    for level, anchor, inner in found:
        text = html.unescape(_TAG.sub("", inner)).replace("¶", "").strip()
        if text:
            items.append(f'<li class="h{level}"><a href="#{anchor}">{html.escape(text)}</a></li>')
    toc = ""
    if len(items) >= min_headings:
        toc = f'<nav class="clv-toc"><strong>Contents</strong><ul>{"".join(items)}</ul></nav>'
    return page.replace("<!--CLV-TOC-->", toc, 1)


def notebook_to_html(nb: Any, *, heading: str | None, subtitle: str, title: str | None = None,
                     no_code: bool = False, index_href: str | None = "index.html") -> str:
    """Convert an executed notebook into one self-contained HTML page.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook.
    heading : str or None
        A heading above the notebook (e.g. "FAILED: ..."); None when the notebook's own title suffices.
    subtitle : str
        Shown at the top of the page: the data, the as-of date and the currency.
    title : str, optional
        The browser title; ``heading`` by default.
    no_code : bool, default False
        Hide code cells and prompts (the business reader's version); outputs and markdown stay.
    index_href : str or None, default "index.html"
        Link back to the run's index page; None for no link.

    Returns
    -------
    str
        The HTML document.
    """
    resources = {
        "metadata": {"name": title or heading or subtitle},
        "clv": {"heading": heading, "subtitle": subtitle, "index_href": index_href, "css": _NOTEBOOK_CSS},
    }
    body, _ = _exporter(no_code).from_notebook_node(_typeset(nb), resources=resources)
    return add_toc(link_glossary(body))


#: Where the notebooks link the glossary (relative to ``notebooks/``), and where a report links it instead: the
#: run folder's own copy (:func:`glossary_page`), so the link works wherever the folder is sent.
GLOSSARY_LINK = "../docs/glossary.md"
GLOSSARY_PAGE = "glossary.html"


def link_glossary(page: str) -> str:
    """Point the notebooks' glossary links at the report's copy.

    >>> link_glossary('<a href="../docs/glossary.md">glossary</a>')
    '<a href="glossary.html">glossary</a>'
    """
    return page.replace(f'href="{GLOSSARY_LINK}', f'href="{GLOSSARY_PAGE}')


def glossary_page(markdown_text: str) -> str:
    """The glossary (``docs/glossary.md``) as a self-contained page in the report's style."""
    import mistune  # nbconvert's own Markdown renderer, so no new dependency

    # The page's own heading replaces the file's "# Glossary".
    text = re.sub(r"\A\s*# [^\n]*\n", "", markdown_text)
    body = mistune.create_markdown(escape=True, plugins=["table"])(text)
    return index_page(title="Glossary — CLV reports", heading="Glossary", subtitle="Every term the reports use",
                      body=body, back_href="index.html", back_label="all reports")


def format_figure(value: float | int | None, kind: str, currency: str = "USD") -> str:
    """Format a headline figure: counts with thousands separators, money with the currency, shares in %.

    ``kind`` is "count", "money" (:func:`clvlib.formatting.format_money`, the kit's one way of writing money in
    text and tables), "amount" (money without the currency, for columns labelled with it) or "share".

    Examples
    --------
    >>> format_figure(1234567, "count"), format_figure(1234.5, "money", "EUR"), format_figure(0.4567, "share")
    ('1,234,567', '€1,234', '45.7 %')
    >>> format_figure(1234.5, "amount"), format_figure(82.675, "amount")
    ('1,234', '82.67')
    >>> format_figure(None, "money")
    '–'
    """
    if value is None or value != value:  # None or NaN
        return "–"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "money":
        return format_money(value, currency)
    if kind == "amount":  # money in a column or card labelled with its currency: cents only for small amounts
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"
    if kind == "share":
        return f"{100 * value:.1f} %"
    return f"{value:,}"


_INDEX_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="clvlib report">
<title>$title</title><style>$css</style></head>
<body><main>
$back
<h1>$heading</h1>
<p class="sub">$subtitle</p>
$body
<footer>$footer</footer>
</main></body></html>
""")


def index_page(*, title: str, heading: str, subtitle: str, body: str, footer: str = "",
               back_href: str | None = None, back_label: str = "report history") -> str:
    """Wrap already-escaped HTML ``body`` in the kit's page layout (index and history pages).

    Parameters
    ----------
    title, heading, subtitle : str
        Plain text; escaped here.
    body : str
        HTML fragment, already escaped by the caller.
    footer : str, default ""
        HTML fragment for the page foot.
    back_href : str, optional
        A link shown above the heading (e.g. to the history page).

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> page = index_page(title="T & t", heading="H", subtitle="S", body="<p>x</p>")
    >>> "<title>T &amp; t</title>" in page and "<p>x</p>" in page
    True
    """
    back = f'<a href="{html.escape(back_href)}">&larr; {html.escape(back_label)}</a>' if back_href else ""
    return _INDEX_PAGE.substitute(title=html.escape(title), css=PAGE_CSS, back=back, heading=html.escape(heading),
                                  subtitle=html.escape(subtitle), body=body, footer=footer)
