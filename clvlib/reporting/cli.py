"""Command line: ``python -m clvlib report ...`` (or ``clv report ...``) runs the notebooks into HTML reports.

The CLI is the one place that prints: progress on stderr (notebook, cell, elapsed time), the index page's path
on stdout. Exit status: 0 when every report was written, 1 when a notebook failed (the previous report is kept),
2 for a usage error or data that cannot be used (nothing was run).
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

__all__ = ["main", "build_parser"]

_EPILOG = """\
examples:
  clv report
      every notebook on the bundled demo store, into reports/<last order date>/
  clv report --data exports/orders.csv --preset shopify --currency EUR
      a Shopify orders export; amounts labelled in EUR
  clv report --data orders.csv --column customer_id=Email --column order_date="Created at" --column revenue=Total
      a generic CSV: map the kit's canonical columns to the file's own headers
  clv report --data export.csv --encoding latin-1 --dayfirst --decimal , --rates rates.csv
      a European export: Latin-1 text, dates day first, decimal commas, other currencies converted
  clv report --data orders.csv --as-of 2025-03-31 --out /tmp/q1 --with-code
      one date into a chosen folder, for analysts (pages show the code cells; by default they do not)
  clv report --data orders.csv --as-of 2025-01-31,2025-02-28 --as-of 2025-03-31
      three dates: one folder each under reports/, plus a history page reports/index.html
  clv report --data orders.csv --every quarter --from 2024-01-01 --to 2024-12-31 --jobs 2
      every quarter end of 2024, two notebooks at a time
  clv report --notebooks 04_rfm --params params.yaml
      only the RFM report, with notebook parameters (e.g. `horizon_months: 24`) from a YAML file

