#!/usr/bin/env bash
# Corpus B over several seeds: each class's confirmed (and +possible) recall averaged,
# and the confirmed false positives on negatives summed, with the seeds that had them.
#
#   eval/multi_seed.sh 100 139 [200 239 ...]   # inclusive seed ranges, in pairs
#   OUT=dir eval/multi_seed.sh 100 139          # keep each seed's report in dir/seed.txt
#
# Uses the release detection_eval under $CARGO_TARGET_DIR (or target/), built first.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p tracker-eval --bin detection_eval
bin="$target/release/detection_eval"
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
seeds=()
while [ $# -ge 2 ]; do
    for s in $(seq "$1" "$2"); do seeds+=("$s"); done
    shift 2
done
[ ${#seeds[@]} -gt 0 ] || { echo "usage: $0 FROM TO [FROM TO ...]" >&2; exit 2; }
for s in "${seeds[@]}"; do
    "$bin" --only-b --heldout-seed "$s" > "$out/$s.txt"
done
for s in "${seeds[@]}"; do
    awk -v seed="$s" '
        /^-----/ { sep++; next }
        sep == 1 && / \| / {
            split($0, halves, "|"); name = halves[1]; sub(/ +[0-9]+ +$/, "", name)
            split(halves[2], v, " ")
            printf "C\t%s\t%s\t%s\n", name, v[1], v[2]
        }
        /confirmed FP rate/ {
            x = $0; sub(/^.*FP rate [0-9.]* \(/, "", x); sub(/\).*$/, "", x); printf "F\t%s\t%s\n", seed, x
        }' "$out/$s.txt"
done | awk -F'\t' -v n=${#seeds[@]} '
    $1 == "C" { if (!($2 in rec)) order[++k] = $2; rec[$2] += $3; pos[$2] += $4 }
    $1 == "F" { fp += $3; if ($3 > 0) where = where " " $2 "(" $3 ")" }
    END {
        printf "%-40s %8s %8s\n", "class (" n " seeds)", "recall", "+possib"
        for (i = 1; i <= k; i++) printf "%-40s %8.3f %8.3f\n", order[i], rec[order[i]] / n, pos[order[i]] / n
        printf "confirmed false positives: %d of %d negatives; seeds:%s\n", fp, 40 * n, where
    }'
echo "reports in $out"
