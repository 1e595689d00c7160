# Helpers shared by scripts/stack and scripts/cluster: logging, readiness waits, apt installs and
# daemons started in the background with a pid file. The caller sets HOST, RUN (pid files), LOG
# (log folder) and SCRIPT_TAG (the name in messages) before sourcing this file.

say() { printf '[%s] %s\n' "${SCRIPT_TAG:-stack}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- small helpers -----------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pid_alive() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() { # description seconds command…
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { say "$what did not answer within ${secs}s"; return 1; }
    sleep 0.3
  done
}

apt_updated=0
apt_install() { # package…
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
  [ "$(id -u)" = 0 ] || die "installing $* needs root (apt-get)"
  if [ $apt_updated = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOG/apt.log" 2>&1 || true
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$LOG/apt.log" 2>&1 \
    || die "apt-get install $* failed (see $LOG/apt.log)"
}

# Refuse to report a port as ours when a foreign process holds it.
ensure_port_free() { # service port
  if port_open "$2"; then
    die "$1: port $2 is taken by a process this script did not start; stop it or set the port variable"
  fi
}

# Starts a daemon in the background, detached from this shell, and records its pid.
spawn() { # name command…
  local name=$1; shift
  nohup setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

stop_pidfile() { # name [signal]
  local pidfile=$RUN/$1.pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  return 1
}

# The Kafka broker's jars (scripts/kafka/pom.xml) resolved from Maven Central into <home>/libs,
# again only when the pom changed. Needs ROOT.
kafka_jars() { # home
  local KAFKA_HOME=$1
  local stamp; stamp=$(sha1sum "$ROOT/scripts/kafka/pom.xml" | cut -c1-12)
  if [ "$(cat "$KAFKA_HOME/.pom" 2>/dev/null)" != "$stamp" ]; then
    command -v mvn >/dev/null || apt_install maven
    say "resolving the Kafka broker from Maven Central"
    rm -rf "$KAFKA_HOME/libs"; mkdir -p "$KAFKA_HOME/libs"
    mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$KAFKA_HOME/libs" -DincludeScope=runtime >"$LOG/kafka-mvn.log" 2>&1 \
      || { tail -20 "$LOG/kafka-mvn.log" >&2; die "maven could not resolve the Kafka broker"; }
    echo "$stamp" >"$KAFKA_HOME/.pom"
  fi
}
