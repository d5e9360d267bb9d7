"""`python -m services.analytics [serve|migrate]`."""

from pathlib import Path

from kernel.bootstrap import service_main
from services.analytics.bootstrap import bootstrap

if __name__ == "__main__":
    service_main(
        "analytics",
        migrations_dir=Path(__file__).parent / "migrations",
        build_runtime=lambda settings: bootstrap(settings).runtime,
    )
