"""Fixtures of the deployment tests: every variant rendered once per session."""

from __future__ import annotations

import pytest

from deploy.k8s.render import Object
from deploy.tests.manifests import render, variants


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Object]]:
    """Variant name -> its rendered objects (fresh copies for each test module would cost)."""
    workdir = tmp_path_factory.mktemp("k8s-variants")
    return {variant.name: render(variant, workdir) for variant in variants()}
