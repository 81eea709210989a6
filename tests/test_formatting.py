"""clvlib.formatting: money and shares for people, and data values made literal in Markdown sentences."""

from __future__ import annotations

import pandas as pd
import pytest

from clvlib.formatting import escape_markdown, markdown_money

PAYLOADS = ["**x**", "<img src=x onerror=alert(1)>", "$\\href{x}$", "[a](javascript:alert(1))", "`code`", "a | b",
            "# Heading", "- item", "1. first", "~~gone~~", "&lt;b&gt;", "_under_", "![i](x)", "https://x.y/z",
            "<script>document.title='pwned'</script>", "T-shirt $$", "$25 - $50", "line\r\n= two\rthree"]


def _html(markdown: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(markdown)


@pytest.mark.parametrize("value", PAYLOADS)
def test_escaped_values_render_as_their_own_text(value):
    import html

    rendered = _html(f"Segment **{escape_markdown(value)}** brings {markdown_money(25)} and {markdown_money(50)}.")
    # One paragraph, one bold run, no other element: no link, image, code, heading, list or raw HTML.
    tags = sorted(set(pd.Series(__import__("re").findall(r"</?([a-z0-9]+)", rendered))))
    assert tags == ["p", "strong"], rendered
    text = html.unescape(__import__("re").sub(r"<[^>]+>", "", rendered)).strip()
    expected = " ".join(value.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    assert " ".join(text.split("\n")) == f"Segment {expected} brings $25 and $50."


def test_every_markdown_special_is_escaped():
    out = escape_markdown("\\`*_{}[]()<>#|$~!&^:")
    assert out == "".join("\\" + c for c in "\\`*_{}[]()<>#|$~!&^:")
    assert escape_markdown("# a\n- b\n+ c\n= d\n12. e") == "\\# a\n\\- b\n\\+ c\n\\= d\n12\\. e"
    assert escape_markdown("plain text, 3.5 % - ok") == "plain text, 3.5 % - ok"  # nothing else changes
    assert escape_markdown(12) == "12" and escape_markdown(None) == "None"


def test_money_dollars_are_escaped_so_two_amounts_are_not_maths():
    assert markdown_money(1234, "USD") == "\\$1,234"
    assert markdown_money(35.257, "EUR") == "€35.26"
    assert markdown_money(5, "<b>") == "5 \\<b\\>"  # a currency code from the data is escaped too


def test_sentences_escape_segment_names_and_money():
    import clvlib

    frame = pd.DataFrame({"segment": ["<img src=x onerror=alert(1)>", "**bold**", "**bold**"],
                          "total_revenue": [300.0, 100.0, 100.0], "clv": [900.0, 1.0, 2.0]})
    lines = clvlib.segment_headlines(clvlib.segment_summary(frame, clv_column="clv"), clv_label="CLV $x$")
    joined = " ".join(lines)
    assert "<img" not in joined.replace("\\<img", "")
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in joined and "\\*\\*bold\\*\\*" in joined
    assert "(\\$900)" in joined and "CLV \\$x\\$" in joined
    before = pd.DataFrame({"segment": ["[a](javascript:x)"] * 2}, index=["a", "b"])
    after = pd.DataFrame({"segment": ["$\\href{x}$"] * 2, "total_revenue": [30.0, 20.0]}, index=["a", "b"])
    moved = clvlib.migration_headlines(clvlib.segment_migration(before, after))[1]
    assert "\\[a\\]\\(javascript\\:x\\)" in moved and "\\$\\\\href\\{x\\}\\$" in moved and "\\$50" in moved
    stats = pd.Series({"mean": 40.0, "median": 20.0, "skewness": 2.1, "share_below_mean": 0.8})
    sentence = clvlib.describe_order_values(stats)
    assert sentence.startswith("The average order (AOV) is \\$40 but the median order is \\$20")
