"""Shared kernel: the code every Unpuzzle service and the gateway build on.

Nothing here imports a service. Modules are small and single-purpose: settings, database,
unit of work, outbox and relay, messaging, errors, gRPC server bootstrap, telemetry.
"""
