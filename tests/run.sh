#!/usr/bin/env bash
# Runs every test of office-bridge: formatting, lints, the Rust unit and integration
# tests (real TLS, real WebSocket), and the cross-process suites as they are added.
# Installs what it needs where it can. Under CI=true nothing is skipped: a missing tool
# is installed or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
ci() { [ "${CI:-}" = "true" ]; }

step "cargo fmt --check"
cargo fmt --all -- --check
# The fuzz crate is a workspace of its own (fuzz/Cargo.toml).
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Debian packages the tests use"
# xmllint for the XML manifests and Chromium for the browser tests (test tools never
# download browsers here); rsyslog with its TLS driver, the real collector the audit
# forwarding tests send to; systemd-analyze, which checks the unit `service install` writes.
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
dpkg -s rsyslog-gnutls >/dev/null 2>&1 || missing+=(rsyslog-gnutls)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  elif ci; then
    echo "missing ${missing[*]} and cannot install them (not root or no apt-get)" >&2
    exit 1
  else
    echo "missing ${missing[*]}: those checks will say they are skipped (install: apt-get install ${missing[*]})"
  fi
fi

step "Rust tests"
if ! command -v cargo-nextest >/dev/null 2>&1; then
  if ci; then
    cargo install --locked cargo-nextest
  else
    echo "cargo-nextest not found; using cargo test"
  fi
fi
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doctests.
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

step "load smoke run (office-bridge-load: 5 panes, 3 agents, 5 s against the real binary; the full run: README, Performance)"
# Fails on any lost, repeated or failed request and on any write missing from the audit chain.
cargo build -p office-bridge -p office-bridge-load --locked
"${CARGO_TARGET_DIR:-target}/debug/office-bridge-load" --panes 5 --agents 3 --duration 5 --baseline 10

step "fuzzing (cargo fuzz: every target for a few seconds; longer runs: docs/security.md)"
# Needs cargo-fuzz; installed when missing, here and in CI alike (never skipped).
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
bash fuzz/run.sh "${FUZZ_SECONDS:-8}"

step "add-in tests (node --test: operations on office-addin-mock, client, stand-in, manifests, Chromium end to end)"
npm ci --no-audit --no-fund --loglevel=error
cargo build -p office-bridge --locked
OFFICE_BRIDGE_BIN=target/debug/office-bridge npm test

step "MCP clients nobody here wrote (Python MCP SDK over HTTPS and the stdio relay; MCP conformance suite; MCP Inspector CLI)"
# The Python SDK needs Python >= 3.11 (with venv); the conformance suite brings its own
# Node 22 from npm (tests/mcp_clients/package.json).
have_python() {
  for p in python3.13 python3.12 python3.11 python3; do
    command -v "$p" >/dev/null 2>&1 &&
      "$p" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && return 0
  done
  return 1
}
if ! have_python && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
fi
if have_python; then
  OFFICE_BRIDGE_BIN=target/debug/office-bridge bash tests/mcp_clients/run.sh
elif ci; then
  echo "no Python >= 3.11 with venv and cannot install one: the MCP client tests cannot run" >&2
  exit 1
else
  echo "!!! SKIPPED: MCP client tests need Python >= 3.11 with venv (apt-get install python3 python3-venv)" >&2
fi

step "Windows (cross-built for x86_64-pc-windows-gnu; the Rust tests and an end-to-end run under Wine)"
# Installs Debian's Rust with std sources, MinGW-w64 and Wine when missing; under CI=true a
# tool it cannot install fails the run. Prints how long each part took.
bash tests/windows.sh
