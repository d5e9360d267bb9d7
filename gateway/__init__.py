"""The REST gateway: routes built from `google.api.http` rules, JSON <-> protobuf, envelope."""
