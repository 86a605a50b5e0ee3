#!/usr/bin/env bash
# ./voicebus compose-test: the docker compose deployment, run for real on this machine.
#   engine -> base images (local, no registry) -> service images -> compose up (devices
#   profile) -> checks (test/infra/compose-run/checks.ts) -> compose down -v
# Ctrl-C or a failure removes the project's containers, networks and volumes, and stops
# the dockerd this run started. Set COMPOSE_TEST_KEEP_LOGS=1 to keep the run directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=compose-test/engine.sh
source "$ROOT/scripts/compose-test/engine.sh"
# shellcheck source=compose-test/base-images.sh
source "$ROOT/scripts/compose-test/base-images.sh"
# shellcheck source=compose-test/service-images.sh
source "$ROOT/scripts/compose-test/service-images.sh"

PROJECT="${COMPOSE_TEST_PROJECT:-voicebus-ct}"
RUN_DIR="$(mktemp -d /tmp/voicebus-compose-test.XXXXXX)"
CREATED_DOT_ENV=""
STACK_UP=""
STEP="engine"
SUMMARY=""
T0=$SECONDS

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$STACK_UP" ]; then
    [ "$rc" -ne 0 ] && compose logs --no-color >"$RUN_DIR/compose.log" 2>&1 && ct_log "service logs: $RUN_DIR/compose.log"
    ct_log "removing the project's containers, networks and volumes (compose down -v)"
    compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
  fi
  [ -n "$CREATED_DOT_ENV" ] && rm -f "$ROOT/infra/.env"
  stop_engine
  if [ "$rc" -eq 0 ] && [ -z "${COMPOSE_TEST_KEEP_LOGS:-}" ]; then rm -rf "$RUN_DIR"; else ct_log "run directory kept: $RUN_DIR"; fi
  # The one summary line, last.
  ct_log "${SUMMARY:-compose-test: FAIL at step $STEP after $(fmt $((SECONDS - T0)))}"
  exit "$rc"
}
trap cleanup EXIT
trap 'SUMMARY="compose-test: INTERRUPTED at step $STEP after $(fmt $((SECONDS - T0))); cleaned up"; exit 130' INT TERM

# --- engine and compose ------------------------------------------------------------------
ensure_engine
if docker compose version >/dev/null 2>&1; then COMPOSE_BIN=(docker compose); else COMPOSE_BIN=(docker-compose); fi
ct_log "compose: ${COMPOSE_BIN[*]} ($("${COMPOSE_BIN[@]}" version --short 2>/dev/null || echo '?'))"

# --- images ------------------------------------------------------------------------------
STEP="base images"
T_BUILD=$SECONDS
build_base_images
T_BASE=$((SECONDS - T_BUILD))
STEP="service images"
build_service_images "$PROJECT"
T_BUILD=$((SECONDS - T_BUILD))

# --- libs/nats-launcher's container path, on this engine and the local NATS image -------
# Ryuk (testcontainers' reaper) is off: its image cannot be pulled; the test stops its own.
STEP="testcontainers"
T_TC=$SECONDS
TESTCONTAINERS_RYUK_DISABLED=true VOICEBUS_NATS_IMAGE="$NATS_IMAGE" \
  "$ROOT/node_modules/.bin/vitest" run --reporter=verbose libs/nats-launcher/src/nats-container.test.ts >"$RUN_DIR/testcontainers.log" 2>&1 \
  || { cat "$RUN_DIR/testcontainers.log" >&2; ct_die "libs/nats-launcher's testcontainers test failed against $NATS_IMAGE"; }
grep -q '1 passed' "$RUN_DIR/testcontainers.log" || { cat "$RUN_DIR/testcontainers.log" >&2; ct_die "libs/nats-launcher's testcontainers test did not run"; }
ct_log "testcontainers: libs/nats-launcher started $NATS_IMAGE through testcontainers (Ryuk off), connected, stopped it ($((SECONDS - T_TC)) s)"

# --- the stack ---------------------------------------------------------------------------
# Fresh credentials and free loopback ports per run; host port 4222 is often taken already.
read -r P_NATS P_MON P_UI P_GRPC P_HTTP P_WS P_WEB < <(node -e '
  const net = require("node:net"); const ports = [];
  (async () => { for (let i = 0; i < 7; i++) ports.push(await new Promise((r) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); })); console.log(ports.join(" ")); })();')
