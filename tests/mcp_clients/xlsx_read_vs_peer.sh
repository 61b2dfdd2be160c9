#!/usr/bin/env bash
# xlsx_read beside excel-mcp-server (PyPI), side by side in one run: see
# xlsx_read_vs_peer.py. Installs the pinned peer and the Python MCP SDK into
# target/peer-venv; measures the release binary unless OFFICE_BRIDGE_BIN says otherwise.
#
# Usage: bash tests/mcp_clients/xlsx_read_vs_peer.sh   (ROUNDS=5 for more rounds)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

bin="${OFFICE_BRIDGE_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release -p office-bridge
  bin="$root/target/release/office-bridge"
fi
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
export OFFICE_BRIDGE_BIN="$bin"

PY_PACKAGES=(excel-mcp-server==2.2.2 mcp==2.3.0 openpyxl==3.1.5)
venv="$root/target/peer-venv"
stamp="$venv/.installed"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PY_PACKAGES[*]}" ]; then
  echo "--- creating $venv (${PY_PACKAGES[*]})"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "${PY_PACKAGES[*]}" >"$stamp"
fi
PATH="$venv/bin:$PATH" "$venv/bin/python" "$here/xlsx_read_vs_peer.py"
