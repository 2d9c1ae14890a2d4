"""Huiying (回应): the core shared by the crawler, the worker and the dashboard."""

__version__ = "0.1.0"
