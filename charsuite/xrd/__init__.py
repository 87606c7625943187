"""xrd (see module docs)."""
