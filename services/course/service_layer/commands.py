"""Inputs of the course service's use cases, free of protobuf."""

from __future__ import annotations

from dataclasses import dataclass

from services.course.domain.model import CourseDraft


@dataclass(frozen=True)
class CreateCourse:
    """Create a draft course for the calling instructor."""

    draft: CourseDraft


@dataclass(frozen=True)
class GetCourse:
    """Read one course by UUID or slug."""

    id_or_slug: str
