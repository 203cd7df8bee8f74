"""``consent audit``: what a regulator's browser sees on a site running the middleware.

Crawls a running site in headless Chromium and visits each page before consent, after
*Reject all* and after *Accept all*, recording cookies, web storage and third-party
requests, filed by the project's own tables. The rules are in
`consent.audit.violations`, the reports in `consent.audit.report`.
"""

from consent.audit.crawler import AuditOptions, SetupError, audit_site
from consent.audit.model import AuditReport, PageAudit, Violation
from consent.audit.report import render_html, render_json, write_reports
from consent.audit.violations import RULES, judge

__all__ = [
    "RULES",
    "AuditOptions",
    "AuditReport",
    "PageAudit",
    "SetupError",
    "Violation",
    "audit_site",
    "judge",
    "render_html",
    "render_json",
    "write_reports",
]
