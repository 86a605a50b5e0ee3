# Sourced by scripts/compose-test.sh: make sure a Docker engine answers, and stop the one we
# started. Debian's packages: docker.io (engine 20.10), docker-compose (compose v1.29),
# debootstrap (base images, because no container registry can be reached here).

ENGINE_STARTED_PID=""
ENGINE_LOG="${ENGINE_LOG:-/tmp/voicebus-compose-test-dockerd.log}"

ct_log() { printf '[compose-test] %s\n' "$*" >&2; }
ct_die() { printf '[compose-test] error: %s\n' "$*" >&2; exit 1; }

# Installs what is missing with apt-get (root, or passwordless sudo), unless VOICEBUS_NO_APT.
ensure_packages() {
  local pkgs=()
  command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || pkgs+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || pkgs+=(debootstrap)
  [ "${#pkgs[@]}" -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && sudo="sudo -n"
  if [ -n "${VOICEBUS_NO_APT:-}" ] || ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" -ne 0 ] && [ -z "$sudo" ]; }; then
    ct_die "missing: ${pkgs[*]}. Install them (Debian/Ubuntu: apt-get install -y ${pkgs[*]}) and run again${VOICEBUS_NO_APT:+ (VOICEBUS_NO_APT is set, so nothing was installed)}"
  fi
  ct_log "installing ${pkgs[*]} with apt-get"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null \
    || ct_die "apt-get could not install ${pkgs[*]}; install them by hand"
  hash -r
}

# An engine that already answers is used as it is; an installed, stopped dockerd is started
# as root in the background and stopped again by stop_engine.
ensure_engine() {
  if docker info >/dev/null 2>&1; then ct_log "using the running Docker engine"; return 0; fi
  ensure_packages
  command -v dockerd >/dev/null 2>&1 || ct_die "no dockerd: install the docker.io package (apt-get install docker.io)"
  [ "$(id -u)" -eq 0 ] || ct_die "no Docker engine answers and only root can start dockerd here; start it (systemctl start docker) and run again"
  ct_log "starting dockerd (log: $ENGINE_LOG)"
  # Its own session: a Ctrl-C in the terminal must reach this script (which then removes
  # the stack), not the engine, or there would be no engine left to remove it with.
  setsid dockerd >"$ENGINE_LOG" 2>&1 </dev/null &
  ENGINE_STARTED_PID=$!
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { ct_log "dockerd $(docker version -f '{{.Server.Version}}') is up (pid $ENGINE_STARTED_PID)"; return 0; }
    kill -0 "$ENGINE_STARTED_PID" 2>/dev/null || { tail -n 20 "$ENGINE_LOG" >&2; ENGINE_STARTED_PID=""; ct_die "dockerd exited at start (see $ENGINE_LOG)"; }
    sleep 0.5
  done
  stop_engine
  ct_die "dockerd did not answer within 30 s (see $ENGINE_LOG)"
}

stop_engine() {
  [ -n "$ENGINE_STARTED_PID" ] || return 0
  ct_log "stopping the dockerd this run started (pid $ENGINE_STARTED_PID)"
  kill "$ENGINE_STARTED_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 40); do kill -0 "$ENGINE_STARTED_PID" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$ENGINE_STARTED_PID" 2>/dev/null || true
  ENGINE_STARTED_PID=""
}
