"""Sanctuary Watch: alerts on US sanctuary-jurisdiction policy."""

__version__ = "0.1.0"
