"""Analytics service: learning progress, dashboards and platform metrics, fed by events."""
