#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER, set
# by tests/windows.sh): runs a Windows program under Wine, with the ProcessPrng shim
# (tests/windows/processprng.c, built by windows.sh into $OB_PRNG_DLL) beside it and
# beside the office-bridge.exe the integration tests start, since Wine looks for a DLL
# next to the program that loads it.
set -euo pipefail
exe=$1
shift
for dir in "$(dirname "$exe")" "$(dirname "$exe")/.."; do
  [ -f "$dir/bcryptprimitives.dll" ] || cp "$OB_PRNG_DLL" "$dir/bcryptprimitives.dll"
done
exec "$OB_WINE" "$exe" "$@"
