"""Entry point for a WSGI server: `waitress-serve dashboard.wsgi:app` or `gunicorn dashboard.wsgi:app`."""

from dashboard import create_app
from dashboard.warmup import warm

app = create_app()
warm(app)
