# Sourced by ./voicebus. Idempotent: a second run costs a few stat calls.
# Set VOICEBUS_NO_APT=1 to forbid apt-get; missing tools are then reported, not installed.

NODE_PIN="24.21.0"            # the Node 24 LTS build the project is tested on
NODE_MAJOR="${NODE_PIN%%.*}"
TOOLS_DIR="$ROOT/.tools"

log() { printf '[voicebus] %s\n' "$*" >&2; }
die() { printf '[voicebus] error: %s\n' "$*" >&2; exit 1; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  export PATH="$TOOLS_DIR/pnpm/node_modules/.bin:$TOOLS_DIR/node/node_modules/.bin:$PATH"
  local have=0
  command -v node >/dev/null 2>&1 && have="$(node_major node)"
  if [ "$have" -ge "$NODE_MAJOR" ]; then return; fi
  command -v npm >/dev/null 2>&1 || die "Node $NODE_MAJOR is needed and there is no npm to fetch it with; install Node $NODE_MAJOR LTS"
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) die "unsupported OS $(uname -s)";; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) die "unsupported CPU $(uname -m)";; esac
  log "system node is ${have:-absent}; installing Node $NODE_PIN into .tools/ (npm package node-$os-$arch)"
  mkdir -p "$TOOLS_DIR/node"
  npm install --silent --no-save --no-audit --no-fund --prefix "$TOOLS_DIR/node" "node-$os-$arch@$NODE_PIN" >/dev/null \
    || die "could not install node-$os-$arch@$NODE_PIN from the npm registry"
  hash -r
  [ "$(node_major node)" -ge "$NODE_MAJOR" ] || die "Node $NODE_PIN was installed but is not the node on PATH"
}

ensure_pnpm() {
  local want
  want="$(node -p 'require("./package.json").packageManager.split("@")[1]')"
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$want" ]; then return; fi
  log "installing pnpm $want into .tools/"
  # Corepack's signature check fails against some registries, so pnpm comes from npm itself.
  mkdir -p "$TOOLS_DIR/pnpm"
  npm install --silent --no-save --no-audit --no-fund --prefix "$TOOLS_DIR/pnpm" "pnpm@$want" >/dev/null \
    || die "could not install pnpm@$want from the npm registry"
  hash -r
}

ensure_system_tools() {
  local missing=() pkgs=()
  command -v nats-server >/dev/null 2>&1 || { missing+=(nats-server); pkgs+=(nats-server); }
  command -v sox >/dev/null 2>&1 || { missing+=(sox); pkgs+=(sox); }
  command -v espeak-ng >/dev/null 2>&1 || { missing+=(espeak-ng); pkgs+=(espeak-ng); }
  # The browser device's tests drive Debian's Chromium through playwright-core (which downloads nothing).
  command -v "${VOICEBUS_CHROMIUM:-chromium}" >/dev/null 2>&1 || { missing+=(chromium); pkgs+=(chromium); }
  [ "${#missing[@]}" -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && sudo="sudo -n"
  if [ -z "${VOICEBUS_NO_APT:-}" ] && command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    log "installing ${pkgs[*]} with apt-get"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null \
      || die "apt-get could not install ${pkgs[*]}; install them by hand"
  else
    die "missing system tools: ${missing[*]}. Install them (Debian/Ubuntu: apt-get install ${pkgs[*]}; macOS: brew install nats-server sox espeak-ng chromium) and run again"
  fi
}

ensure_deps() {
  # The stamp records which lockfile the installed node_modules came from.
  local stamp="node_modules/.voicebus-install-stamp" sum
  sum="$( { cat package.json pnpm-lock.yaml pnpm-workspace.yaml */*/package.json test/package.json demo/package.json bench/package.json 2>/dev/null || true; } | cksum)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return; fi
  log "installing workspace dependencies (pnpm install)"
  local frozen="--frozen-lockfile"
  [ -f pnpm-lock.yaml ] || frozen=""
  # onnxruntime-node's install script would download CUDA binaries; it is not allowed to run
  # (see onlyBuiltDependencies in pnpm-workspace.yaml) and the CPU binaries ship in the package.
  ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip pnpm install $frozen --reporter=append-only \
    || die "pnpm install failed"
  printf '%s' "$sum" >"$stamp"
}

voicebus_bootstrap() {
  ensure_node
  ensure_pnpm
  ensure_system_tools
  ensure_deps
}
