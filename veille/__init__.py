"""veille."""
