"""Several hosts on one machine: network namespaces joined to this one by veth links.

Each host is a namespace with a hostname of its own (a UTS namespace per process it runs) and
one veth link to the root namespace, its only way out. PostgreSQL and Redis listen on loopback
here, so each host gets socat forwarders of its own in the root namespace, listening on its
link's root-side address (10.X.N.1) and connecting to 127.0.0.1: the host reaches the shared
database and broker at its gateway, over its link. Cutting a host (`cut`) takes its link down
and ends its forwarders, which ends its connections on the servers' side too, as a server
does when a host stops answering (TCP keepalive): its transactions roll back, its locks free.

Other services shared by all hosts (the test's boards) listen on a "hub" address on a dummy
interface of the root namespace (a bridge without ports: this kernel has no dummy
interfaces), reached by every host through its own link.

Used by tests/e2e/test_hosts.py and research/hosts_throughput.py. Needs root and `ip`,
`socat` and `unshare`; everything it makes is named after a random token and removed by
`close()` (namespaces, links, processes by their process-group id).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PG = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)


def missing_tools() -> str | None:
    """Why this machine cannot run several hosts, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "socat", "unshare"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _in_use_octets() -> set[int]:
    """Second octets of the 10.0.0.0/8 addresses and routes this machine has already."""
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                         text=True, timeout=30).stdout
    used = set()
    ten = ipaddress.ip_network("10.0.0.0/8")
    for word in out.split():
        try:
            network = ipaddress.ip_network(word, strict=False)
        except ValueError:
            continue
        if network.version == 4 and network.prefixlen >= 8 and network.subnet_of(ten):
            used.add(int(str(network.network_address).split(".")[1]))
    return used


def _kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)  # its own session: the process and its children


@dataclass
class Host:
    network: Network
    name: str
    number: int
    namespace: str
    link: str  # the root side of the veth pair
    gateway: str  # the root side's address: where the host reaches the shared services
    address: str
    forwarders: list[subprocess.Popen] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)
    is_cut: bool = False

    def url(self, service: str) -> str:
        """The address of a shared service (`pg` or `redis`) as this host reaches it."""
        return f"{self.gateway}:{self.network.ports[service]}"

    def start(self, args: list[str], *, env: dict[str, str], log) -> subprocess.Popen:
        """Run `args` on this host: in its namespace, under its own hostname, in a session of
        its own (stopped by process group)."""
        script = 'hostname "$0" && exec "$@"'
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "--", "sh", "-c", script,
             self.name, *args],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def huiying(self, *args: str, env: dict[str, str], log) -> subprocess.Popen:
        return self.start([sys.executable, "-m", "huiying", *args], env=env, log=log)

    def cut(self) -> None:
        """The host drops off the network: its link goes down, the servers drop its connections."""
        _ip("link", "set", self.link, "down")
        for forwarder in self.forwarders:
            _kill_group(forwarder)
            forwarder.wait(10)
        self.is_cut = True

    def signal_stop(self) -> None:
        """TERM what runs on the host (a cut host: KILL, it cannot say goodbye to the broker)."""
        for process in self.processes:
            if process.poll() is None:
                _kill_group(process, signal.SIGKILL if self.is_cut else signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """Stop what runs on the host: `signal_stop`, then KILL what is left after `timeout`."""
        self.signal_stop()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            _kill_group(process)  # the pool's children too, whatever the main process did
            process.wait(10)


class Network:
    """`add_host(name)` → Host; `close()` removes every namespace, link and process."""

    def __init__(self) -> None:
        self.token = "hy" + secrets.token_hex(2)  # interface names stay under 15 characters
        used = _in_use_octets()
        choices = [n for n in range(100, 250) if n not in used]
        self.octet = secrets.choice(choices)
        self.hosts: list[Host] = []
        self.hub_link = f"{self.token}hub"
        self.hub = f"10.{self.octet}.0.1"
        self.ports = {"pg": 0, "redis": 0}
        self._hub_up = False

    def __enter__(self) -> Network:
        try:
            _ip("link", "add", self.hub_link, "type", "bridge")  # no ports: only an address
            self._hub_up = True
            _ip("addr", "add", f"{self.hub}/32", "dev", self.hub_link)
            _ip("link", "set", self.hub_link, "up")
            self.ports = {"pg": _free_port("127.0.0.1"), "redis": _free_port("127.0.0.1")}
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add_host(self, name: str) -> Host:
        number = len(self.hosts) + 1
        namespace, link, peer = f"{self.token}-{name}", f"{self.token}h{number}", f"{self.token}n{number}"
        gateway, address = f"10.{self.octet}.{number}.1", f"10.{self.octet}.{number}.2"
        _ip("netns", "add", namespace)
        host = Host(self, name, number, namespace, link, gateway, address)
        self.hosts.append(host)
        _ip("link", "add", link, "type", "veth", "peer", "name", peer, "netns", namespace)
        _ip("addr", "add", f"{gateway}/24", "dev", link)
        _ip("link", "set", link, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", peer)
        _ip("-n", namespace, "link", "set", peer, "up")
        _ip("-n", namespace, "route", "add", "default", "via", gateway)
        for service, (target_host, target_port) in (("pg", PG), ("redis", REDIS)):
            host.forwarders.append(subprocess.Popen(
                ["socat", f"TCP-LISTEN:{self.ports[service]},bind={gateway},reuseaddr,fork",
                 f"TCP:{target_host}:{target_port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        for service in ("pg", "redis"):
            _wait_listening(gateway, self.ports[service])
        return host

    def close(self) -> None:
        for host in self.hosts:  # all at once, then wait for each
            host.signal_stop()
        for host in self.hosts:
            try:
                host.stop(timeout=10)
            finally:
                for forwarder in host.forwarders:
                    _kill_group(forwarder)
                    forwarder.wait(10)
                # Deleting the namespace deletes its end of the link, and with it the pair.
                subprocess.run(["ip", "netns", "delete", host.namespace], capture_output=True, timeout=30)
                subprocess.run(["ip", "link", "delete", host.link], capture_output=True, timeout=30)
        self.hosts = []
        if self._hub_up:
            subprocess.run(["ip", "link", "delete", self.hub_link], capture_output=True, timeout=30)
            self._hub_up = False


def _wait_listening(host: str, port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def hosts_env(base: dict[str, str], host: Host, *, database: str, redis_db: int, data_dir: Path,
              **settings: str) -> dict[str, str]:
    """The HUIYING_* settings of a process on `host`: the shared database and broker over its link."""
    env = dict(base)
    env.update(HUIYING_DATABASE_URL=f"postgresql+psycopg://postgres@{host.url('pg')}/{database}",
               HUIYING_BROKER_URL=f"redis://{host.url('redis')}/{redis_db}",
               HUIYING_DATA_DIR=str(data_dir), **settings)
    return env
