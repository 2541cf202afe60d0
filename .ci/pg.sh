#!/usr/bin/env bash
# .ci/pg.sh CMD... : start a throwaway PostgreSQL server, run CMD with ILOG_TEST_DATABASE_URL
# pointing at it, and stop the server whatever happens. Installs Debian's postgresql (and
# openssl) if missing.
#
# The server listens on a Unix socket (trust: what the suite uses) and, with TLS only, on
# localhost TCP, where the role postgres logs in with a password (scram-sha-256). Its
# certificate, for the host name localhost, is signed by a self-signed CA made here with
# openssl; a second, unrelated CA is made for "wrong CA" tests. CMD sees:
#   ILOG_TEST_DATABASE_URL  postgresql+psycopg://postgres@/postgres?host=<socket dir>&port=<port>
#   ILOG_TEST_ADMIN_URL     the same direct server, for CREATE/DROP DATABASE (.ci/pgbouncer.sh
#                           then points ILOG_TEST_DATABASE_URL elsewhere and leaves this one)
#   ILOG_TEST_PG_HOST, ILOG_TEST_PG_PORT  the socket directory and port (for .ci/pgbouncer.sh)
#   ILOG_TEST_TLS_URL       postgresql://postgres:<password>@localhost:<port>/postgres?sslmode=verify-full&sslrootcert=<CA>
#   ILOG_TEST_TLS_CA        the CA that signed the server's certificate (PEM)
#   ILOG_TEST_TLS_WRONG_CA  another self-signed CA, which did not
#   ILOG_TEST_PG_CTL        the server's pg_ctl, as the user it runs as, with its data directory and
#                           log: a test may run "$ILOG_TEST_PG_CTL -m fast -w stop" and "... -w start"
#                           (the server's settings are in its postgresql.conf; tests/test_spool_faults.py)
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGROOT=$(mktemp -d -t ilog-pg.XXXXXX)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PGPORT=${ILOG_PG_PORT:-$(free_port)}    # TCP too: a fixed port would clash with a neighbour's run
PASSWORD='s3cr@t'          # postgres's password over TCP; in a URL: s3cr%40t
PASSWORD_IN_URL='s3cr%40t'
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

# -- certificates: a CA, the server's certificate for localhost, and an unrelated CA ------------
TLS="$PGROOT/tls"
mkdir -m 700 "$TLS"
new_ca() {  # new_ca NAME "SUBJECT": NAME.pem and NAME.key
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "$2" -keyout "$TLS/$1.key" -out "$TLS/$1.pem" 2>/dev/null
}
new_ca ca "/CN=ilog test CA"
new_ca wrong-ca "/CN=ilog wrong CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
printf '%s\n' "subjectAltName = DNS:localhost" "basicConstraints = critical, CA:FALSE" \
  "keyUsage = critical, digitalSignature, keyEncipherment" "extendedKeyUsage = serverAuth" >"$TLS/server.ext"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
  -days 2 -extfile "$TLS/server.ext" -out "$TLS/server.crt" 2>/dev/null
rm -f "$TLS"/*.csr "$TLS"/*.ext "$TLS"/*.srl "$TLS"/ca.key "$TLS"/wrong-ca.key   # no CA signs anything more
chmod 600 "$TLS/server.key"                                    # PostgreSQL insists on 0600 and its owner
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$TLS"

# -- the server --------------------------------------------------------------------------------
"${AS_PG[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
cat >"$PGROOT/data/pg_hba.conf" <<'EOF'
# TYPE   DATABASE USER ADDRESS      METHOD
local    all      all               trust
hostssl  all      all  127.0.0.1/32 scram-sha-256
hostssl  all      all  ::1/128      scram-sha-256
EOF
cat >>"$PGROOT/data/postgresql.conf" <<EOF
port = $PGPORT
unix_socket_directories = '$PGROOT'
listen_addresses = 'localhost'
fsync = off
max_connections = 200
ssl = on
ssl_cert_file = '$TLS/server.crt'
ssl_key_file = '$TLS/server.key'
EOF
PG_CTL="${AS_PG[*]} $PGBIN/pg_ctl -D $PGROOT/data -l $PGROOT/log"   # paths from mktemp: no spaces
$PG_CTL -w start >/dev/null
"$PGBIN/psql" -X -q -h "$PGROOT" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -c "ALTER ROLE postgres PASSWORD '$PASSWORD'"

export ILOG_TEST_DATABASE_URL="postgresql+psycopg://postgres@/postgres?host=$PGROOT&port=$PGPORT"
export ILOG_TEST_ADMIN_URL="$ILOG_TEST_DATABASE_URL"
export ILOG_TEST_PG_HOST="$PGROOT" ILOG_TEST_PG_PORT="$PGPORT"
export ILOG_TEST_TLS_CA="$TLS/ca.pem" ILOG_TEST_TLS_WRONG_CA="$TLS/wrong-ca.pem"
export ILOG_TEST_PG_CTL="$PG_CTL"
export ILOG_TEST_TLS_URL="postgresql://postgres:$PASSWORD_IN_URL@localhost:$PGPORT/postgres?sslmode=verify-full&sslrootcert=$ILOG_TEST_TLS_CA"
"$@"
