"""The pure domain: identity, cache decisions, recording rules and the ports adapters serve."""
