#!/bin/sh
# fx-mask --mode token against a straightforward Python reference (bench/mask_reference.py: json + random, same
# rules, one record per masked word) on the same JSON Lines, one run each: long descriptions (train.jsonl) and
# short one-line synopses (the synopses dataset five times, where per-record overhead dominates); fx-mask on
# all cores (2 here) and on one. Then fx-mask's peak RSS on ~1 GB.
set -eu
cd "$(dirname "$0")/.."
FX=${FX:-.build/release/fx-mask}
[ -x "$FX" ] || { echo "build first: swift build -c release" >&2; exit 1; }
[ -f bench/data/sets/synopses/train.jsonl ] || python3 bench/debian-data.py datasets
SHORT=/tmp/fx-bench-short.jsonl
for i in 1 2 3 4 5; do cat bench/data/sets/synopses/train.jsonl; done > "$SHORT"
trap 'rm -f "$SHORT" /tmp/fx-bench-big.jsonl' EXIT

time_of() {  # wall seconds and peak RSS (KB) of "$@", stdout discarded
    /usr/bin/time -f "%e %M" -o /tmp/fx-bench-time "$@" > /dev/null
    cat /tmp/fx-bench-time
}
best_of_2() {  # the faster of two runs: seconds and peak RSS
    set -- $(time_of "$@") $(time_of "$@")
    awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { if (a <= c) print a, b; else print c, d }'
}

compare() {  # $1: label, $2: data
    bytes=$(wc -c < "$2")
    "$FX" --seed 1 "$2" 2> /tmp/fx-bench-summary > /dev/null
    set -- "$1" "$2" $(best_of_2 "$FX" -q --seed 1 "$2"); fx_t=$3; fx_m=$4
    set -- "$1" "$2" $(best_of_2 "$FX" -q --seed 1 --threads 1 "$2"); one_t=$3
    fx_out=$("$FX" -q --seed 1 "$2" | wc -l)
    set -- "$1" "$2" $(time_of python3 bench/mask_reference.py < "$2"); py_t=$3; py_m=$4
    py_out=$(python3 bench/mask_reference.py < "$2" | wc -l)
    awk -v l="$1" -v b="$bytes" -v ft="$fx_t" -v fm="$fx_m" -v ot="$one_t" -v pt="$py_t" -v pm="$py_m" -v fo="$fx_out" -v po="$py_out" 'BEGIN {
        printf "fx-mask --mode token vs Python reference, %s, %.1f MB\n", l, b / 1e6
        printf "  %-22s %7.2f s %7.1f MB/s in  %8d examples  peak RSS %6.1f MB\n", "fx-mask (all cores)", ft, b / 1e6 / ft, fo, fm / 1024
        printf "  %-22s %7.2f s %7.1f MB/s in\n", "fx-mask --threads 1", ot, b / 1e6 / ot
        printf "  %-22s %7.2f s %7.1f MB/s in  %8d examples  peak RSS %6.1f MB\n", "python reference", pt, b / 1e6 / pt, po, pm / 1024
        printf "  speed ratio fx-mask/python: %.1fx (one thread: %.1fx)\n", pt / ft, pt / ot
    }'
    sed 's/^/  /' /tmp/fx-bench-summary
}

compare "long descriptions (train.jsonl)" bench/data/train.jsonl
compare "one-line synopses (x5)" "$SHORT"

big=/tmp/fx-bench-big.jsonl
: > "$big"
for i in $(seq 40); do cat bench/data/train.jsonl >> "$big"; done
set -- $(time_of "$FX" -q "$big"); big_t=$1; big_m=$2
big_bytes=$(wc -c < "$big")
awk -v bb="$big_bytes" -v bt="$big_t" -v bm="$big_m" 'BEGIN {
    printf "fx-mask on %.2f GB: %.1f s (%.0f MB/s in), peak RSS %.1f MB\n", bb / 1e9, bt, bb / 1e6 / bt, bm / 1024
}'
