"""fx's filters as Spark stages (examples/spark/fx_spark.py) against one process over the same input.

Run by `make test-spark` (which installs PySpark and Java when missing) with FX_BIN_DIR set to the release binaries:
    FX_BIN_DIR=.build/release .venv/bin/python -m unittest discover -s Tests/spark -v
"""

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "examples", "spark"))
import fx_spark  # noqa: E402

BIN = os.path.abspath(os.environ.get("FX_BIN_DIR", os.path.join(ROOT, ".build", "release")))
SCRIPT = os.path.join(ROOT, "examples", "spark", "fx_spark.py")
EXAMPLES = os.path.join(ROOT, "examples")


def tool(*argv, stdin=None, check=True):
    """One fx process: (stdout bytes, stderr text, exit status)."""
    run = subprocess.run([os.path.join(BIN, argv[0]), *argv[1:]], input=stdin, capture_output=True)
    if check and run.returncode != 0:
        raise AssertionError(f"{argv}: exit {run.returncode}: {run.stderr.decode()}")
    return run.stdout, run.stderr.decode(), run.returncode


def read_output(folder):
    """The part files, concatenated in name order, and how many there are."""
    names = sorted(n for n in os.listdir(folder) if n.startswith("part-"))
    data = b""
    for n in names:
        with open(os.path.join(folder, n), "rb") as f:
            data += f.read()
    return data, len(names)


