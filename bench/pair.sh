#!/bin/sh
# fx-pair against jq on the same JSON Lines (Debian descriptions, ~26 MB, 55k records): rename text/label to
# input/target. Best of 5 wall times each, peak RSS, and the RSS of fx-pair on a ~1 GB input.
set -eu
cd "$(dirname "$0")/.."
FX=${FX:-.build/release/fx-pair}
DATA=bench/data/train.jsonl
[ -x "$FX" ] || { echo "build first: swift build -c release" >&2; exit 1; }

best() {  # best wall seconds of 5 runs, and the largest peak RSS in KB, of the command "$@"
    b=999999; r=0
    for i in 1 2 3 4 5; do
        /usr/bin/time -f "%e %M" -o /tmp/fx-bench-time "$@" > /dev/null
        read t m < /tmp/fx-bench-time
        b=$(echo "$t $b" | awk '{print ($1 < $2) ? $1 : $2}')
        r=$(echo "$m $r" | awk '{print ($1 > $2) ? $1 : $2}')
    done
    echo "$b $r"
}

bytes=$(wc -c < "$DATA")
records=$(wc -l < "$DATA")
# Same output, checked before timing: jq's compact JSON and fx-pair's agree on the fields.
"$FX" --input-field text --target-field label "$DATA" | head -1000 | jq -c '{input, target}' > /tmp/fx-bench-a
jq -c '{input: .text, target: .label}' "$DATA" | head -1000 > /tmp/fx-bench-b
cmp -s /tmp/fx-bench-a /tmp/fx-bench-b || { echo "fx-pair and jq disagree" >&2; exit 1; }

set -- $(best "$FX" --input-field text --target-field label "$DATA"); fx_t=$1; fx_m=$2
set -- $(best jq -c '{input: .text, target: .label}' "$DATA"); jq_t=$1; jq_m=$2

big=/tmp/fx-bench-big.jsonl
: > "$big"
for i in $(seq 40); do cat "$DATA" >> "$big"; done
/usr/bin/time -f "%e %M" -o /tmp/fx-bench-time "$FX" --input-field text --target-field label --holdout 0.1 "$big" > /dev/null
read big_t big_m < /tmp/fx-bench-time
big_bytes=$(wc -c < "$big")
rm -f "$big"

awk -v b="$bytes" -v n="$records" -v ft="$fx_t" -v fm="$fx_m" -v jt="$jq_t" -v jm="$jq_m" \
    -v bb="$big_bytes" -v bt="$big_t" -v bm="$big_m" 'BEGIN {
    printf "fx-pair vs jq: rename text/label -> input/target, %d records, %.1f MB (best of 5)\n", n, b / 1e6
    printf "  %-10s %8.2f s %8.1f MB/s  peak RSS %6.1f MB\n", "fx-pair", ft, b / 1e6 / ft, fm / 1024
    printf "  %-10s %8.2f s %8.1f MB/s  peak RSS %6.1f MB\n", "jq", jt, b / 1e6 / jt, jm / 1024
    printf "  speed ratio fx-pair/jq: %.1fx\n", jt / ft
    printf "  fx-pair --holdout 0.1 on %.2f GB: %.2f s (%.0f MB/s), peak RSS %.1f MB\n", bb / 1e9, bt, bb / 1e6 / bt, bm / 1024
}'
