#!/usr/bin/env bash
# Builds the fuzz targets and runs each one for a while.
#
#   bash fuzz/run.sh              # every target, 10 s each (what tests/run.sh does)
#   bash fuzz/run.sh 600          # every target, 10 minutes each
#   bash fuzz/run.sh 3600 scan_xlsx detect_parse
#
# Environment:
#   FUZZ_SANITIZER  none (default) or address. The code under test is safe Rust, so the
#                   short runs skip AddressSanitizer's cost; long runs may turn it on.
#   FUZZ_PROFILE    dev (default: quick to build, slower per input) or release (slow to
#                   build, several times more inputs per second: use it for long runs).
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1).
#
# New inputs go to fuzz/corpus/<target>/ (kept between runs, not committed); the seeds in
# fuzz/seeds/<target>/ are read, never written. A crash, a panic, an input slower than
# FUZZ_TIMEOUT seconds (default 30) or over 2 GiB of memory stops the run with the
# input saved under fuzz/artifacts/<target>/ and the command that replays it; it then
# becomes a regression test (docs/security.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-10}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(addin_decode mcp_tool_args detect_parse scan_pptx scan_docx scan_xlsx scan_csv)
fi

# cargo-fuzz passes -Z flags to rustc (sanitizer coverage); the toolchain here is stable.
export RUSTC_BOOTSTRAP=1
flags=(--fuzz-dir fuzz --sanitizer "${FUZZ_SANITIZER:-none}")
case "${FUZZ_PROFILE:-dev}" in
  dev) flags+=(--dev) ;;
  release) ;;
  *) echo "FUZZ_PROFILE must be dev or release" >&2; exit 2 ;;
esac

started=$(date +%s)
cargo fuzz build "${flags[@]}"
built=$(date +%s)
echo "fuzz targets built in $((built - started)) s"
triple=$(rustc -vV | sed -n 's/^host: //p')
profile_dir=release
[ "${FUZZ_PROFILE:-dev}" = dev ] && profile_dir=debug
bin_dir="fuzz/target/$triple/$profile_dir"

jobs=()
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
  # libFuzzer then runs that many processes and writes their output to fuzz-N.log.
  jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
fi
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  t0=$(date +%s)
  log="$log_dir/$target.log"
  mkdir -p "fuzz/artifacts/$target"
  # The binary cargo fuzz built, run as `cargo fuzz run` would (without rebuilding).
  if ! "$bin_dir/$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
    -artifact_prefix="fuzz/artifacts/$target/" -max_total_time="$seconds" \
    -timeout="${FUZZ_TIMEOUT:-30}" -rss_limit_mb=2048 -print_final_stats=1 "${jobs[@]}" \
    >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    echo "fuzz target $target FAILED: the input is under fuzz/artifacts/$target/;" \
      "replay it with: cargo fuzz run ${flags[*]} $target fuzz/artifacts/$target/<file>" >&2
    exit 1
  fi
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  peak=$(grep -E '^stat::peak_rss_mb' "$log" | awk '{print $2}' | tail -1)
  echo "fuzz target $target: ${runs:-?} inputs in $(( $(date +%s) - t0 )) s, no crash (peak ${peak:-?} MB)"
done
echo "fuzzing done in $(( $(date +%s) - started )) s"
