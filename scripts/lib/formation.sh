# A local pg_auto_failover formation (a monitor, a primary and its synchronous standby) from the
# local binaries, for scripts/run --ha. Needs scripts/lib/postgres.sh sourced first. Every setting is
# pg_auto_failover's and PostgreSQL's default. As root, every pg_autoctl runs as the postgres user.
# Each pg_autoctl runs in its own session (setsid): Ctrl+C in the terminal reaches the script, which
# stops them in order, rather than each of them at once.

formation_autoctl_bin() {
  command -v pg_autoctl 2>/dev/null || { [ -x /usr/bin/pg_autoctl ] && echo /usr/bin/pg_autoctl; } || {
    local major; major=$(basename "$(dirname "$(pg_bin_dir)")")
    echo "pg_autoctl not found: install pg_auto_failover (Debian: apt-get install postgresql-$major-auto-failover pg-auto-failover-cli)" >&2
    return 1
  }
}

# formation_write_wrapper DIR: DIR/autoctl runs pg_autoctl on this formation (as postgres when root),
# with PGDATA defaulting to the monitor, so that `DIR/autoctl show state` and
# `DIR/autoctl perform switchover` work as they are.
formation_write_wrapper() {
  local dir=$1 bin autoctl
  bin=$(pg_bin_dir) || return 1
  autoctl=$(formation_autoctl_bin) || return 1
  local as_owner=""
  [ "$(id -u)" = 0 ] && as_owner="runuser -u postgres --"
  cat >"$dir/autoctl" <<WRAPPER
#!/usr/bin/env bash
# pg_autoctl on the formation in $dir (written by scripts/run --ha).
cd /
exec $as_owner env PATH="$bin:/usr/local/bin:/usr/bin:/bin" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/share" \\
  XDG_RUNTIME_DIR="$dir/run" PGDATA="\${PGDATA:-$dir/monitor}" "$autoctl" "\$@"
WRAPPER
  chmod 755 "$dir/autoctl"
}

# formation_keeper DIR NAME ARGS...: starts one pg_autoctl in the background, in a session of its own, logging to DIR/NAME.log.
formation_keeper() {
  local dir=$1 name=$2; shift 2
  setsid "$dir/autoctl" "$@" >>"$dir/$name.log" 2>&1 </dev/null &
}

# formation_pid DIR PGDATA: the pid of the pg_autoctl that runs PGDATA, from its pid file (in
# XDG_RUNTIME_DIR, or in /tmp/pg_autoctl for a pg_autoctl started without it).
formation_pid() {
  local file
  for file in "$1/run/pg_autoctl$2/pg_autoctl.pid" "/tmp/pg_autoctl$2/pg_autoctl.pid"; do
    [ -f "$file" ] && { head -1 "$file"; return 0; }
  done
  return 1
}

# formation_state DIR: the monitor's view, one line per node: "name port reportedstate goalstate health".
formation_state() {
  local dir=$1
  pg_as_owner "$(pg_bin_dir)/psql" -h 127.0.0.1 -p "$(cat "$dir/ports/monitor")" -U autoctl_node -d pg_auto_failover -qtA -F ' ' -c \
    "SELECT nodename, nodeport, reportedstate, goalstate, health FROM pgautofailover.node ORDER BY nodeid" 2>/dev/null
}

