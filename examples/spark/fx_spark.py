#!/usr/bin/env python3
"""Runs one fx filter as a stage of a Spark job.

    python3 examples/spark/fx_spark.py [options] INPUT... OUTPUT_DIR -- TOOL [ARG...]
    spark-submit examples/spark/fx_spark.py --master spark://host:7077 [options] INPUT... OUTPUT_DIR -- TOOL [ARG...]

TOOL is fx-pair, fx-mask, fx-eval --predict or fx-cluster --load (any fx filter that maps records to records).
Each JSON Lines INPUT is cut into partitions at line starts (at least --partitions in all, at most 128 MB each); every
partition goes through its own TOOL process (with --jsonl, so that a piece is read as JSON Lines whatever its first
line), whose output becomes the partition's records. Any other INPUT (an archive or compressed stream: tar, zip,
7z, ar, cpio, iso; gzip, bzip2, xz, zstd, lz4; or plain text), recognised by its first bytes as fx recognises it,
goes whole to one task, whose TOOL reads it. The records land in OUTPUT_DIR as part files (part-00000, ...), in
input order when read in name order; --ordered writes one file, OUTPUT_DIR/part-00000, through the driver. The
output is byte for byte what one TOOL process writes over the same inputs, for the filters whose records do not
depend on their neighbours (fx-pair, fx-mask, fx-eval --predict, fx-cluster --load).

Plain paths are read and written by the executors at the same path (any file in local mode; on a cluster, a file
system every node mounts): each task reads its byte range of a JSON Lines file itself, hands a whole file to TOOL
as its argument, and writes TOOL's output to its part file (renamed into place when whole). A path with a scheme
(hdfs://, s3a://, file://) goes through Hadoop instead: the lines of an input's splits, or a whole file's bytes,
are piped to TOOL (a single compressed file of plain text then gets the document path "-"), and an OUTPUT_DIR
is written by Spark's text output.

The TOOL binary, found in --bin, $FX_BIN_DIR or $PATH, and the files TOOL's options read (-m, --model, --load,
--embed, --stop-words: a model, a cluster file, a Hugging Face folder) travel to the executors as Spark ships files
(SparkContext.addFile; on the executors SparkFiles.get), so the same command runs with spark-submit on a
cluster whose nodes have the libraries fx links (Debian's libarchive13 and libopenblas0; build fx with
`swift build -c release --static-swift-stdlib` so that they need no Swift runtime). Without --threads among
TOOL's arguments, each process gets --threads spark.task.cpus (1), since Spark already runs one task per core.

Errors: a TOOL that fails on a partition fails the job; its own message is printed with the place it names
rewritten from the partition's stdin to the input file and line (fx-mask: corpus.jsonl:1207: invalid JSON: ...),
and the driver exits with TOOL's exit status. Under --on-error skip each bad record is reported the same way,
the count is summed over the partitions, the records read correctly are all written, and the exit status is 1,
as in one process. Exit status 64: a usage error; 74: OUTPUT_DIR exists, an input is missing, or Java is not
installed (Spark 4 needs Java 17: apt-get install openjdk-17-jre-headless).
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

# First bytes of what libarchive reads as an archive or a compressed stream (fx's own detection is by content).
ARCHIVE_MAGIC = [b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18", b"PK\x03\x04",
                 b"PK\x05\x06", b"7z\xbc\xaf\x27\x1c", b"!<arch>\n", b"070707", b"070701", b"070702", b"\xc7\x71",
                 b"\x5d\x00\x00", b"\x89LZO"]
REPORT = re.compile(r"FX-SPARK-REPORT:([A-Za-z0-9+/=]+):END")
SKIPPED = re.compile(r"^(\S+): skipped (\d+) bad records?$")


class Usage(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def parse(argv):
    """Options, inputs and output before `--`; the tool's command line after it."""
    if "--" not in argv:
        raise Usage("missing `-- TOOL [ARG...]` after the inputs and the output folder")
    cut = argv.index("--")
    tool = argv[cut + 1:]
    parser = Parser(prog="fx_spark.py", description=__doc__.split("\n\n")[0],
                                     usage="%(prog)s [options] INPUT... OUTPUT_DIR -- TOOL [ARG...]")
    parser.add_argument("paths", nargs="+", metavar="INPUT... OUTPUT_DIR")
    parser.add_argument("--master", help="Spark master URL (default: spark-submit's, else local[*])")
    parser.add_argument("--partitions", type=int, default=None,
                        help="cut the JSON Lines inputs into at least this many partitions (default: Spark's parallelism)")
    parser.add_argument("--ordered", action="store_true", help="write one file, OUTPUT_DIR/part-00000, in input order")
    parser.add_argument("--bin", help="folder holding the fx binaries (default: $FX_BIN_DIR, else $PATH)")
    parser.add_argument("--files", action="append", default=[],
                        help="another file or folder the executors need, shipped with the job (repeatable)")
    parser.add_argument("--log-level", default="OFF",
                        help="Spark's own log level (default OFF: the driver reports what failed itself)")
    parser.add_argument("--verbose", action="store_true", help="also print each partition's summary lines")
    opts = parser.parse_args(argv[:cut])
    if len(opts.paths) < 2:
        raise Usage("give at least one INPUT and the OUTPUT_DIR")
    if not tool:
        raise Usage("no TOOL after `--`")
    if opts.partitions is not None and opts.partitions < 1:
        raise Usage("--partitions takes at least 1")
    opts.inputs, opts.output, opts.tool = opts.paths[:-1], opts.paths[-1], tool
    return opts


