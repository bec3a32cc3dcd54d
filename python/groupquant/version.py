"""The single source of groupquant's version (the wheel rule reads it too)."""

__version__ = "0.1.0"