exit status: 0 reports written; 1 a notebook failed (previous report kept, the new run kept whole in
<out>.failed/); 2 usage error, unusable data or parameters, or an output folder or machine that cannot take the
report (not the kit's, locked by another run, read-only, disk full): nothing was replaced; 3 an unexpected error
in the kit (a bug: --debug shows the traceback); 130/143 interrupted by Ctrl-C/SIGTERM (every process of the run
stopped, temporary files removed, previous report kept).
"""


def _split_list(values: Sequence[str] | None) -> list[str]:
    return [item.strip() for value in values or () for item in value.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``clv`` (sub-command ``report``)."""
    parser = argparse.ArgumentParser(prog="clv", description="The CLV notebook kit.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    report = commands.add_parser(
        "report", help="run the notebooks into self-contained HTML reports with an index page",
        description="Run the kit's notebooks with papermill into self-contained HTML reports, an index page and "
                    "run.json, atomically: a failed run never replaces the last good report.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("--data", metavar="PATH",
                        help="order export to analyse (CSV, Excel, Parquet); default: the bundled demo store. "
                             "Example: --data exports/orders.csv")
    report.add_argument("--preset", metavar="NAME",
                        help="known export layout: shopify, woocommerce, stripe, online_retail, cdnow. "
                             "Example: --preset shopify")
    report.add_argument("--column", action="append", metavar="CANONICAL=SOURCE", default=[],
                        help="map a canonical column to a column of the file; repeatable. "
                             "Example: --column customer_id=Email --column revenue=Total")
    reading = report.add_argument_group(
        "reading the export", "options of clvlib.read_transactions, passed to every notebook (parameter read_options)")
    reading.add_argument("--encoding", metavar="NAME",
                         help="text encoding of a CSV (default UTF-8, or UTF-16/32 by its byte-order mark). "
                              "Example: --encoding latin-1")
    reading.add_argument("--sheet", metavar="NAME", help="Excel sheet to read, by name (default the first). "
                                                         "Example: --sheet Orders")
    reading.add_argument("--sep", metavar="CHAR", help="CSV delimiter (default sniffed). Example: --sep ';'")
    order = reading.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, default=None,
                       help="numeric dates are written day first (31/01/2025); default: decided from the data")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="numeric dates are written month first (01/31/2025)")
    reading.add_argument("--date-format", metavar="FORMAT",
                         help="strftime format of the dates. Example: --date-format '%%d.%%m.%%Y %%H:%%M'")
    reading.add_argument("--decimal", metavar="CHAR",
                         help="decimal mark of amounts (default '.', ',' detected in European exports). "
                              "Example: --decimal ,")
    reading.add_argument("--thousands", metavar="CHAR",
                         help="thousands separator of amounts. Example: --thousands .")
    reading.add_argument("--rates", metavar="FILE",
                         help="CSV (currency,rate) or YAML mapping of currency to rate in store-currency units per "
                              "unit; orders in those currencies are converted instead of excluded. "
                              "Example: --rates rates.yaml with `EUR: 1.08`")
    reading.add_argument("--timezone", metavar="ZONE",
                         help="store time zone: timestamps with a UTC offset are converted to it before the date "
                              "is taken. Example: --timezone Europe/Berlin")
    report.add_argument("--params", metavar="FILE.yaml",
                        help="YAML mapping of further notebook parameters; each notebook gets those it declares. "
                             "Example: --params params.yaml with `horizon_months: 24`")
    report.add_argument("--as-of", action="append", metavar="DATE", default=[],
                        help="analysis date(s), ISO; comma list or repeated for several dates; default: the last "
                             "order date. Example: --as-of 2025-03-31")
    report.add_argument("--every", choices=["month", "quarter"],
                        help="one run per month or quarter end between --from and --to. Example: --every month")
    report.add_argument("--from", dest="start", metavar="DATE",
                        help="first date for --every. Example: --from 2025-01-01")
    report.add_argument("--to", dest="end", metavar="DATE", help="last date for --every. Example: --to 2025-06-30")
    report.add_argument("--out", metavar="DIR",
                        help="output folder; default reports/<as-of>/. With several dates, the parent of one "
                             "folder per date and of the history index.html. Example: --out /tmp/clv")
    report.add_argument("--notebooks", action="append", metavar="NAMES", default=[],
                        help="only these notebooks, by name or number; comma list. Example: --notebooks 02,04_rfm")
    code = report.add_mutually_exclusive_group()
    code.add_argument("--with-code", action="store_true",
                      help="show the code cells in the HTML, for analysts; by default pages show the lesson, the "
                           "figures and the tables without code (the .ipynb keeps everything either way)")
    code.add_argument("--no-code", action="store_true",
                      help="pages without code cells: the default, accepted for older scripts")
    report.add_argument("--with-emails", action="store_true",
                        help="show customer ids and emails in exports and tables (contact data: keep the report "
                             "inside the team that may see it); default: keyed pseudonyms and no emails")
    report.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="notebooks executed in parallel processes (default 1). Example: --jobs 2")
    report.add_argument("--currency", metavar="CODE",
                        help="currency of the amounts, for labels (default: the data's own, from the preset or the "
                             "file's currency column, else USD). Example: --currency EUR")
    report.add_argument("-q", "--quiet", action="store_true", help="report notebooks only, not every cell")
    report.add_argument("--debug", action="store_true",
                        help="on an unexpected error, print the Python traceback as well as the message")
    report.add_argument("--notebooks-dir", metavar="DIR", help=argparse.SUPPRESS)  # developers and tests
    return parser


class _Progress:
    """Progress lines on stderr, each prefixed by the run's elapsed time and the notebook's name."""

    def __init__(self, quiet: bool, several_dates: bool = False, stream=None):
        self.quiet, self.several_dates = quiet, several_dates
        self.stream, self.started = stream or sys.stderr, time.perf_counter()

    def say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f}s] {text}", file=self.stream, flush=True)

    def __call__(self, event) -> None:
        name = f"{event.as_of} {event.notebook}" if self.several_dates else event.notebook
        if event.kind == "cell":
            if not self.quiet:
                source = event.source if len(event.source) <= 60 else event.source[:57] + "..."
                self.say(f"{name}: cell {event.cell}/{event.n_cells} ({event.elapsed:.1f}s)  {source}")
        elif event.kind == "start":
            self.say(f"{name}: started")
        else:
            self.say(f"{name}: {event.kind} after {event.elapsed:.1f}s")