def local_path(path):
    """The path on this machine's file system, or None for a URI (hdfs://, s3a://, file://, ...: read through Hadoop)."""
    return None if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path) else path


def is_json_lines(path):
    """Whether an input is cut into partitions: JSON Lines, recognised as fx recognises it (its first bytes other
    than a byte-order mark and white space are `{`). Archives, compressed streams and plain text go whole to one
    task. A URI, by its name (.jsonl, .json, .ndjson)."""
    local = local_path(path)
    if local is None:
        return re.search(r"\.(jsonl|ndjson|json)$", path) is not None
    with open(local, "rb") as f:
        head = f.read(1 << 16)
    if any(head.startswith(m) for m in ARCHIVE_MAGIC) or head[257:262] == b"ustar":
        return False
    return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"{")


def find_binary(name, folder):
    if "/" in name:
        return os.path.abspath(name)
    for d in [folder, os.environ.get("FX_BIN_DIR")]:
        if d and os.access(os.path.join(d, name), os.X_OK):
            return os.path.abspath(os.path.join(d, name))
    found = shutil.which(name)
    if not found:
        raise Usage(f"cannot find {name} in --bin, $FX_BIN_DIR or $PATH")
    return found


# The tools' options whose value is a file or folder that the executors read.
FILE_OPTIONS = {"-m", "--model", "--load", "--embed", "--stop-words"}


class Shipment:
    """The files the executors need, by the name SparkFiles knows them: the value of each tool option that reads
    a file (-m, --model, --load, --embed, --stop-words) becomes a reference that the task resolves on its
    executor, as do --files."""

    def __init__(self):
        self.paths = {}

    def add(self, path):
        if not os.path.exists(path):
            raise Usage(f"{path}: no such file or folder to ship")
        real = os.path.realpath(path)
        name = os.path.basename(real.rstrip("/"))
        if self.paths.setdefault(name, real) != real:
            raise Usage(f"two shipped files share the name {name}: {self.paths[name]} and {real}")
        return {"ship": name}

    def arguments(self, args):
        out = []
        for i, arg in enumerate(args):
            option, _, value = arg.partition("=")
            if value and option in FILE_OPTIONS and option.startswith("--"):
                out.append([option + "=", self.add(value)])
            elif i > 0 and args[i - 1] in FILE_OPTIONS:
                out.append(self.add(arg))
            else:
                out.append(arg)
        return out

    def send(self, sc):
        for real in self.paths.values():
            sc.addFile(real, recursive=os.path.isdir(real))


def resolve(arg):
    """A tool argument on the executor (runs there)."""
    from pyspark import SparkFiles
    if isinstance(arg, list):
        return "".join(resolve(a) for a in arg)
    if isinstance(arg, dict):
        return SparkFiles.get(arg["ship"])
    return arg


