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

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

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
