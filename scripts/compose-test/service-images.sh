# Sourced by scripts/compose-test.sh: the service images, from infra/Dockerfile on the local
# base images, with `docker build --network host` (pnpm install reaches the npm registry,
# apt-get Debian's mirror). Each is tagged with the names compose gives a service's built
# image (v1: <project>_<service>, v2: <project>-<service>), so `up --no-build` runs them.

# compose service -> "package entry apt-packages"; dev1..dev3 share the capture image.
SERVICE_IMAGES=(
  "gemini-sim|@voicebus/gemini-live-sim|libs/gemini-live-sim/src/main.ts|espeak-ng sox"
  "vad|@voicebus/vad|services/vad/src/main.ts|"
  "session|@voicebus/session|services/session/src/main.ts|"
  "playback|@voicebus/playback|services/playback/src/main.ts|"
  "web|@voicebus/web|services/web/src/main.ts|"
  "dev1 dev2 dev3|@voicebus/capture|services/capture/src/main.ts|"
)

build_service_images() {
  local project="$1" entry names pkg main apt first
  for entry in "${SERVICE_IMAGES[@]}"; do
    IFS='|' read -r names pkg main apt <<<"$entry"
    first="${names%% *}"
    ct_log "step service image $pkg: docker build -f infra/Dockerfile (base $NODE_IMAGE)"
    quiet_build --network host -f "$ROOT/infra/Dockerfile" \
      --build-arg BUILD_IMAGE="$NODE_IMAGE" --build-arg RUNTIME_IMAGE="$NODE_IMAGE" \
      --build-arg PACKAGE="$pkg" --build-arg ENTRY="$main" --build-arg APT_PACKAGES="$apt" \
      -t "voicebus-local/${first}:compose-test" "$ROOT" \
      || ct_die "step service image $pkg: docker build failed (pnpm install needs the npm registry, apt-get Debian's mirror; see the log above)"
    local n
    for n in $names; do
      docker tag "voicebus-local/${first}:compose-test" "${project}_${n}"
      docker tag "voicebus-local/${first}:compose-test" "${project}-${n}"
    done
  done
}
