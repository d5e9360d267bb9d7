"""Use cases of the analytics service: small functions of (command, unit of work, caller).

`progress` records what students watch, `reports` serves the read models, `replicas` applies the
events of the course and user services.
"""

from __future__ import annotations

from collections.abc import Callable

from services.analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

UnitOfWorkFactory = Callable[..., AnalyticsUnitOfWork]
