"""The category tree: admins manage it, it never loops, and busy categories stay."""

from __future__ import annotations

from uuid import uuid4

import pytest

from kernel.errors import PermissionDenied, ValidationFailed
from services.course.domain.errors import (
    CategoryNotEmpty,
    CategoryNotFound,
    SlugTaken,
    VersionConflict,
)
from services.course.domain.model import CategoryChanges
from services.course.service_layer.commands import CreateCategory, DeleteCategory, UpdateCategory
from services.course.service_layer.handlers import categories
from services.course.tests.fakes import FakeCourseUnitOfWork
from services.course.tests.unit.builders import ADMIN, draft, instructor


async def _create(uow, name, parent=None, order=0, slug=""):
    return await categories.create_category(
        CreateCategory(name=name, slug=slug, parent_id=parent, order=order), uow, ADMIN
    )


async def test_admins_build_a_tree_ordered_by_order_then_name():
    uow = FakeCourseUnitOfWork()
    dev = await _create(uow, "Development")
    await _create(uow, "Web", dev.id, order=2)
    await _create(uow, "Mobile", dev.id, order=1)
    await _create(uow, "Data", dev.id, order=1)
    design = await _create(uow, "Design")
    tree = await categories.category_tree(uow)
    assert [n.category.name for n in tree.roots()] == ["Design", "Development"]
    assert [n.category.name for n in tree.roots()[1].children] == ["Data", "Mobile", "Web"]
    assert design.slug == "design"
    assert (await _create(uow, "Design!")).slug == "design-2"
    with pytest.raises(SlugTaken):
        await _create(uow, "Another", slug="design")
    with pytest.raises(PermissionDenied):
        await categories.create_category(CreateCategory("X", "", None, 0), uow, instructor())
    with pytest.raises(CategoryNotFound):
        await _create(uow, "Orphan", uuid4())


async def test_a_category_cannot_move_below_itself():
    uow = FakeCourseUnitOfWork()
    root = await _create(uow, "Root")
    child = await _create(uow, "Child", root.id)
    grandchild = await _create(uow, "Grandchild", child.id)
    for parent in (root.id, grandchild.id):
        with pytest.raises(ValidationFailed):
            await categories.update_category(
                UpdateCategory(root.id, CategoryChanges(parent_id=parent)), uow, ADMIN
            )
    moved = await categories.update_category(
        UpdateCategory(grandchild.id, CategoryChanges(parent_id=None, name="Top"), 1), uow, ADMIN
    )
    assert (moved.parent_id, moved.name, moved.version) == (None, "Top", 2)
    with pytest.raises(VersionConflict):
        await categories.update_category(
            UpdateCategory(grandchild.id, CategoryChanges(order=3), 1), uow, ADMIN
        )


async def test_only_empty_categories_are_deleted():
    uow = FakeCourseUnitOfWork()
    root = await _create(uow, "Root")
    child = await _create(uow, "Child", root.id)
    with pytest.raises(CategoryNotEmpty):
        await categories.delete_category(DeleteCategory(root.id), uow, ADMIN)
    await draft(uow, instructor(), category_id=child.id)
    with pytest.raises(CategoryNotEmpty):
        await categories.delete_category(DeleteCategory(child.id), uow, ADMIN)
    empty = await _create(uow, "Empty", root.id)
    await categories.delete_category(DeleteCategory(empty.id), uow, ADMIN)
    tree = await categories.category_tree(uow)
    assert [n.category.name for n in tree.roots()[0].children] == ["Child"]
