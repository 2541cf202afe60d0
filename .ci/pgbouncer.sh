#!/usr/bin/env bash
# .ci/pgbouncer.sh CMD... : run inside .ci/pg.sh. Start a throwaway PgBouncer in transaction
# pooling mode in front of pg.sh's server, run CMD with ILOG_TEST_DATABASE_URL pointing at
# PgBouncer, and stop PgBouncer whatever happens. Installs Debian's pgbouncer if missing.
#
#   bash .ci/pg.sh bash .ci/pgbouncer.sh python -m pytest tests/test_core.py
#
# PgBouncer listens on its own Unix socket and on 127.0.0.1, trusts the user postgres (the
# server behind it trusts its socket), and reaches any database through a wildcard entry,
# so the suite's per-test databases work through it. Those are still created and dropped
# on the server directly (ILOG_TEST_ADMIN_URL, set by pg.sh): DROP DATABASE ... WITH (FORCE)
# ends PgBouncer's server connections to it, and PgBouncer closes them as they go (an idle
# server connection that the server ends is dropped at once; server_check_query guards the
# rest) and forgets the dropped database's pool after autodb_idle_timeout. CMD also sees
#   ILOG_TEST_DATABASE_URL           postgresql+psycopg://postgres@/postgres?host=<pgbouncer dir>&port=<port>
#   ILOG_TEST_PGBOUNCER_ADMIN_URL    PgBouncer's admin console (database "pgbouncer": SHOW POOLS...)
set -euo pipefail
: "${ILOG_TEST_PG_HOST:?run me inside .ci/pg.sh}" "${ILOG_TEST_PG_PORT:?}" "${ILOG_TEST_ADMIN_URL:?}"
if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # Debian's package would start its own service where policy-rc.d allows: policy-rc.d says no
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
BOUNCER_PORT=${ILOG_PGBOUNCER_PORT:-$(free_port)}
BOUNCER_DIR=$(mktemp -d -t ilog-pgbouncer.XXXXXX)
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then            # PgBouncer refuses to run as root
  chown postgres:postgres "$BOUNCER_DIR"
  AS_PG=(runuser -u postgres --)
fi
stop() {
  if [ -s "$BOUNCER_DIR/pgbouncer.pid" ]; then
    pid=$(cat "$BOUNCER_DIR/pgbouncer.pid")
    kill -INT "$pid" 2>/dev/null || true      # SIGINT: close every connection and exit now
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$BOUNCER_DIR"
}
trap stop EXIT

echo '"postgres" ""' >"$BOUNCER_DIR/userlist.txt"
cat >"$BOUNCER_DIR/pgbouncer.ini" <<EOF
[databases]
* = host=$ILOG_TEST_PG_HOST port=$ILOG_TEST_PG_PORT

[pgbouncer]
pool_mode = transaction
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir = $BOUNCER_DIR
auth_type = trust
auth_file = $BOUNCER_DIR/userlist.txt
admin_users = postgres
stats_users = postgres
default_pool_size = 5
max_client_conn = 200
; a client waits for a server connection at most this long (the default is 120 s); a
; client of a database that is gone waits that long too: its pool outlives it
query_wait_timeout = 30
; before reusing a server connection idle this long, check it is alive
server_check_delay = 1
server_check_query = select 1
; forget the pools of (dropped) per-test databases soon
autodb_idle_timeout = 30
server_idle_timeout = 30
logfile = $BOUNCER_DIR/pgbouncer.log
pidfile = $BOUNCER_DIR/pgbouncer.pid
EOF
chmod 644 "$BOUNCER_DIR"/*
"${AS_PG[@]}" "$PGBOUNCER" -q -d "$BOUNCER_DIR/pgbouncer.ini"
for _ in $(seq 100); do                  # -d returns before it listens
  [ -S "$BOUNCER_DIR/.s.PGSQL.$BOUNCER_PORT" ] && break
  sleep 0.1
done
[ -S "$BOUNCER_DIR/.s.PGSQL.$BOUNCER_PORT" ] || { cat "$BOUNCER_DIR/pgbouncer.log" >&2; exit 1; }

export ILOG_TEST_DATABASE_URL="postgresql+psycopg://postgres@/postgres?host=$BOUNCER_DIR&port=$BOUNCER_PORT"
export ILOG_TEST_PGBOUNCER_ADMIN_URL="postgresql://postgres@/pgbouncer?host=$BOUNCER_DIR&port=$BOUNCER_PORT"
"$@"
