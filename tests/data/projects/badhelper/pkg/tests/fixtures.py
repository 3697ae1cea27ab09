"""Shared fixtures."""
def broken(:
    pass
