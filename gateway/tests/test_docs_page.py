"""The /docs page renders the API in a real browser (headless Chromium), with no CDN."""

from __future__ import annotations

import asyncio
import shutil
import tempfile

import pytest
import uvicorn

from deploy.embedded_nats import free_port
from gateway.app import create_app
from tests.support import eventually

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
async def test_docs_page_lists_the_operations_in_headless_chromium(gateway_settings):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(gateway_settings),
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, timeout=10)
        with tempfile.TemporaryDirectory() as profile:
            browser = await asyncio.create_subprocess_exec(
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"http://127.0.0.1:{port}/docs",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            dom, _ = await asyncio.wait_for(browser.communicate(), timeout=60)
    finally:
        server.should_exit = True
        await serving
    html = dom.decode()
    assert "swagger-ui" in html
    assert "opblock" in html, "Swagger UI rendered no operations"
    assert "/api/v1/courses" in html
    assert "CourseService" in html
