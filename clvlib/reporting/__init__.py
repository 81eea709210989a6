"""Reporting: the ``clv report`` command and what it runs.

* ``cli``: the command line (``python -m clvlib report``, ``clv report``);
* ``run``: one run per as-of date, atomic, into a folder the kit may replace; periodic runs;
* ``execute``: papermill, one ordinary kernel per notebook, in parallel with ``--jobs``;
* ``html``: self-contained HTML pages (figures and formulas embedded);
* ``index``: the data checked up front, the headline figures, ``run.json``, the run and history index pages.

Nothing here is imported by ``import clvlib``: the reporting stack (papermill, nbconvert) loads only for a report.
"""
