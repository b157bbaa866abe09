import Foundation
import Testing

/// Every tool on input nobody planned for ends with 0, 1, 64 or 74 and messages naming the tool (and the place),
/// never a signal, a hang, or a partial model.
@Suite(.serialized) struct HostileInputTests {
    /// The hostile inputs, made once: name -> shell command writing it to stdout.
    static let inputs: [(String, String)] = [
        ("random bytes", "head -c 65536 /dev/urandom"),
        ("deep nesting", "python3 -c \"print('[' * 300000 + ']' * 300000)\""),
        ("deep value", "python3 -c \"print('{\\\"text\\\":' + '[' * 300000 + ']' * 300000 + '}')\""),
        ("NUL bytes", "printf '{\"text\":\"a\\000b\"}\\n\\000\\000\\n'"),
        ("truncated last line", "printf '{\"text\":\"alpha beta\",\"input\":\"alpha beta\",\"target\":\"x\"}\\n{\"text\":\"gam'"),
        ("30 MB line", "python3 -c \"print('{\\\"text\\\":\\\"' + 'word ' * 6000000 + '\\\",\\\"input\\\":\\\"w\\\",\\\"target\\\":\\\"x\\\"}')\""),
        ("wrong types", "printf '{\"text\":5,\"input\":null,\"target\":{}}\\n{\"text\":null}\\n{\"text\":{\"a\":1}}\\n'"),
        ("not objects", "printf '{}\\n[1,2]\\n\"s\"\\n3\\nnull\\n'"),
        ("invalid UTF-8", "printf '{\"text\":\"\\303\\050\"}\\n'"),
        ("text bomb", "head -c 100000000 /dev/zero | tr '\\000' a | gzip -1"),
        ("empty", "true"),
    ]

    static let tools: [(String, String)] = [
        ("fx-pair", "fx-pair"),
        ("fx-mask", "fx-mask --joint"),
        ("fx-mask per word", "fx-mask"),
        ("fx-train", "fx-train -o model.fxm --epochs 1 -q"),
        ("fx-eval", "fx-eval -m base.fxm"),
        ("fx-cluster", "fx-cluster -k 2 -q"),
    ]

