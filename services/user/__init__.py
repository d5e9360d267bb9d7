"""User service: accounts, sessions, tokens, RBAC and the security audit trail."""
