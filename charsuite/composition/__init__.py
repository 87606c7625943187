"""composition (see module docs)."""