    @Test("every tool on every hostile input", arguments: tools)
    func hostile(tool: (String, String)) throws {
        let s = try Scratch()
        defer { s.remove() }
        let made = try shell("""
            printf '{"input":"alpha beta","target":"x"}\\n{"input":"gamma delta","target":"y"}\\n' | fx-train -o base.fxm -q
            \(Self.inputs.enumerated().map { "(\($0.element.1)) > in\($0.offset)" }.joined(separator: "\n"))
            """, in: s.url)
        #expect(made.status == 0, "\(made.stderr)")
        for (n, input) in Self.inputs.enumerated() {
            let r = try shell("""
                timeout 120 \(tool.1) < in\(n) > /dev/null 2> err; echo $?; cat err
                ls -A | grep -v -e '^in[0-9]*$' -e '^err$' -e '^base.fxm$' -e '^model.fxm$' | tr '\\n' ' '
                """, in: s.url)
            let status = Int(r.lines.first ?? "") ?? -1
            let messages = r.lines.dropFirst().filter { !$0.hasSuffix(" ") && !$0.isEmpty }
            #expect([0, 1, 64, 74].contains(status), "\(tool.0) on \(input.0): status \(status)")
            if status != 0 { #expect(!messages.isEmpty, "\(tool.0) on \(input.0): no message") }
            let name = String(tool.1.prefix { $0 != " " })
            for line in messages { #expect(line.hasPrefix(name + ": "), "\(tool.0) on \(input.0): \(line.prefix(200))") }
            #expect(!r.stdout.contains(".model.fxm."), "\(tool.0) on \(input.0) left a temporary file")
        }
    }

    @Test("the streaming tools' peak memory does not grow with the input: 10 MB against 100 MB")
    func boundedMemory() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            zcat \(repoRoot.path)/examples/corpus.jsonl.gz > one.jsonl
            for i in 1 2; do cat one.jsonl; done > small.jsonl
            for i in $(seq 20); do cat one.jsonl; done > large.jsonl
            fx-train one.jsonl --input-field text --target-field label --epochs 1 -o m.fxm -q
            fx-cluster -k 8 one.jsonl --save c.fxc -q > /dev/null
            for tool in "fx-pair --input-field text --target-field label" "fx-mask" "fx-eval -m m.fxm --predict --input-field text" "fx-cluster --load c.fxc"; do
                for f in small large; do /usr/bin/time -f %M -o rss $tool -q $f.jsonl > /dev/null; printf '%s ' "$(tail -1 rss)"; done
                echo "$tool"
            done
            """, in: s.url)
        #expect(r.lines.count == 4, "\(r.stderr)")
        for line in r.lines {
            let kb = line.split(separator: " ").prefix(2).compactMap { Int($0) }
            #expect(kb.count == 2 && kb[1] < kb[0] + 16_384, "peak RSS in KB, 10 MB then 100 MB: \(line)")
        }
    }

    @Test("a missing file, or a directory where a file is expected, is an I/O error naming it, before any work")
    func missingAndDirectories() throws {
        let s = try Scratch()
        defer { s.remove() }
        let d = "\(repoRoot.path)/examples/descriptions.jsonl"
        let pairs = "\(d) --input-field text --target-field label"
        let cases: [(String, Int32, String)] = [
            ("fx-pair nope.jsonl", 74, "fx-pair: nope.jsonl: No such file or directory"),
            ("fx-mask nope.jsonl", 74, "fx-mask: nope.jsonl: No such file or directory"),
            ("fx-train nope.jsonl -o m.fxm", 74, "fx-train: nope.jsonl: No such file or directory"),
            ("fx-eval -m nope.fxm \(d)", 74, "fx-eval: nope.fxm: No such file or directory"),
            ("fx-cluster -k 2 nope.jsonl", 74, "fx-cluster: nope.jsonl: No such file or directory"),
            ("fx-eval -m dir \(d)", 74, "fx-eval: dir: no config.json: fx reads Hugging Face BERT-family folders"),
            ("fx-mask --vocab dir \(d)", 74, "fx-mask: dir: is a directory"),
            ("fx-train \(pairs) --base dir -o m.fxm", 74, "fx-train: dir: no config.json"),
            ("fx-train \(pairs) --base-vectors dir -o m.fxm", 74, "fx-train: dir: is a directory"),
            ("fx-train \(pairs) -o dir", 74, "fx-train: dir: is a directory"),
            ("fx-train \(pairs) -o nodir/m.fxm", 74, "fx-train: nodir/m.fxm: cannot write in nodir"),
            ("fx-train \(pairs) -o m.fxm --export-vectors dir", 74, "fx-train: dir: is a directory"),
            ("fx-train \(pairs) -o m.fxm --valid dir", 1, "fx-train: dir: no pairs to validate on"),
            ("fx-cluster --load dir \(d)", 74, "fx-cluster: dir: is a directory"),
            ("fx-cluster -k 2 --embed dir \(d)", 74, "fx-cluster: dir: no config.json"),
            ("fx-cluster -k 2 --stop-words dir \(d)", 74, "fx-cluster: dir: is a directory"),
            ("fx-cluster -k 2 \(d) --save dir", 74, "fx-cluster: dir: is a directory"),
            ("fx-cluster -k 2 \(d) --summary nodir/s.jsonl", 74, "fx-cluster: nodir/s.jsonl: cannot write in nodir"),
        ]
        try FileManager.default.createDirectory(atPath: s.path("dir"), withIntermediateDirectories: false)
        for (command, status, message) in cases {
            let r = try shell("\(command) > out", in: s.url)
            #expect(r.status == status && r.stderr.hasPrefix(message), "\(command): \(r.status) \(r.stderr)")
            // Before any work: nothing written, no summary line.
            #expect(try Data(contentsOf: s.url.appendingPathComponent("out")).isEmpty, "\(command) wrote records")
        }
        #expect(!FileManager.default.fileExists(atPath: s.path("m.fxm")))
    }

    @Test("a full disk is an I/O error, for records and for models; /dev/full stays a device")
    func diskFull() throws {
        let pair = try shell("fx-pair --input-field text --target-field label \(repoRoot.path)/examples/descriptions.jsonl > /dev/full; echo $?")
        #expect(pair.stdout == "74\n" && pair.stderr.contains("No space left on device"))
        let model = try shell("fx-pair \(repoRoot.path)/examples/debian-sections.tar.gz | fx-train -o /dev/full -q; echo $?; test -c /dev/full && echo device")
        #expect(model.stdout == "74\ndevice\n" && model.stderr.contains("fx-train: /dev/full: write failed"))
        let dir = try shell("fx-pair \(repoRoot.path)/examples/debian-sections.tar.gz | fx-train -o /tmp -q; echo $?; fx-eval -m /tmp < /dev/null; echo $?")
        #expect(dir.lines == ["74", "74"])
    }

    @Test("SIGTERM while writing the model leaves the old one or a complete new one, and no temporary file")
    func termDuringWrite() throws {
        let s = try Scratch()
        defer { s.remove() }
        // Training is short and the model large (many buckets), so the signal often lands while it is written.
        let r = try shell("""
            fx-pair \(repoRoot.path)/examples/debian-sections.tar.gz > p.jsonl
            for delay in 0.3 0.6 0.9 1.2; do
                echo old > m.fxm
                fx-train p.jsonl -o m.fxm --buckets 4000000 --epochs 1 -q & pid=$!
                sleep $delay; kill -TERM $pid 2>/dev/null; wait $pid
                if [ "$(head -c 3 m.fxm)" = old ]; then echo kept; else fx-eval -m m.fxm p.jsonl > /dev/null && echo complete; fi
            done
            ls -A | tr '\\n' ' '
            """, in: s.url)
        #expect(r.lines.dropLast().allSatisfy { $0 == "kept" || $0 == "complete" }, "\(r.stdout)")
        #expect(r.lines.last == "m.fxm p.jsonl ")
        // The same for fx-cluster --save, and SIGINT (Ctrl-C) as well as SIGTERM.
        let c = try shell("""
            zcat \(repoRoot.path)/examples/corpus.jsonl.gz > docs.jsonl
            for delay in 0.2 0.5 0.8 1.1 1.4; do for signal in INT TERM; do
                echo old > c.fxc
                fx-cluster -k 20 docs.jsonl --save c.fxc -q > /dev/null & pid=$!
                sleep $delay; kill -$signal $pid 2>/dev/null; wait $pid
                if [ "$(head -c 3 c.fxc)" = old ]; then echo kept; else fx-cluster --load c.fxc docs.jsonl -q | wc -l; fi
            done; done
            ls -A | tr '\\n' ' '
            """, in: s.url)
        #expect(c.lines.dropLast().allSatisfy { $0 == "kept" || $0 == "10000" }, "\(c.stdout)")
        #expect(c.lines.last == "c.fxc docs.jsonl m.fxm p.jsonl ")
    }
}
