#!/usr/bin/env bash
# Test environment only (`make services`, run by `make test`): make sure what the test suite
# talks to is reachable on this machine: PostgreSQL, Redis, Chromium. Starts a stopped service;
# installs a missing one from the distribution's packages, and lets local TCP connections into
# PostgreSQL without a password (trust in pg_hba.conf), which no production server should do.
# Production setup is docs/operations.md and deploy/.
set -euo pipefail

need_root() { [ "$(id -u)" = 0 ] || { echo "error: run as root (or install $1 yourself)" >&2; exit 1; }; }
apt_updated=0
apt_install() {
  need_root "$*"
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "error: nothing answers on 127.0.0.1:$1 after starting $2" >&2; exit 1
}

if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if ! grep -q "^host.*127.0.0.1/32.*trust" "/etc/postgresql/$version/main/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432 PostgreSQL
fi

if ! port_open 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_port 6379 Redis
fi

# tests/e2e/test_hosts.py: hosts as network namespaces (ip), forwarders to the services
# (socat), a hostname per host (unshare, util-linux). Only as root: the test skips otherwise.
if [ "$(id -u)" = 0 ]; then
  command -v ip >/dev/null || apt_install iproute2
  command -v socat >/dev/null || apt_install socat
  command -v unshare >/dev/null || apt_install util-linux
  # tests/core/test_deploy_files.py: `docker-compose config` validates deploy/compose.yaml.
  command -v docker-compose >/dev/null || apt_install docker-compose
fi

# npm fetches the overview's charts library (ECharts) in `make vendor`.
command -v npm >/dev/null || apt_install npm

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium fonts-noto-cjk
fi
echo "services ready: PostgreSQL :5432, Redis :6379, $(/usr/bin/chromium --version 2>/dev/null)"
