#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for the LMA cluster's journal (specs, lab, a developer's try-out).
#
#   scripts/postgres.sh start DIR   installs PostgreSQL 15 with apt-get when it is missing (root), runs
#                                   initdb in DIR/pgdata, starts the server listening on 127.0.0.1 only
#                                   (and on a unix socket in DIR/run, closed to everyone but its owner)
#                                   on a free port, creates the user and database "pmip6", and prints the
#                                   connection string as its last line (also kept in DIR/connection-string).
#                                   Started already: prints the same string again.
#   scripts/postgres.sh stop DIR    stops that server (fast shutdown) and removes everything start made in
#                                   DIR (DIR itself too when it is then empty). Nothing there: does nothing.
#
# Both are idempotent and exit non-zero with a one-line reason on failure. Loopback only: the server
# never listens on another address, and password logins are accepted from 127.0.0.1 only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

die() { echo "postgres.sh: $*" >&2; exit 1; }
usage() { die "usage: scripts/postgres.sh start|stop DIR"; }

[ $# -eq 2 ] || usage
action="$1"
dir="$2"
[ -n "$dir" ] || usage
case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac

version=15
bin="/usr/lib/postgresql/$version/bin"
data="$dir/pgdata"
run="$dir/run"
log="$dir/postgres.log"
csfile="$dir/connection-string"
database=pmip6
user=pmip6

# Runs a PostgreSQL program as the owner of the data directory (the server refuses to run as root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() { [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

install_server() {
  [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] && return 0
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL $version is not installed and this is not root: apt-get install postgresql-$version"
  echo "postgres.sh: installing postgresql-$version with apt-get" >&2
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "postgresql-$version" >/dev/null || die "apt-get install postgresql-$version failed"
  [ -x "$bin/initdb" ] || die "postgresql-$version installed but $bin/initdb is missing"
}

# A TCP port nothing listens on (the kernel's choice, then checked once more with ss).
free_port() {
  local port
  for _ in 1 2 3 4 5; do
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
      || echo $((20000 + RANDOM % 40000)))"
    if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then echo "$port"; return 0; fi
  done
  die "no free TCP port found on 127.0.0.1"
}

start() {
  if running; then
    [ -s "$csfile" ] || die "a server runs in $data but $csfile is missing: stop it first (scripts/postgres.sh stop $dir)"
    cat "$csfile"
    return 0
  fi
  install_server
  if [ "$(id -u)" -eq 0 ]; then id postgres >/dev/null 2>&1 || die "user postgres does not exist (the postgresql-common package creates it)"; fi
  mkdir -p "$dir"
  # The postgres user must be able to reach DIR (a test's temporary folder is root's).
  chmod o+x "$dir" 2>/dev/null || true
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data" "$run"
    mkdir -p "$data" "$run"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data" "$run"
    chmod 700 "$data" "$run"
    local password
    password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)"
    [ -n "$password" ] || die "could not make a password"
    # Superuser "postgres": unix socket only (DIR/run is 0700, so only its owner and root reach it).
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
      --no-instructions >"$dir/initdb.log" 2>&1 || die "initdb failed: see $dir/initdb.log"
    echo "$password" >"$dir/password"
    chmod 600 "$dir/password"
  fi
  local port
  port="$(free_port)"
  rm -f "$log"
  touch "$log"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$log"
  as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $run -c fsync=on -c max_connections=200" start >/dev/null \
    || die "the server did not start: see $log"
  local password
  password="$(cat "$dir/password")"
  local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$run" -p "$port" -U postgres -d postgres)
  if ! as_owner "${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$user'" | grep -q 1; then
    as_owner "${psql[@]}" -c "CREATE ROLE $user LOGIN PASSWORD '$password'" || die "CREATE ROLE $user failed"
  fi
  if ! as_owner "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    as_owner "${psql[@]}" -c "CREATE DATABASE $database OWNER $user" || die "CREATE DATABASE $database failed"
  fi
  echo "Host=127.0.0.1;Port=$port;Database=$database;Username=$user;Password=$password" >"$csfile"
  chmod 600 "$csfile"
  cat "$csfile"
}

stop() {
  if running; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || die "pg_ctl stop failed: see $log"
  fi
  rm -rf "$data" "$run" "$log" "$csfile" "$dir/password" "$dir/initdb.log"
  rmdir "$dir" 2>/dev/null || true
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
