"""Optional, user-facing integrations."""
