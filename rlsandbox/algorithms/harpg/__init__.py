"""N-PG-IGT, HARPG, N-HARPG (placeholder docstring, filled in below)."""
