"""The Unpuzzle gRPC services: user, course and analytics. None imports another."""
