"""echem (see module docs)."""
