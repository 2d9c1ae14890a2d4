"""Entry point for a WSGI server: `waitress-serve dashboard.wsgi:app` or `gunicorn dashboard.wsgi:app`."""

from dashboard import create_app

app = create_app()
