"""RFM: values and 1–N scores, segments from schemes written as data, actions, movement, and exports.

* ``scores``: :func:`rfm_table`, :func:`rfm_scores`, :func:`score_thresholds`, :func:`rfm_grid`;
* ``segments``: schemes (classic, one-to-one, tiers) and :func:`rfm_segments`;
* ``playbook``: what to do with each segment, segment summaries and headlines;
* ``migration``: who moved between segments between two dates;
* ``exports``: injection-safe CSV files for email and ads tools.
"""

from __future__ import annotations

from .exports import (export_segments, export_tables, latest_emails, neutralise_formulas, project_key,
                      pseudonymise_ids, pseudonymise_table)
from .migration import GONE, NEW, SegmentMigration, migration_headlines, segment_migration, segments_between
from .playbook import PLAYBOOK, scheme_grid, scheme_table, segment_headlines, segment_playbook, segment_summary
from .scores import RFM_VALUES, rfm_grid, rfm_scores, rfm_table, score_thresholds
from .segments import REPEAT_ORDERS, SCHEMES, SCORE_COLUMNS, load_scheme, rfm_segments, validate_scheme

__all__ = [
    "RFM_VALUES", "rfm_table", "rfm_scores", "score_thresholds", "rfm_grid",
    "SCORE_COLUMNS", "REPEAT_ORDERS", "SCHEMES", "load_scheme", "validate_scheme", "rfm_segments",
    "PLAYBOOK", "scheme_table", "scheme_grid", "segment_playbook", "segment_summary", "segment_headlines",
    "NEW", "GONE", "SegmentMigration", "segment_migration", "migration_headlines", "segments_between",
    "export_segments", "export_tables", "neutralise_formulas", "pseudonymise_ids", "pseudonymise_table",
    "project_key", "latest_emails",
]
