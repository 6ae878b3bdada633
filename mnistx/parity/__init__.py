"""Cross-backend parity: worker (child), checks (pure numpy), report, runner (parent)."""
