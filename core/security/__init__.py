"""Users, roles, permissions, record rules, passwords and API tokens."""
