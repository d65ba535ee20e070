"""CSV exports: a campaign's contacts, its attempt history, and the audit log."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, stream_with_context

from portal.api.core import actor, endpoint
from portal.services import exports
from portal.services.exports import csv_lines


def csv_response(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    """Stream a CSV download; cells that a spreadsheet would execute are neutralised."""
    response = Response(
        stream_with_context(csv_lines(header, rows)), mimetype="text/csv"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@endpoint(
    "/ecm/campaign/<int:campaign_id>/contacts.csv",
    ["GET"],
    "A campaign's contacts as CSV (streamed; formulas neutralised)",
    "export",
    produces="text/csv",
)
def export_contacts(campaign_id: int) -> Response:
    campaign, rows = exports.campaign_contacts(actor(), campaign_id)
    name = f"campaign-{campaign.id}-contacts.csv"
    return csv_response(name, exports.CONTACT_HEADER, rows)


@endpoint(
    "/ecm/campaign/<int:campaign_id>/results.csv",
    ["GET"],
    "Every dial of a campaign's contacts with its result, as CSV",
    "export",
    produces="text/csv",
)
def export_results(campaign_id: int) -> Response:
    campaign, rows = exports.campaign_results(actor(), campaign_id)
    name = f"campaign-{campaign.id}-results.csv"
    return csv_response(name, exports.RESULT_HEADER, rows)


@endpoint(
    "/ecm/audit.csv",
    ["GET"],
    "The audit log as CSV (Administrator)",
    "export",
    produces="text/csv",
)
def export_audit() -> Response:
    return csv_response(
        "audit-log.csv", exports.AUDIT_HEADER, exports.audit_log(actor())
    )
