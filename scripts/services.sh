#!/usr/bin/env bash
# Makes sure the local RabbitMQ (with its management API) and PostgreSQL answer on 127.0.0.1,
# starting them when they are installed here but stopped. Exits non-zero, saying which, when one cannot be reached.
set -u
PG_HOST=127.0.0.1 PG_PORT=5432 AMQP_PORT=5672 MGMT_PORT=15672

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() { for _ in $(seq 1 "${3:-60}"); do port_open "$1" "$2" && return 0; sleep 1; done; return 1; }

if ! port_open $PG_HOST $PG_PORT; then
  echo "[services] PostgreSQL not answering on $PG_HOST:$PG_PORT; trying to start it"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
  fi
  wait_port $PG_HOST $PG_PORT 30 || { echo "[services] ERROR: PostgreSQL is not reachable on $PG_HOST:$PG_PORT" >&2; exit 1; }
fi

if ! port_open 127.0.0.1 $AMQP_PORT; then
  echo "[services] RabbitMQ not answering on 127.0.0.1:$AMQP_PORT; trying to start it"
  command -v rabbitmq-server >/dev/null 2>&1 && rabbitmq-server -detached || true
  wait_port 127.0.0.1 $AMQP_PORT 90 || { echo "[services] ERROR: RabbitMQ is not reachable on 127.0.0.1:$AMQP_PORT" >&2; exit 1; }
fi

if ! port_open 127.0.0.1 $MGMT_PORT; then
  echo "[services] enabling the RabbitMQ management plugin (tests create a vhost per test through it)"
  command -v rabbitmq-plugins >/dev/null 2>&1 && rabbitmq-plugins enable rabbitmq_management >/dev/null || true
  wait_port 127.0.0.1 $MGMT_PORT 60 || { echo "[services] ERROR: RabbitMQ management API is not reachable on 127.0.0.1:$MGMT_PORT" >&2; exit 1; }
fi
echo "[services] PostgreSQL, RabbitMQ and its management API answer"
