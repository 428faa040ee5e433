#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (run as root): Debian packages, npm dependencies,
# and the TypeScript build. `npm test`, `npm run demo` and `npm run bench` all start here.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages Shoal needs at run or test time (DESIGN §9).
APT_PACKAGES=(etcd-server iproute2 iputils-ping util-linux openssl)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts etcd as a service on install; Shoal's benchmark runs its own members instead.
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi

# The stock docker CLI, which the API's compatibility tests drive (a preinstalled one at
# /usr/local/bin/docker is used as is). Debian's docker.io brings the engine too: keep it stopped —
# Shoal never needs a Docker engine.
if ! command -v docker >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: no docker CLI found; run as root or install one" >&2
    exit 1
  fi
  echo "setup: installing docker.io (for its CLI only)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  if command -v systemctl >/dev/null; then
    systemctl disable --now docker.socket docker containerd >/dev/null 2>&1 || true
  fi
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Build (incremental).
npm run --silent build >&2
