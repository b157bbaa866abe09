#!/bin/sh
# fx-mask --mode span (one record per document, so the output is about the size of the input) through Spark (examples/spark/fx_spark.py, local[2]: two tasks at a time, one fx-mask thread each) against
# the same fx-mask in one process on all cores (2 here), on about 1 GB of JSON Lines (Debian's train.jsonl 40 times).
# Both write their records to files on the same disk; the whole process is timed (Spark: JVM start included), and the
# outputs are compared byte for byte. Needs PySpark in .venv/ and Java 17 (make test-spark installs both).
set -eu
cd "$(dirname "$0")/.."
FX_BIN_DIR=${FX_BIN_DIR:-$PWD/.build/release}
export FX_BIN_DIR
[ -x "$FX_BIN_DIR/fx-mask" ] || { echo "build first: swift build -c release" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "install PySpark first: make test-spark" >&2; exit 1; }
[ -f bench/data/train.jsonl ] || python3 bench/debian-data.py bench
work=${TMPDIR:-/tmp}/fx-bench-spark
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
big=$work/big.jsonl
for i in $(seq 40); do cat bench/data/train.jsonl; done > "$big"
bytes=$(wc -c < "$big")

time_of() {  # wall seconds and peak RSS (KB) of "$@" (stdout to $out)
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$out"
    cat "$work/time"
}

out=$work/one.jsonl
set -- $(time_of "$FX_BIN_DIR/fx-mask" -q --mode span --seed 1 "$big"); one_t=$1; one_m=$2
out=/dev/null
set -- $(time_of .venv/bin/python examples/spark/fx_spark.py --master 'local[2]' "$big" "$work/spark" -- fx-mask -q --mode span --seed 1)
spark_t=$1; spark_m=$2
parts=$(ls "$work/spark" | grep -c '^part-')
same=$(cat "$work"/spark/part-* | cmp -s - "$work/one.jsonl" && echo "byte for byte the same" || echo "DIFFERENT")
rm -rf "$work/spark"
set -- $(time_of .venv/bin/python examples/spark/fx_spark.py --master 'local[2]' --ordered "$big" "$work/spark" -- fx-mask -q --mode span --seed 1)
ordered_t=$1
same_ordered=$(cmp -s "$work/spark/part-00000" "$work/one.jsonl" && echo "byte for byte the same" || echo "DIFFERENT")
rm -rf "$work/spark"
out=/dev/null
set -- $(time_of .venv/bin/python -c 'from pyspark.sql import SparkSession; SparkSession.builder.master("local[2]").getOrCreate().stop()' 2>/dev/null)
start_t=$1
awk -v b="$bytes" -v o="$one_t" -v om="$one_m" -v s="$spark_t" -v sm="$spark_m" -v so="$ordered_t" -v p="$parts" -v st="$start_t" \
    -v same="$same" -v same2="$same_ordered" 'BEGIN {
    printf "fx-mask --mode span --seed 1 on %.2f GB of JSON Lines, output written to disk\n", b / 1e9
    printf "  %-36s %7.1f s %6.1f MB/s in  (peak RSS %.0f MB)\n", "one process (2 threads)", o, b / 1e6 / o, om / 1024
    printf "  %-36s %7.1f s %6.1f MB/s in  %d part files, %s\n", "Spark local[2] (fx_spark.py)", s, b / 1e6 / s, p, same
    printf "  %-36s %7.1f s %6.1f MB/s in  one file, %s\n", "Spark local[2] --ordered", so, b / 1e6 / so, same2
    printf "  Spark start and stop alone: %.1f s\n", st
    printf "  throughput through Spark / one process: %.2fx (--ordered %.2fx); overhead %.1f s (%.0f%%)\n", o / s, o / so, s - o, (s - o) / o * 100
}'
