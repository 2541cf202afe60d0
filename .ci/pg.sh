#!/usr/bin/env bash
# .ci/pg.sh CMD... : start a throwaway PostgreSQL server, run CMD with ILOG_TEST_DATABASE_URL
# pointing at it, and stop the server whatever happens. Installs Debian's postgresql if missing.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGROOT=$(mktemp -d -t ilog-pg.XXXXXX)
PGPORT=${ILOG_PG_PORT:-5439}
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then            # initdb and pg_ctl refuse to run as root
  chown postgres:postgres "$PGROOT"
  AS_PG=(runuser -u postgres --)
fi
stop() {
  "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
}
trap stop EXIT
"${AS_PG[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w \
  -o "-p $PGPORT -k $PGROOT -c listen_addresses='' -c fsync=off -c max_connections=200" start >/dev/null
export ILOG_TEST_DATABASE_URL="postgresql+psycopg://postgres@/postgres?host=$PGROOT&port=$PGPORT"
"$@"
