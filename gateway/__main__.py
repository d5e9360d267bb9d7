"""`python -m gateway`: serve the REST gateway (see docs/adr/0002-gateway-http-server.md)."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from gateway.config import load_edge_settings
from kernel.logs import configure_logging
from kernel.settings import load_settings
from kernel.telemetry import configure_tracing


def main() -> None:
    """Run the gateway until SIGTERM/SIGINT; in-flight requests finish within the grace period."""
    settings = load_settings()
    edge = load_edge_settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    configure_tracing("unpuzzle-gateway", settings.otel_endpoint)
    uvicorn.run(
        create_app(settings, edge=edge),
        host=settings.gateway_host,
        port=settings.gateway_port,
        http="httptools",
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        timeout_keep_alive=30,
        proxy_headers=True,
        forwarded_allow_ips=edge.forwarded_allow_ips,
    )


if __name__ == "__main__":
    main()