class SparkStages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from pyspark.sql import SparkSession
        cls.dir = tempfile.mkdtemp(prefix="fx-spark-test.")
        cls.spark = (SparkSession.builder.master("local[2]").appName("fx tests")
                     .config("spark.ui.showConsoleProgress", "false")
                     .config("spark.driver.extraJavaOptions",
                             "-Dlog4j2.configurationFile=" + os.path.join(EXAMPLES, "spark", "log4j2.properties"))
                     .getOrCreate())
        cls.sc = cls.spark.sparkContext
        d = cls.dir
        # Inputs: 3,000 unlabeled descriptions (JSON Lines, cut into pieces), labeled pairs from the shipped archive,
        # and the shipped 720 descriptions.
        with gzip.open(os.path.join(EXAMPLES, "corpus.jsonl.gz"), "rb") as f:
            cls.corpus = os.path.join(d, "corpus.jsonl")
            with open(cls.corpus, "wb") as out:
                out.write(b"".join(f.readlines()[:3000]))
        cls.archive = os.path.join(EXAMPLES, "debian-sections.tar.gz")
        cls.descriptions = os.path.join(EXAMPLES, "descriptions.jsonl")
        pairs, _, _ = tool("fx-pair", cls.archive, "--holdout", "0.2", "--seed", "1")
        cls.pairs = os.path.join(d, "pairs.jsonl")
        with open(cls.pairs, "wb") as f:
            f.write(pairs)
        train = b"".join(l + b"\n" for l in pairs.splitlines() if b'"split":"train"' in l)
        cls.model = os.path.join(d, "sections.fxm")
        tool("fx-train", "-o", cls.model, "--seed", "1", "--epochs", "5", "-q", stdin=train)
        cls.clusters = os.path.join(d, "topics.fxc")
        tool("fx-cluster", "-k", "6", cls.descriptions, "--save", cls.clusters, "--seed", "1", "-q")

    @classmethod
    def tearDownClass(cls):
        cls.spark.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def spark_run(self, inputs, argv, partitions, ordered, status=0):
        out = tempfile.mkdtemp(dir=self.dir)
        os.rmdir(out)
        options = ["--partitions", str(partitions), "--bin", BIN] + (["--ordered"] if ordered else [])
        self.assertEqual(fx_spark.main(options + inputs + [out, "--"] + argv, sc=self.sc), status)
        return read_output(out)

    def check_stage(self, inputs, argv):
        """1, 3 and 8 partitions, ordered and not, against one process over the same inputs."""
        expected, _, _ = tool(*argv, "-q", *inputs)
        self.assertGreater(len(expected.splitlines()), 100)
        for partitions in [1, 3, 8]:
            with self.subTest(partitions=partitions):
                ordered, files = self.spark_run(inputs, argv + ["-q"], partitions, ordered=True)
                self.assertEqual(files, 1)
                self.assertEqual(ordered, expected)  # byte for byte, in input order
                parts, files = self.spark_run(inputs, argv + ["-q"], partitions, ordered=False)
                self.assertGreaterEqual(files, partitions)
                self.assertEqual(sorted(parts.splitlines()), sorted(expected.splitlines()))  # the same set

    def test_mask(self):
        self.check_stage([self.corpus], ["fx-mask", "--seed", "7"])

    def test_mask_spans_two_inputs(self):
        self.check_stage([self.corpus, self.descriptions], ["fx-mask", "--mode", "span", "--seed", "3"])

    def test_pair_holdout(self):
        self.check_stage([self.pairs], ["fx-pair", "--holdout", "0.3", "--seed", "5", "--format", "openai"])

    def test_eval_predict(self):
        self.check_stage([self.pairs], ["fx-eval", "-m", self.model, "--predict", "--k", "3"])

    def test_shipped_files_only_from_file_options(self):
        # `--input-field input` while a folder named `input` exists: the value is a field name, not a file to ship.
        here = os.getcwd()
        work = tempfile.mkdtemp(dir=self.dir)
        os.mkdir(os.path.join(work, "input"))
        os.chdir(work)
        try:
            argv = ["fx-eval", "-m", os.path.relpath(self.model), "--predict", "--input-field", "input"]
            expected, _, _ = tool(*argv, "-q", self.pairs)
            ordered, _ = self.spark_run([self.pairs], argv + ["-q"], 3, True)
            self.assertEqual(ordered, expected)
        finally:
            os.chdir(here)

    def test_cluster_load(self):
        self.check_stage([self.corpus], ["fx-cluster", "--load", self.clusters])

    def test_bad_line_opening_a_partition_is_a_bad_record(self):
        # The first line of the fourth of 8 partitions becomes a line of x's of the same length (the same cuts):
        # read alone, that piece would look like plain text; with --jsonl it is JSON Lines with one bad record.
        firsts = self.sc.textFile(self.corpus, 8, use_unicode=False).mapPartitions(lambda it: [next(it, None)]).collect()
        with open(self.corpus, "rb") as f:
            data = f.read()
        bad = os.path.join(self.dir, "opening.jsonl")
        with open(bad, "wb") as f:
            f.write(data.replace(firsts[3] + b"\n", b"x" * len(firsts[3]) + b"\n", 1))
        expected, one, _ = tool("fx-mask", "--seed", "1", "--on-error", "skip", bad, check=False)
        self.assertEqual(len([l for l in one.splitlines() if "invalid JSON" in l]), 1)
        ordered, _ = self.spark_run([bad], ["fx-mask", "--seed", "1", "--on-error", "skip"], 8, True, status=1)
        self.assertEqual(ordered, expected)

    def test_through_hadoop(self):
        # file:// paths take the other road: Hadoop's splits piped to the tool, Spark's text output.
        argv = ["fx-mask", "--seed", "4", "-q"]
        expected, _, _ = tool(*argv, self.corpus)
        out = os.path.join(tempfile.mkdtemp(dir=self.dir), "out")
        status = fx_spark.main(["--partitions", "3", "--bin", BIN, "file://" + self.corpus, "file://" + out, "--"] + argv, sc=self.sc)
        self.assertEqual(status, 0)
        data, files = read_output(out)
        self.assertGreaterEqual(files, 3)
        self.assertEqual(data, expected)

    def test_archive_goes_whole_to_one_task(self):
        expected, _, _ = tool("fx-pair", self.archive, self.pairs, "--seed", "2", "--holdout", "0.5", "-q")
        ordered, _ = self.spark_run([self.archive, self.pairs], ["fx-pair", "--seed", "2", "--holdout", "0.5", "-q"], 8, True)
        self.assertEqual(ordered, expected)
        self.assertEqual(len(expected.splitlines()), 1440)


