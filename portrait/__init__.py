"""portrait."""
