"""The CLI side of the admin screens: `users passwd`, the first-start message, and the
`sources check --json` the 来源 page runs."""

import json

from sqlalchemy import select

from tests.conftest import huiying, use_env, write_demo_source


def test_first_start_points_to_the_password_page_and_passwd_sets_one(embedded_env, monkeypatch):
    env = {k: v for k, v in embedded_env.items() if k != "HUIYING_ADMIN_PASSWORD"}
    first = huiying("db", "upgrade", env=env)
    assert "password '" in first.stderr and "change it after logging in, at /auth/password" in first.stderr

    short = huiying("users", "passwd", "admin", env={**env, "HUIYING_NEW_PASSWORD": "short"}, check=False)
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    assert "Traceback" not in short.stderr
    unknown = huiying("users", "passwd", "nobody", env={**env, "HUIYING_NEW_PASSWORD": "long-enough-1"},
                      check=False)
    assert unknown.returncode == 2 and "no user named 'nobody'" in unknown.stderr
    done = huiying("users", "passwd", "admin", env={**env, "HUIYING_NEW_PASSWORD": "chosen-password-1"})
    assert "password of 'admin' changed" in done.stdout

    from huiying import settings
    from huiying.db import new_session
    from huiying.models import AuditEvent, User
    from huiying.users import verify_password

    use_env(monkeypatch, env)
    session = new_session(settings.load().database_url)
    try:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert verify_password(admin, "chosen-password-1")
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        actions = [(e.action, e.actor_id) for e in events]
        assert actions == [("user.add", None), ("user.reset_password", None)]
    finally:
        session.close()


def test_sources_check_json(embedded_env, demo_site, tmp_path):
    write_demo_source(tmp_path / "src", demo_site.url)
    checked = huiying("sources", "check", "--json", str(tmp_path / "src" / "demo.yml"), env=embedded_env)
    result = json.loads(checked.stdout.strip().splitlines()[-1])
    assert result["items"] == 20 and len(result["first"]) == 5
    assert set(result["first"][0]) == {"external_id", "title"} and result["first"][0]["title"]
    limited = huiying("sources", "check", "--json", "--limit", "3", str(tmp_path / "src" / "demo.yml"),
                      env=embedded_env)
    assert json.loads(limited.stdout.strip().splitlines()[-1])["items"] == 3
