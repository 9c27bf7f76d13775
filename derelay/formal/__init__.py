"""Formal checks with z3 (issue 3)."""
