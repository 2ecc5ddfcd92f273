"""Domain-aware splitters and scorers."""

__all__ = []