# formation_start DIR: creates the formation in DIR the first time (ports kept in DIR/ports), runs it
# again from its data afterwards; returns once there is a healthy primary and a healthy secondary.
formation_start() {
  local dir=$1 port node
  mkdir -p "$dir/ports"
  # pg_autoctl keeps its pid files in XDG_RUNTIME_DIR only when that folder exists.
  mkdir -p -m 700 "$dir/run"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres "$dir" "$dir/run"
    chmod 755 "$dir"
    # The nodes' Unix sockets go to the packages' folder, which a container may not have yet.
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  fi
  for node in monitor node1 node2; do
    [ -s "$dir/ports/$node" ] || free_port >"$dir/ports/$node"
  done
  formation_write_wrapper "$dir" || return 1

  local monitor_port; monitor_port=$(cat "$dir/ports/monitor")
  if [ -f "$dir/monitor/PG_VERSION" ]; then
    formation_keeper "$dir" monitor run --pgdata "$dir/monitor"
  else
    formation_keeper "$dir" monitor create monitor --pgdata "$dir/monitor" --pgport "$monitor_port" \
      --hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl --run
  fi
  local i
  for i in $(seq 1 120); do
    pg_as_owner "$(pg_bin_dir)/psql" -h 127.0.0.1 -p "$monitor_port" -U autoctl_node -d pg_auto_failover -qtAc \
      "SELECT 1 FROM pgautofailover.formation" >/dev/null 2>&1 && break
    sleep 0.5
  done
  local monitor_uri="postgres://autoctl_node@127.0.0.1:$monitor_port/pg_auto_failover?sslmode=disable"
  for node in node1 node2; do
    if [ -f "$dir/$node/PG_VERSION" ] && [ -f "$dir/config/pg_autoctl$dir/$node/pg_autoctl.cfg" ]; then
      formation_keeper "$dir" "$node" run --pgdata "$dir/$node"
    else
      formation_keeper "$dir" "$node" create postgres --pgdata "$dir/$node" --pgport "$(cat "$dir/ports/$node")" \
        --name "${node/node/node_}" --hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl --monitor "$monitor_uri" --run
      # The first node becomes the primary before the second asks to be its standby.
      [ "$node" = node1 ] && sleep 3
    fi
  done
  for i in $(seq 1 240); do
    local state; state=$(formation_state "$dir")
    # The monitor remembers the last run's states: the nodes must also answer now.
    if echo "$state" | grep -qE '^[^ ]+ [0-9]+ primary primary 1$' && echo "$state" | grep -qE '^[^ ]+ [0-9]+ secondary secondary 1$' \
      && formation_psql "$dir" -c "SELECT 1" >/dev/null 2>&1 \
      && pg_as_owner "$(pg_bin_dir)/psql" -h 127.0.0.1 -p "$(cat "$dir/ports/node1")" -U postgres -d postgres -qtAc "SELECT 1" >/dev/null 2>&1 \
      && pg_as_owner "$(pg_bin_dir)/psql" -h 127.0.0.1 -p "$(cat "$dir/ports/node2")" -U postgres -d postgres -qtAc "SELECT 1" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  echo "The formation did not reach a healthy primary and secondary within 2 minutes:" >&2
  "$dir/autoctl" show state >&2 || true
  tail -5 "$dir"/*.log >&2
  return 1
}

# formation_psql DIR ARGS...: psql on the formation's writable node (libpq multi-host), database postgres.
formation_psql() {
  local dir=$1; shift
  pg_as_owner "$(pg_bin_dir)/psql" \
    "host=127.0.0.1,127.0.0.1 port=$(cat "$dir/ports/node1"),$(cat "$dir/ports/node2") user=postgres dbname=postgres target_session_attrs=read-write connect_timeout=5" \
    -qtA "$@"
}

# formation_connection_string DIR DATABASE: both nodes, asking for the one that takes writes (Npgsql multi-host).
formation_connection_string() {
  echo "Host=127.0.0.1:$(cat "$1/ports/node1"),127.0.0.1:$(cat "$1/ports/node2");Target Session Attributes=read-write;Database=$2;Username=postgres"
}

# formation_stop DIR: SIGTERM to each pg_autoctl (the nodes first, the monitor last; each stops its
# PostgreSQL), then kill -9 of whatever is left after 30 s.
formation_stop() {
  local dir=$1 data pid pids=()
  for data in "$dir/node1" "$dir/node2" "$dir/monitor"; do
    pid=$(formation_pid "$dir" "$data") || continue
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  local i
  for i in $(seq 1 60); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  # A node whose keeper was killed by hand may have left its server behind.
  for data in "$dir/node1" "$dir/node2" "$dir/monitor"; do
    [ -f "$data/postmaster.pid" ] || continue
    pid=$(head -1 "$data/postmaster.pid")
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    local group; group=$(ps -o pgid= -p "$pid" | tr -d ' ')
    [ -n "$group" ] && kill -9 -- "-$group" 2>/dev/null
  done
  return 0
}

# formation_help DIR: how to look at the formation, switch over and fail over by hand.
formation_help() {
  local dir=$1 node
  cat <<HELP
pg_auto_failover formation in $dir (monitor 127.0.0.1:$(cat "$dir/ports/monitor"), node_1 127.0.0.1:$(cat "$dir/ports/node1"), node_2 127.0.0.1:$(cat "$dir/ports/node2"); logs: $dir/*.log)
  State:               $dir/autoctl show state        (and: show events, show uri)
  Planned switchover:  $dir/autoctl perform switchover
  For the faults below, N is the primary's number in "show state" (node_1: node1, node_2: node2).
  Crash the primary's PostgreSQL (its keeper restarts it):
                       kill -9 \$(head -1 $dir/nodeN/postmaster.pid)
  Lose a node (its keeper and PostgreSQL; the standby takes over after pg_auto_failover's timeouts, about 50 s by default):
                       kill -9 -- -\$(ps -o pgid= -p \$(head -1 $dir/run/pg_autoctl$dir/nodeN/pg_autoctl.pid) | tr -d ' ')
  Bring it back (it rejoins as the standby):
                       setsid $dir/autoctl run --pgdata $dir/nodeN >>$dir/nodeN.log 2>&1 &
HELP
}