# A new operator for this run, as a user makes one (README: bus-auth init), outside the repo.
SECRETS="$RUN_DIR/secrets"
node "$ROOT/libs/bus-auth/src/main.ts" init --out "$SECRETS" --devices dev1,dev2,dev3 >/dev/null \
  || ct_die "bus-auth init failed"
ct_log "credentials: bus-auth init --out $SECRETS --devices dev1,dev2,dev3 (operator mode; no passwords)"
{
  echo "VOICEBUS_SECRETS=$SECRETS"
  echo "PUBLISH_ADDR=127.0.0.1"; echo "PUBLIC_HOST=127.0.0.1"
  echo "NATS_HOST_PORT=$P_NATS"; echo "NATS_MONITOR_HOST_PORT=$P_MON"; echo "JAEGER_UI_HOST_PORT=$P_UI"
  echo "OTLP_GRPC_HOST_PORT=$P_GRPC"; echo "OTLP_HTTP_HOST_PORT=$P_HTTP"
  echo "NATS_WS_HOST_PORT=$P_WS"; echo "WEB_HOST_PORT=$P_WEB"
  echo "COMPOSE_TEST_NATS_IMAGE=$NATS_IMAGE"; echo "COMPOSE_TEST_NODE_IMAGE=$NODE_IMAGE"
} >"$RUN_DIR/env"
# The session service reads infra/.env (env_file); an existing one is used as it is.
if [ ! -f "$ROOT/infra/.env" ]; then : >"$ROOT/infra/.env"; CREATED_DOT_ENV=1; fi

COMPOSE_ARGS=(-p "$PROJECT" -f "$ROOT/infra/docker-compose.yml" -f "$ROOT/infra/compose-test/docker-compose.override.yml" --env-file "$RUN_DIR/env" --profile devices)
compose() { "${COMPOSE_BIN[@]}" "${COMPOSE_ARGS[@]}" "$@"; }

ct_log "jaeger: its image cannot be pulled here; a stand-in OTLP receiver (infra/compose-test/otlp-stand-in.ts) listens on its OTLP ports 4317/4318"
ct_log "nats: $NATS_IMAGE (Debian's nats-server 2.9.10) instead of nats:2.12-alpine"
STEP="compose up"
T_RUN=$SECONDS
STACK_UP=1
compose up -d --no-build >"$RUN_DIR/up.log" 2>&1 || { cat "$RUN_DIR/up.log" >&2; ct_die "compose up failed"; }

STEP="checks"
CHECKS_RC=0
COMPOSE_TEST_COMPOSE="$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' "${COMPOSE_BIN[@]}" "${COMPOSE_ARGS[@]}")" \
COMPOSE_TEST_PROJECT="$PROJECT" \
NATS_URL="nats://127.0.0.1:$P_NATS" \
OBSERVER_CREDS="$SECRETS/services/observer.creds" \
WEB_URL="http://127.0.0.1:$P_WEB" \
COMPOSE_TEST_RUN_DIR="$RUN_DIR" \
OTLP_URL="http://127.0.0.1:$P_HTTP" \
COMPOSE_TEST_RESULTS="$RUN_DIR/results.json" \
  node "$ROOT/test/infra/compose-run/checks.ts" || CHECKS_RC=$?
T_RUN=$((SECONDS - T_RUN))

passed="$(node -e 'try { const r = require(process.argv[1]); console.log(`${r.filter((x) => x.ok).length}/${r.length}`); } catch { console.log("0/0"); }' "$RUN_DIR/results.json")"
ct_log "timings: builds $(fmt "$T_BUILD") (base images $(fmt "$T_BASE")), compose run and checks $(fmt "$T_RUN"), total $(fmt $((SECONDS - T0)))"
if [ "$CHECKS_RC" -eq 0 ]; then
  STACK_UP=""   # the last check took the stack down and found nothing left
  SUMMARY="compose-test: PASS, $passed checks, builds $(fmt "$T_BUILD"), run $(fmt "$T_RUN")"
else
  SUMMARY="compose-test: FAIL, $passed checks passed, builds $(fmt "$T_BUILD"), run $(fmt "$T_RUN")"
  exit 1
fi