def _columns(pairs: Sequence[str], parser: argparse.ArgumentParser) -> dict[str, str] | None:
    columns = {}
    for pair in pairs:
        canonical, sep, source = pair.partition("=")
        if not sep or not canonical.strip() or not source.strip():
            parser.error(f"--column expects CANONICAL=SOURCE (e.g. customer_id=Email), but {pair!r} was passed.")
        columns[canonical.strip()] = source.strip()
    return columns or None


def _rates(path: str, parser: argparse.ArgumentParser) -> dict[str, float]:
    """``--rates FILE``: a YAML mapping ``EUR: 1.08``, or a CSV of currency and rate (a header row is allowed)."""
    from .._validation import is_currency_code

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        parser.error(f"--rates {path}: {getattr(error, 'strerror', None) or error}")
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            pairs = yaml.safe_load(text)
        except yaml.YAMLError as error:
            parser.error(f"--rates {path}: {error}")
        if not isinstance(pairs, dict):
            parser.error(f"--rates {path}: expected a mapping of currency codes to rates (e.g. `EUR: 1.08`).")
        pairs = list(pairs.items())
    else:
        import csv
        import io

        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
        if rows and not is_currency_code(rows[0][0].strip()):
            rows = rows[1:]  # a header row (e.g. currency,rate)
        if any(len(row) != 2 for row in rows):
            parser.error(f"--rates {path}: expected two columns, currency and rate (e.g. `EUR,1.08`).")
        pairs = rows
    rates = {}
    for code, rate in pairs:
        code = str(code).strip()
        try:
            value = float(str(rate).strip())
        except ValueError:
            value = float("nan")
        if not is_currency_code(code) or not value > 0 or value == float("inf"):
            parser.error(f"--rates {path}: each entry must be a three-letter currency code and a positive rate, but "
                         f"{code!r}: {rate!r} was found.")
        rates[code.upper()] = value
    if not rates:
        parser.error(f"--rates {path}: no rates in the file.")
    return rates


def _read_options(args: argparse.Namespace, params: dict, parser: argparse.ArgumentParser) -> dict | None:
    """The reading options of the command line over those of ``--params`` (key ``read_options``)."""
    options = params.pop("read_options", None) or {}
    if not isinstance(options, dict):
        parser.error(f"--params: `read_options` must be a mapping (e.g. `encoding: latin-1`), not {options!r}.")
    given = {"encoding": args.encoding, "sheet_name": args.sheet, "sep": args.sep, "dayfirst": args.dayfirst,
             "date_format": args.date_format, "decimal": args.decimal, "thousands": args.thousands,
             "rates": _rates(args.rates, parser) if args.rates else None, "timezone": args.timezone}
    options = {**options, **{k: v for k, v in given.items() if v is not None}}
    if options.get("timezone") is not None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(str(options["timezone"]))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            parser.error(f"--timezone must be an IANA time zone (e.g. Europe/Berlin), but {options['timezone']!r} "
                         "was passed.")
    return options or None


def _params(path: str | None, parser: argparse.ArgumentParser) -> dict:
    if path is None:
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        parser.error(f"--params {path}: {error}")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        parser.error(f"--params {path}: expected a mapping of parameter names to values, got {type(loaded).__name__}.")
    return loaded


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _os_error(error: OSError) -> str:
    import errno

    where = f" ({error.filename})" if getattr(error, "filename", None) else ""
    if error.errno == errno.ENOSPC:
        return f"the disk is full{where}."
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the folder cannot be written{where}: {error.strerror}."
    return f"{error.strerror or error}{where}."


