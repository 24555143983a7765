#!/usr/bin/env bash
# The README's first command: a whole XMPP-Grid on this machine, shown live (~25 s).
#   bash scripts/demo.sh            run the demo and stop everything it started
#   bash scripts/demo.sh --stay     keep the grid up afterwards for your own nodes (Ctrl-C ends)
#   bash scripts/demo.sh --server ejabberd   the same demo on ejabberd instead of Prosody
#   bash scripts/demo.sh --cluster  two controllers on ejabberd + PostgreSQL, one killed mid-replay
#   bash scripts/demo.sh --help     all options
set -euo pipefail
cd "$(dirname "$0")/.."
# --help answers at once when the demo is built; everything else installs/builds first.
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && [ -f dist/src/devgrid/demo.js ]; then
  exec node dist/src/devgrid/demo.js --help
fi
bash scripts/setup.sh
exec node dist/src/devgrid/demo.js "$@"
