"""celerylint: a static analyzer for Celery deployments."""

__version__ = "0.1.0"
