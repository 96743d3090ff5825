"""Algorithms: one subpackage per method family, each citing its paper card (DESIGN.md)."""
