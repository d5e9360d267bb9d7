"""The one hand-written API route: the instructor's CSV export, where HTTP itself is the point.

`GET /api/v1/instructor/courses/{courseId}/analytics:export` calls AnalyticsService.
ExportCourseAnalytics and answers its `content` as a `text/csv` download, not enveloped. It goes
through the same identification, rate limit and error mapping as the generated routes.
"""

from __future__ import annotations

import re
from typing import Any

EXPORT_PATH = re.compile(r"^/api/v1/instructor/courses/(?P<course_id>[^/:]+)/analytics:export$")
EXPORT_GRPC_PATH = "/unpuzzle.analytics.v1.AnalyticsService/ExportCourseAnalytics"
EXPORT_TEMPLATE = "/api/v1/instructor/courses/{courseId}/analytics:export"


def export_operation() -> dict[str, Any]:
    """OpenAPI operation of the export route (added to the generated document)."""
    return {
        "operationId": "ExportCourseAnalyticsCsv",
        "tags": ["AnalyticsService"],
        "summary": "Per-student progress of a course as a CSV download (owner or admin).",
        "description": "Not enveloped: the body is the CSV document itself.",
        "parameters": [
            {
                "name": "courseId",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            }
        ],
        "responses": {
            "200": {
                "description": "The CSV document",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            **{
                status: {"$ref": f"#/components/responses/Error{status}"}
                for status in ("400", "401", "403", "404", "429", "500", "503", "504")
            },
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "x-grpc-method": EXPORT_GRPC_PATH,
    }
