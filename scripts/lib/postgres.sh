# Private PostgreSQL clusters from the local server binaries. Sourced by scripts/run and bench/run.
# PostgreSQL refuses to run as root, so as root every server command runs as the postgres user.

pg_bin_dir() {
  local dir
  for dir in "${PG_BIN:-}" /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: apt-get install postgresql) or set PG_BIN" >&2
  return 1
}

pg_as_owner() {
  # From /, so that the postgres user is not left in a folder it cannot enter.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo 55432
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# pg_private_start DIR PORT [extra postgres -c options...]: initialises DIR if empty, starts the server.
pg_private_start() {
  local dir=$1 port=$2; shift 2
  local bin; bin=$(pg_bin_dir) || return 1
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres "$dir"
    chmod 700 "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  local opts="-p $port -c listen_addresses=127.0.0.1 -k $dir"
  local extra
  for extra in "$@"; do opts="$opts -c $extra"; done
  pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null \
    || { tail -20 "$dir/server.log" >&2; return 1; }
}

pg_private_stop() {
  local dir=$1 bin
  bin=$(pg_bin_dir) || return 0
  [ -f "$dir/data/postmaster.pid" ] && pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
  return 0
}

pg_connection_string() {
  echo "Host=127.0.0.1;Port=$1;Database=${2:-postgres};Username=postgres"
}
