"""The one shape of a result object: ``.table`` (its main DataFrame), ``.verdict`` (one plain sentence) and
``_repr_html_`` (the verdict above the table, in a notebook).

Everything shown comes from data (segment, product or file names, sentences quoting them), so it is escaped: a
notebook page shows it as text and never runs it.
"""

from __future__ import annotations

import html

import pandas as pd

__all__ = ["result_html"]


def result_html(verdict: str, table: pd.DataFrame | None, *, title: str | None = None, max_rows: int = 20) -> str:
    """HTML of a result: an optional bold title, the verdict, and the table (its first ``max_rows`` rows).

    >>> print(result_html("All <good>.", pd.DataFrame({"x": [1]}), title="Check"))  # doctest: +ELLIPSIS
    <p><strong>Check</strong></p><p>All &lt;good&gt;.</p><table border="1" class="dataframe">...
    """
    parts = [f"<p><strong>{html.escape(title)}</strong></p>"] if title else []
    parts.append(f"<p>{html.escape(verdict)}</p>")
    if table is not None:
        parts.append(table.head(max_rows).to_html(escape=True, na_rep="–"))
        if len(table) > max_rows:
            parts.append(f"<p><em>First {max_rows:,} of {len(table):,} rows; the whole table is "
                         "<code>.table</code>.</em></p>")
    return "".join(parts)
