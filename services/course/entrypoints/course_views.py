"""Hot reads served from the two-level cache, and the per-caller parts of a course page.

A course page is cached as everyone sees it; the instructor's name, the category's name and
the caller's enrolment are attached per request (the first two from their own cached views),
so that every cached entry is evicted by exactly the writes that change it.
"""

from __future__ import annotations

import logging
from uuid import UUID

import orjson
from google.protobuf import wrappers_pb2

from kernel.pagination import PageTokenCodec
from kernel.security import Caller
from services.course import mappers
from services.course.adapters.cache import CATEGORY_TREE_KEY, CourseCache
from services.course.domain.errors import CourseNotFound
from services.course.service_layer.access import UnitOfWorkFactory, parse_uuid
from services.course.service_layer.commands import GetCourse
from services.course.service_layer.handlers import categories, courses
from unpuzzle.course.v1 import course_pb2
from unpuzzle.course.v1 import course_service_pb2 as api

_log = logging.getLogger(__name__)
WARM_COURSES = 50


class CourseViews:
    """Cached reads of the catalogue."""

    def __init__(
        self, uow: UnitOfWorkFactory, cache: CourseCache, page_tokens: PageTokenCodec
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._page_tokens = page_tokens

    async def course(self, id_or_slug: str, caller: Caller) -> course_pb2.Course:
        """A course page by id or slug: cached when public, from the database for the owner,
        admins and enrolled students of courses outside the catalogue."""
        key = id_or_slug.strip()
        course_id = parse_uuid(key) or await self._course_id_for_slug(key.lower())
        if course_id is None:
            raise CourseNotFound(key)
        message = await self._public_course(course_id)
        if message is None:
            if not caller.is_authenticated:
                raise CourseNotFound(key)
            details = await courses.get_course(
                GetCourse(str(course_id)), self._uow(read_only=True), caller
            )
            message = mappers.course_message(details)
        return await self.complete(message, caller)

    async def _course_id_for_slug(self, slug: str) -> UUID | None:
        async def load() -> wrappers_pb2.StringValue | None:
            found = await courses.course_id_for_slug(slug, self._uow(read_only=True))
            return None if found is None else wrappers_pb2.StringValue(value=str(found))

        cached = await self._cache.slugs.get(slug, load)
        return None if cached is None else UUID(cached.value)

    async def _public_course(self, course_id: UUID) -> course_pb2.Course | None:
        async def load() -> course_pb2.Course | None:
            details = await courses.public_course(course_id, self._uow(read_only=True))
            return None if details is None else mappers.course_message(details)

        return await self._cache.courses.get(str(course_id), load)

    async def complete(self, message: course_pb2.Course, caller: Caller) -> course_pb2.Course:
        """Attach the instructor, the category and (for a signed-in caller) the viewer state."""
        message.instructor.CopyFrom(await self.instructor(UUID(message.instructor.id)))
        if message.HasField("category"):
            category = (await self._category_index()).get(message.category.id)
            if category is None:
                message.ClearField("category")
            else:
                message.category.CopyFrom(category)
        if caller.is_authenticated:
            state = await courses.viewer_state(UUID(message.id), self._uow(read_only=True), caller)
            message.viewer.SetInParent()
            message.viewer.CopyFrom(mappers.viewer_message(state))
        return message

    async def instructor(self, user_id: UUID) -> course_pb2.InstructorSummary:
        """The replicated instructor profile."""

        async def load() -> course_pb2.InstructorSummary:
            profile = await courses.instructor_profile(user_id, self._uow(read_only=True))
            return course_pb2.InstructorSummary(
                id=str(profile.id),
                display_name=profile.display_name,
                avatar_url=profile.avatar_url,
            )

        found = await self._cache.instructors.get(str(user_id), load)
        return found or course_pb2.InstructorSummary(id=str(user_id))

    async def categories(self) -> api.ListCategoriesResponse:
        """The category tree."""

        async def load() -> api.ListCategoriesResponse:
            tree = await categories.category_tree(self._uow(read_only=True))
            return api.ListCategoriesResponse(
                categories=[mappers.category_message(n.category, n.children) for n in tree.roots()]
            )

        return await self._cache.categories.get(CATEGORY_TREE_KEY, load) or (
            api.ListCategoriesResponse()
        )

    async def _category_index(self) -> dict[str, course_pb2.CategorySummary]:
        index: dict[str, course_pb2.CategorySummary] = {}
        pending = list((await self.categories()).categories)
        while pending:
            node = pending.pop()
            index[node.id] = course_pb2.CategorySummary(id=node.id, name=node.name, slug=node.slug)
            pending.extend(node.children)
        return index

    async def course_page(self, request: api.ListCoursesRequest) -> api.ListCoursesResponse:
        """A catalogue page (the token is checked before the cache is asked)."""
        filters = mappers.course_filters(request)
        page = mappers.page_request(
            self._page_tokens, request.page_size, request.page_token, filters
        )
        key = orjson.dumps(
            {"filters": filters, "size": page.size, "token": request.page_token},
            option=orjson.OPT_SORT_KEYS,
        ).decode()

        async def load() -> api.ListCoursesResponse:
            found = await courses.list_courses(
                mappers.list_courses_command(request, page), self._uow(read_only=True)
            )
            return api.ListCoursesResponse(
                courses=[mappers.course_summary(card) for card in found.items],
                pagination=mappers.pagination(self._page_tokens, found, page, filters),
            )

        return await self._cache.pages.get(key, load) or api.ListCoursesResponse()

    async def warm_up(self) -> None:
        """Background job at start-up: load the category tree, the first catalogue page and
        the most popular course pages into both cache levels."""
        await self._cache.backend.listening.wait()
        try:
            await self.categories()
            await self.course_page(api.ListCoursesRequest())
            for course_id in await courses.popular_course_ids(
                WARM_COURSES, self._uow(read_only=True)
            ):
                await self._public_course(course_id)
        except Exception:
            _log.exception("cache warm-up failed; pages will load on first use")
