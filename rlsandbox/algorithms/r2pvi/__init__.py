"""R2PVI (tmp)."""
