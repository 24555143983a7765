#!/usr/bin/env bash
# Installs what a fresh Debian machine with Node 20 lacks: Prosody (+ prosody-modules for
# mod_auth_ccert), ejabberd (the integration suite runs on both servers), openssl (tests
# compare our certificates with its), chromium (the web console's browser test drives Debian's
# chromium with puppeteer-core; no browser is ever downloaded), PostgreSQL (the PostgreSQL
# store's tests start their own server in a temporary folder), and the npm packages.
# Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in prosody prosody-modules ejabberd openssl chromium postgresql; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} (apt)" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # The Debian package would start a system Prosody; the grid runs its own on free ports.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The same for ejabberd, which listens on all interfaces: the dev grid runs its own `erl`
  # on loopback and never needs the system instance, so stop the one the package started.
  if [[ " ${missing[*]} " == *" ejabberd "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet ejabberd 2>/dev/null; then
    echo "setup: stopping and disabling the system ejabberd (the grid starts its own)" >&2
    $SUDO systemctl disable --now ejabberd >/dev/null 2>&1 || true
  fi
  # Likewise the cluster PostgreSQL the package creates: tests run initdb + postgres of their own.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet postgresql 2>/dev/null; then
    echo "setup: stopping and disabling the system PostgreSQL (the tests start their own)" >&2
    $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
  fi
fi

node -e 'const [maj]=process.versions.node.split(".").map(Number); if (maj < 20) { console.error(`setup: Node ${process.versions.node} is too old: Node 20 or newer is needed`); process.exit(1); }'

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  # puppeteer-core never downloads a browser; the variable keeps any puppeteer tooling from trying.
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: building" >&2
npm run --silent build