class Command(unittest.TestCase):
    """The script as users run it: its own process, Spark started by it (and by spark-submit)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fx-spark-cli.")
        with gzip.open(os.path.join(EXAMPLES, "corpus.jsonl.gz"), "rb") as f:
            lines = f.readlines()[:2000]
        lines[1199] = b"not json\n"
        lines[1699] = b'{"text": "broken\n'
        self.bad = os.path.join(self.dir, "bad.jsonl")
        with open(self.bad, "wb") as f:
            f.write(b"".join(lines))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def script(self, *argv, runner=(sys.executable, SCRIPT)):
        # as in an activated virtual environment: spark-submit finds PySpark through the python3 on PATH
        env = dict(os.environ, FX_BIN_DIR=BIN, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        run = subprocess.run([*runner, *argv], capture_output=True, env=env, cwd=self.dir)
        return run.returncode, run.stderr.decode()

    def test_failing_tool_reports_its_own_message(self):
        _, one, status = tool("fx-mask", "--seed", "1", self.bad, check=False)
        self.assertEqual(status, 1)
        out = os.path.join(self.dir, "out")
        code, err = self.script("--master", "local[2]", "--partitions", "8", self.bad, out, "--", "fx-mask", "--seed", "1")
        self.assertEqual(code, 1, err)
        self.assertIn(f"fx-mask: {self.bad}:1200: invalid JSON", one)
        self.assertIn(one.strip(), err)  # the very message one process gives, file and line included
        self.assertIn("fx_spark: fx-mask failed on partition", err)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("at org.apache", err)
        self.assertFalse(os.path.exists(out), "a failed job leaves no output folder")

    def test_bad_records_under_skip_are_reported_and_counted(self):
        expected, one, status = tool("fx-mask", "--seed", "1", "--on-error", "skip", self.bad, check=False)
        self.assertEqual(status, 1)
        out = os.path.join(self.dir, "out")
        code, err = self.script("--master", "local[2]", "--partitions", "8", "--ordered", self.bad, out,
                                "--", "fx-mask", "--seed", "1", "--on-error", "skip")
        self.assertEqual(code, 1, err)
        reports = [l for l in one.splitlines() if ".jsonl:" in l]
        self.assertEqual(len(reports), 2)
        for line in reports + ["fx-mask: skipped 2 bad records"]:
            self.assertIn(line, err.splitlines())
        self.assertEqual(read_output(out), (expected, 1))

    def test_spark_submit_and_usage_errors(self):
        submit = os.path.join(os.path.dirname(sys.executable), "spark-submit")
        out = os.path.join(self.dir, "out")
        code, err = self.script("--partitions", "3", os.path.join(EXAMPLES, "descriptions.jsonl"), out,
                                "--", "fx-mask", "--seed", "1", "-q", runner=(submit, "--master", "local[2]", SCRIPT))
        self.assertEqual(code, 0, err)
        expected, _, _ = tool("fx-mask", "--seed", "1", "-q", os.path.join(EXAMPLES, "descriptions.jsonl"))
        data, files = read_output(out)
        self.assertEqual(data, expected)
        self.assertGreaterEqual(files, 3)
        self.assertEqual(self.script(self.bad, out, "--", "fx-mask")[0], 74)  # the output folder exists
        self.assertEqual(self.script(self.bad, os.path.join(self.dir, "o2"))[0], 64)  # no tool
        self.assertEqual(self.script(os.path.join(self.dir, "missing.jsonl"), os.path.join(self.dir, "o3"), "--", "fx-mask")[0], 74)
        code, err = self.script(self.bad, os.path.join(self.dir, "o4"), "--", "fx-nothing")
        self.assertEqual(code, 64)
        self.assertIn("cannot find fx-nothing", err)


if __name__ == "__main__":
    unittest.main()
