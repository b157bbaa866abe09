import Foundation
import Testing

/// The streaming tools split the per-record work over threads and write in input order: the bytes, the summary
/// and the exit status must be those of one thread, over many chunks and around a bad record.
@Suite struct ThreadsTests {
    let corpus = repoRoot.appendingPathComponent("examples/corpus.jsonl.gz").path
    let sections = repoRoot.appendingPathComponent("examples/debian-sections.tar.gz").path

    /// Runs `command` with --threads 1 and --threads 2 (appended) and expects the same stdout, stderr and status.
    func same(_ command: String, in dir: URL, status: Int32 = 0) throws -> Run {
        let one = try shell(command + " --threads 1", in: dir)
        let two = try shell(command + " --threads 2", in: dir)
        #expect(one.status == status, "\(command): \(one.stderr)")
        #expect(two.status == one.status, "\(command)")
        #expect(two.stdout == one.stdout, "\(command): \(one.lines.count) against \(two.lines.count) lines")
        #expect(two.stderr == one.stderr, "\(command)")
        return one
    }

    @Test("fx-mask in every mode, fx-pair, fx-eval --predict and fx-cluster --load write the same bytes on 1 and 2 threads")
    func sameBytes() throws {
        let s = try Scratch()
        defer { s.remove() }
        let setup = try shell("""
            fx-pair \(sections) --seed 1 > pairs.jsonl
            fx-train pairs.jsonl -o m.fxm --epochs 5 -q
            gzip -dc \(corpus) > corpus.jsonl
            fx-cluster -k 6 --seed 1 corpus.jsonl --save c.fxc -q > /dev/null
            """, in: s.url)
        #expect(setup.status == 0, "\(setup.stderr)")
        // 10,000 documents: about 20 chunks of 512.
        #expect(try same("fx-mask corpus.jsonl --seed 4", in: s.url).lines.count > 50_000)
        _ = try same("fx-mask corpus.jsonl --seed 4 --joint", in: s.url)
        _ = try same("fx-mask corpus.jsonl --seed 4 --mode span", in: s.url)
        _ = try same("fx-mask corpus.jsonl --mode next --stride 7", in: s.url)
        _ = try same("fx-pair corpus.jsonl --input-field text --target-field label --holdout 0.2 --format alpaca", in: s.url)
        _ = try same("fx-pair \(sections) --holdout 0.1", in: s.url)
        #expect(try same("fx-eval -m m.fxm --predict --k 2 --input-field text corpus.jsonl", in: s.url).lines.count == 10_000)
        #expect(try same("fx-cluster --load c.fxc corpus.jsonl", in: s.url).lines.count == 10_000)
    }

    @Test("a bad record in the middle: fail writes everything before it then stops; skip reports it and goes on")
    func badRecordInOrder() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            gzip -dc \(corpus) | head -3000 > head.jsonl
            gzip -dc \(corpus) | sed -n '3001,6000p' > tail.jsonl
            { cat head.jsonl; echo '{"text": 42}'; echo '{"text": broken'; cat tail.jsonl; } > bad.jsonl
            """, in: s.url)
        #expect(r.status == 0)
        for mode in ["fail", "skip"] {
            let out = try same("fx-mask bad.jsonl --seed 2 --on-error \(mode)", in: s.url, status: 1)
            #expect(out.stderr.contains("bad.jsonl:3001: field 'text' is number, not a string"), "\(out.stderr)")
            let full = try shell("fx-mask head.jsonl --seed 2 -q", in: s.url).stdout
            if mode == "fail" {
                #expect(out.stdout == full)
            } else {
                #expect(out.stderr.contains("bad.jsonl:3002: invalid JSON"))
                #expect(out.stdout == full + (try shell("fx-mask tail.jsonl --seed 2 -q", in: s.url)).stdout)
            }
        }
        // A worker's error with no reading error after it: under fail, nothing after it is written, even the
        // chunk already masked on the other thread.
        _ = try shell("{ cat head.jsonl; echo '{\"text\": 42}'; cat tail.jsonl; } > worker.jsonl", in: s.url)
        let out = try same("fx-mask worker.jsonl --seed 2", in: s.url, status: 1)
        #expect(out.stdout == (try shell("fx-mask head.jsonl --seed 2 -q", in: s.url)).stdout)
        #expect(out.stderr == "fx-mask: worker.jsonl:3001: field 'text' is number, not a string\n", "\(out.stderr)")
    }

    @Test("| head -1 ends a threaded run quietly")
    func brokenPipe() throws {
        let r = try shell("set -o pipefail; fx-mask \(corpus) --threads 2 | head -1")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.count == 1)
        #expect(!r.stderr.contains("error"))
    }
}