def run_tool(command, index, feed):
    """Runs the tool over one partition (on the executor): `feed` yields the bytes for its stdin; yields its
    output in blocks; raises with a report (exit status, stderr) when the tool fails, else adds the report of a
    partition that said something to the accumulator `command["notes"]`."""
    argv = [resolve(a) for a in command["argv"]]
    # The Python worker's own stderr: when a failing tool aborts the job, Spark kills the other tasks, and PySpark
    # would print each killed worker's BrokenPipeError traceback under the tool's message. The tool's stderr is
    # captured below; what the worker reports goes to Spark through its socket, not stderr.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)
    os.close(quiet)
    if not os.access(argv[0], os.X_OK):
        os.chmod(argv[0], 0o755)
    stderr = tempfile.TemporaryFile()
    cwd = command["cwd"] if os.path.isdir(command["cwd"]) else None  # the driver's, for relative input paths
    try:
        tool = subprocess.Popen(argv, stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=stderr, cwd=cwd)
    except OSError as e:
        raise RuntimeError(report(index, 74, f"{command['name']}: cannot run on this executor: {e}\n")) from None

    def write():
        try:
            for chunk in feed:
                tool.stdin.write(chunk)
        except (BrokenPipeError, ValueError):
            pass  # the tool stopped reading: its exit status says why
        finally:
            try:
                tool.stdin.close()
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=write, daemon=True)
    if feed is not None:
        writer.start()
    while True:
        chunk = tool.stdout.read1(1 << 20)
        if not chunk:
            break
        yield chunk
    status = tool.wait()
    if status < 0:  # killed by a signal: the shell's 128 + its number
        status = 128 - status
    if feed is not None:
        writer.join()
    stderr.seek(0)
    said = stderr.read().decode("utf-8", "replace")
    skipped = status == 1 and any(SKIPPED.match(l) for l in said.splitlines())
    if status != 0 and not skipped:
        raise RuntimeError(report(index, status, said))
    if said:
        command["notes"].add([{"part": index, "status": status, "stderr": said}])


def report(index, status, stderr):
    data = json.dumps({"part": index, "status": status, "stderr": stderr}).encode()
    return "FX-SPARK-REPORT:" + base64.b64encode(data).decode() + ":END"


def lines_of(lines, size=4096):
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield b"\n".join(chunk) + b"\n"
            chunk = []
    if chunk:
        yield b"\n".join(chunk) + b"\n"


def whole_file(files):
    for _, content in files:
        yield content


def line_start(f, pos):
    """The first position at or after `pos` where a line of the open file `f` starts (its size at the end)."""
    if pos == 0:
        return 0
    f.seek(pos - 1)
    at = pos - 1
    while True:
        chunk = f.read(1 << 16)
        if not chunk:
            return at
        i = chunk.find(b"\n")
        if i >= 0:
            return at + i + 1
        at += len(chunk)


def byte_range(path, start, end):
    """The bytes [start, end) of a file, in blocks (runs on the executor)."""
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            left -= len(block)
            yield block


MAX_PIECE = 128 << 20


