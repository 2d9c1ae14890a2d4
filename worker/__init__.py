"""Celery app and thin tasks; the logic lives in the core (`huiying.cases`)."""
