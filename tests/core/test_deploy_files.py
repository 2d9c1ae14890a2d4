"""deploy/compose.yaml runs what the rest of the tree says: real commands, one worker per
queue, one scheduler, known settings; and Docker Compose itself accepts it where it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import click
import yaml

from huiying.cli import cli
from huiying.queue import QUEUES
from huiying.settings import KNOWN_VARIABLES

DEPLOY = Path(__file__).parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
# Read by Compose's own interpolation (the database password both sides share), not by Huiying.
COMPOSE_VARIABLES = {"HUIYING_DB_PASSWORD"}


def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text("utf-8"))["services"]


def huiying_services() -> dict[str, dict]:
    return {name: service for name, service in services().items() if service.get("image") == "huiying:latest"}


def test_every_command_is_a_real_huiying_command():
    for name, service in huiying_services().items():
        program, *args = service["command"]
        assert program == "huiying", name
        command: click.Command = cli
        while isinstance(command, click.Group) and args and args[0] in command.commands:
            command = command.commands[args.pop(0)]
        assert command is not cli, f"{name}: {service['command']} names no subcommand"
        command.make_context(name, list(args))  # raises on an unknown option or a bad value


def test_one_worker_per_queue_and_exactly_one_scheduler():
    commands = [service["command"] for service in huiying_services().values()]
    queues = sorted(command[command.index("--queues") + 1] for command in commands if command[1] == "worker")
    assert queues == sorted(QUEUES)
    assert [command for command in commands if command[1] == "scheduler"] == [["huiying", "scheduler"]]
    assert all("deploy" not in service for service in services().values())  # no replicas of anything
    assert services()["mailcatcher"]["profiles"] == ["staging"]  # never in production by default
    # The follower is opt-in: with no source setting follow_seconds it would exit, said so.
    assert services()["follow"]["profiles"] == ["follow"]
    assert services()["follow"]["command"] == ["huiying", "crawl", "--follow"]


def test_the_settings_it_names_are_known_and_the_services_wait_for_the_schema():
    text = COMPOSE.read_text("utf-8")
    named = set(re.findall(r"\b(HUIYING_[A-Z_]+)\b", text))
    assert named - KNOWN_VARIABLES - COMPOSE_VARIABLES == set()
    for name, service in huiying_services().items():
        if name != "migrate":
            assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        environment = service["environment"]
        assert environment["HUIYING_DATABASE_URL"].endswith("@postgres:5432/huiying")
        assert environment["HUIYING_BROKER_URL"] == "redis://redis:6379/0"
    # The dashboard listens inside its container, published on the host's loopback only.
    web = services()["web"]
    assert web["environment"]["HUIYING_WEB_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container
    assert web["ports"] == ["127.0.0.1:8080:8080"]


def test_docker_compose_accepts_it(tmp_path):
    """`docker-compose config` checks the file against Compose's schema (no daemon needed);
    `make test` installs it (tests/services.sh, as root); without it the checks above stand alone."""
    program = shutil.which("docker-compose")
    if program is None:
        return
    copy = tmp_path / "deploy"
    copy.mkdir()
    shutil.copy(COMPOSE, copy / "compose.yaml")
    shutil.copy(DEPLOY / "huiying.env.example", copy / "huiying.env")
    env = {"PATH": "/usr/bin:/bin", "HUIYING_DB_PASSWORD": "compose-test-password"}
    result = subprocess.run([program, "-f", str(copy / "compose.yaml"), "config", "-q"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    missing = subprocess.run([program, "-f", str(copy / "compose.yaml"), "config", "-q"],
                             env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "set HUIYING_DB_PASSWORD" in missing.stderr