class Job:
    """The partitions of every input piped through the tool, in input order. On this machine's file system (the
    executors read the same path: local mode, or a file system every node mounts) a JSON Lines file is cut into
    byte ranges at line starts and each task reads its range itself, and any other file goes to the tool as its
    argument; an input with a scheme (hdfs://, s3a://, file://) is read through Hadoop and piped to the tool."""

    def __init__(self, sc, opts, argv, notes):
        self.sc, self.parts, outputs = sc, [], []
        command = {"argv": argv, "name": os.path.basename(opts.tool[0]), "notes": notes, "cwd": os.getcwd()}
        # A piece of a JSON Lines file is JSON Lines whatever its first line is (--jsonl): a bad line that opens a
        # partition is then a bad record, as in one process, not the start of a plain-text document.
        pieces = dict(command, argv=argv + ["--jsonl"])
        inputs = [(p, not is_json_lines(p)) for p in opts.inputs]
        sizes = {p: max(1, os.path.getsize(local_path(p))) if local_path(p) else 1 for p, whole in inputs if not whole}
        wanted = opts.partitions or sc.defaultParallelism
        for path, whole in inputs:
            local = local_path(path)
            first = len(self.parts)
            if local is not None and whole:
                rdd = sc.parallelize([0], 1)
                self.parts.append((path, "file", None))
                outputs.append(rdd.mapPartitions(lambda _, path=path, first=first: run_tool(dict(command, argv=command["argv"] + [path]), first, None)))
            elif local is not None:
                size = os.path.getsize(local)
                n = max(1, round(wanted * size / sum(sizes.values())), -(-size // MAX_PIECE))
                with open(local, "rb") as f:
                    cuts = sorted(set(line_start(f, size * k // n) for k in range(n)) | {size})
                ranges = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
                if not ranges:
                    continue
                self.parts += [(path, "range", a) for a, _ in ranges]
                real = os.path.abspath(local)
                outputs.append(sc.parallelize(ranges, len(ranges)).mapPartitionsWithIndex(
                    lambda j, it, first=first, real=real: run_tool(pieces, first + j, (c for a, b in it for c in byte_range(real, a, b)))))
            elif whole:
                rdd = sc.binaryFiles(path, minPartitions=1)
                self.parts.append((path, "stdin", None))
                outputs.append(rdd.mapPartitions(lambda it, first=first: run_tool(command, first, whole_file(it))))
            else:
                rdd = sc.textFile(path, minPartitions=max(1, wanted // len(sizes)), use_unicode=False)
                self.parts += [(path, "hadoop", (rdd, j)) for j in range(rdd.getNumPartitions())]
                outputs.append(rdd.mapPartitionsWithIndex(
                    lambda j, it, first=first: run_tool(pieces, first + j, lines_of(it))))
        self.output = sc.union(outputs) if len(outputs) > 1 else outputs[0] if outputs else sc.parallelize([], 1)

    def place(self, index, text):
        """Rewrites `<stdin>:N` in a partition's message to the input's path and line."""
        path, kind, where = self.parts[index]
        if kind in ("file", "stdin"):
            return text.replace("<stdin>", path)
        offset = None

        def line(m):
            nonlocal offset
            if offset is None:
                if kind == "range":  # the newlines before the piece's first byte
                    offset = sum(block.count(b"\n") for block in byte_range(local_path(path), 0, where))
                else:
                    rdd, j = where
                    offset = sum(self.sc.runJob(rdd, lambda it: [sum(1 for _ in it)], list(range(j)))) if j else 0
            return f"{path}:{offset + int(m.group(1))}"
        return re.sub(r"<stdin>:(\d+)", line, text)


class ListParam:
    """An accumulator of lists (the partitions' reports)."""

    def zero(self, value):
        return []

    def addInPlace(self, a, b):
        a.extend(b)
        return a


def text_blocks(chunks):
    """For Spark's text output: blocks of whole lines without their last newline (Spark adds one after each
    element), so the part file gets the same bytes as one element per line, at a fraction of the cost per record."""
    rest = b""
    for chunk in chunks:
        end = chunk.rfind(b"\n")
        if end < 0:
            rest += chunk
            continue
        yield rest + chunk[:end]
        rest = chunk[end + 1:]
    if rest:
        yield rest


def write_part(folder, index, chunks):
    """Writes partition `index` as folder/part-NNNNN (on the executor): into _temporary under the attempt's
    number, then renamed, so that a retried or speculative attempt leaves one whole file."""
    from pyspark import TaskContext
    context = TaskContext.get()
    temporary = os.path.join(folder, "_temporary", "part-%05d.%d" % (index, context.attemptNumber() if context else 0))
    with open(temporary, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
    os.replace(temporary, os.path.join(folder, "part-%05d" % index))
    yield 1


def merge(parts_dir, output):
    """Concatenates the part files, in name (partition) order, into OUTPUT_DIR/part-00000."""
    os.makedirs(output)
    with open(os.path.join(output, "part-00000"), "wb") as out:
        for name in sorted(n for n in os.listdir(parts_dir) if n.startswith("part-")):
            with open(os.path.join(parts_dir, name), "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    open(os.path.join(output, "_SUCCESS"), "wb").close()
    shutil.rmtree(parts_dir)


def main(argv, sc=None):
    """Runs the job; returns the exit status. `sc`: an existing SparkContext (the tests share one)."""
    try:
        opts = parse(argv)
        for p in opts.inputs:
            if local_path(p) is not None and not os.path.isfile(local_path(p)):
                print(f"fx_spark: {p}: no such file", file=sys.stderr)
                return 74
        out_local = local_path(opts.output)
        if opts.ordered and out_local is None:
            raise Usage("--ordered writes through the driver: OUTPUT_DIR must be on its file system")
        if out_local is not None and os.path.exists(out_local):
            print(f"fx_spark: {opts.output}: already exists (Spark writes a new folder)", file=sys.stderr)
            return 74
        ship = Shipment()
        argv_tool = [ship.add(find_binary(opts.tool[0], opts.bin))] + ship.arguments(opts.tool[1:])
        for f in opts.files:
            ship.add(f)
    except Usage as e:
        print(f"fx_spark: {e}", file=sys.stderr)
        return 64
    if sc is None:
        if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
            print("fx_spark: Spark needs Java 17 (Debian: apt-get install openjdk-17-jre-headless)", file=sys.stderr)
            return 74
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            print("fx_spark: needs PySpark (pip install pyspark)", file=sys.stderr)
            return 74
        quiet = "-Dlog4j2.configurationFile=" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")
        builder = (SparkSession.builder.appName("fx " + " ".join(opts.tool)).config("spark.ui.showConsoleProgress", "false")
                   .config("spark.driver.extraJavaOptions", quiet))
        if opts.master:  # else spark-submit's --master, or local[*]
            builder = builder.master(opts.master)
        sc = builder.getOrCreate().sparkContext
    sc.setLogLevel(opts.log_level)
    if not any(a == "--threads" or str(a).startswith("--threads=") for a in opts.tool):
        argv_tool += ["--threads", sc.getConf().get("spark.task.cpus", "1")]
    ship.send(sc)
    if __name__ != "__main__":  # imported (as the tests do): the executors import it too
        sc.addPyFile(os.path.abspath(__file__))
    notes = sc.accumulator([], ListParam())
    job = Job(sc, opts, argv_tool, notes)
    name = os.path.basename(opts.tool[0])
    if out_local is None:
        target = opts.output
    else:  # written by the tasks themselves, beside the output folder until it is whole with --ordered
        target = os.path.join(os.path.dirname(os.path.abspath(out_local)), "." + os.path.basename(out_local.rstrip("/")) + ".parts") if opts.ordered else os.path.abspath(out_local)
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(os.path.join(target, "_temporary"))
    try:
        if out_local is None:
            job.output.mapPartitions(text_blocks).saveAsTextFile(target)
        else:
            job.output.mapPartitionsWithIndex(lambda i, chunks: write_part(target, i, chunks)).count()
            shutil.rmtree(os.path.join(target, "_temporary"))
            open(os.path.join(target, "_SUCCESS"), "wb").close()
    except Exception as e:  # the job failed: find the tool's own report among Spark's
        found = REPORT.findall(str(e))
        if not found:
            lines = [l for l in str(e).splitlines() if l.strip()]
            print(f"fx_spark: the Spark job failed: {lines[0] if lines else type(e).__name__}", file=sys.stderr)
            causes = [l.strip() for l in lines if re.match(r"^\s*(\w+\.)*\w*(Error|Exception):", l)]
            if causes:
                print(f"fx_spark: {causes[-1]}", file=sys.stderr)
            return 74
        failure = json.loads(base64.b64decode(found[-1]))
        sys.stderr.write(job.place(failure["part"], failure["stderr"]))
        path = job.parts[failure["part"]][0]
        print(f"fx_spark: {name} failed on partition {failure['part']} of {len(job.parts)} ({path}), "
              f"exit status {failure['status']}", file=sys.stderr)
        return failure["status"]
    finally:
        if out_local is not None and not os.path.exists(os.path.join(target, "_SUCCESS")):
            shutil.rmtree(target, ignore_errors=True)  # nothing half-written stays
    if opts.ordered:
        merge(target, out_local)
    skipped = 0
    for note in sorted(notes.value, key=lambda n: n["part"]):
        for line in note["stderr"].splitlines():
            m = SKIPPED.match(line)
            if m:
                skipped += int(m.group(2))
            elif "<stdin>" in line:  # a bad record's report
                print(job.place(note["part"], line), file=sys.stderr)
            elif opts.verbose:
                print(f"partition {note['part']}: {line}", file=sys.stderr)
    if skipped:
        print(f"{name}: skipped {skipped} bad record{'s' if skipped != 1 else ''}", file=sys.stderr)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