def _traceback(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _skip_slow_optional_imports() -> None:
    # jsonschema (imported by nbformat) loads rfc3987_syntax when it is installed, only to check the "iri" string
    # format, which notebook schemas do not use; building that package's grammar costs seconds at every start.
    # A None entry makes the import fail, and jsonschema then does what it does when the package is absent.
    sys.modules.setdefault("rfc3987_syntax", None)


def run() -> NoReturn:
    """The ``clv`` command and ``python -m clvlib``: :func:`main`, then a quick exit.

    Exit handlers run (logging, temporary folders, multiprocessing), then the process ends without tearing down
    its modules one by one: after a report run (pandas, nbconvert, notebooks in memory) that teardown takes about
    0.4 s, with nothing left to do, as every file has been written and closed.
    """
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """What ``clv`` runs (see :func:`run`): parse ``argv``, run the reports; returns the exit status."""
    from .._validation import is_currency_code

    _skip_slow_optional_imports()
    parser = build_parser()
    args = parser.parse_args(argv)
    report = parser._subparsers._group_actions[0].choices["report"]  # for errors worded under `clv report`
    params = _params(args.params, report)
    # Common parameters may also come from the YAML file; the command line wins.
    options = {
        "data": args.data if args.data is not None else params.pop("data", None),
        "preset": args.preset if args.preset is not None else params.pop("preset", None),
        "columns": _columns(args.column, report) or params.pop("columns", None),
        "read_options": _read_options(args, params, report),
        "currency": args.currency or params.pop("currency", None),  # None: the data's own (preset or file)
    }
    for key in ("data", "preset", "columns", "currency"):
        params.pop(key, None)
    dates = _split_list(args.as_of) or ([str(params.pop("as_of"))] if params.get("as_of") else [])
    params.pop("as_of", None)
    if options["currency"] is not None and not is_currency_code(options["currency"]):
        report.error(f"--currency must be a three-letter ISO 4217 code (e.g. EUR), but {options['currency']!r} was "
                     "passed.")
    if args.jobs < 1:
        report.error(f"--jobs must be at least 1, but {args.jobs} was passed.")
    if args.every and not (args.start and args.end):
        report.error("--every needs --from and --to.")
    if (args.start or args.end) and not args.every:
        report.error("--from/--to need --every month or --every quarter.")

    from . import run as reports
    from ..errors import DataError

    # Our own progress lines replace papermill's log; nbconvert's notes (e.g. on images without alt text) are for
    # notebook authors, not for someone running the reports.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    warnings.showwarning = _show_warning
    progress = _Progress(args.quiet, several_dates=len(dates) > 1 or bool(args.every))
    common = dict(options, params=params or None, notebooks=_split_list(args.notebooks) or None,
                  notebooks_dir=args.notebooks_dir, no_code=not args.with_code, jobs=args.jobs, progress=progress,
                  with_emails=args.with_emails, hint_style="cli")
    def interrupted(signum, frame):  # SIGTERM ends the run the way Ctrl-C does: children stopped, files removed
        raise KeyboardInterrupt(signum)

    previous_handler = signal.signal(signal.SIGTERM, interrupted) if _in_main_thread() else None
    try:
        several = len(dates) > 1 or bool(args.every)
        count = len(set(dates) | set(reports.period_ends(args.every, args.start, args.end) if args.every else ()))
        progress.say(f"reading and checking {options['data'] or 'the bundled demo store'}"
                     + (f" for {count} as-of dates" if several else ""))
        if several:
            data = common.pop("data")
            results = reports.run_reports(data, as_of=dates, every=args.every, start=args.start, end=args.end,
                                          out=args.out, **common)
        else:
            results = [reports.run_report(as_of=dates[0] if dates else None, out=args.out, **common)]
    except KeyboardInterrupt as stop:
        signum = stop.args[0] if stop.args and isinstance(stop.args[0], int) else signal.SIGINT
        print("error: interrupted; the run's processes were stopped and its temporary files removed, and the "
              "previous report is untouched.", file=sys.stderr)
        return 128 + int(signum)
    except DataError as error:
        print(f"error: the data cannot be used, no report was run.\n{error}", file=sys.stderr)
        return 2
    except reports.ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the machine: a read-only or full disk, a missing permission
        print(f"error: the report could not be written: {_os_error(error)} Nothing was replaced; the previous "
              "report, if any, is untouched.", file=sys.stderr)
        _traceback(args.debug)
        return 2
    except Exception as error:  # noqa: BLE001 - a bug: one plain message, the traceback only on request
        print(f"error: unexpected {type(error).__name__} in the kit: {error} (run again with --debug for the "
              "traceback, and please report it).", file=sys.stderr)
        _traceback(args.debug)
        return 3
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    for result in results:
        progress.say(f"as of {result.as_of}: {len(result.timings)} report(s) in {result.out_dir} "
                     f"({result.seconds:.1f}s)")
        print(result.out_dir / "index.html")
    if len(results) > 1 or args.every:
        print(results[0].out_dir.parent / "index.html")
    return 0
