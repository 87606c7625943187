"""sims (see module docs)."""
