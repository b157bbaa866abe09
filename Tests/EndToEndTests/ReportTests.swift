import Foundation
import Testing

/// fx-eval --report as a person sees it: each kind of report rendered by headless Chromium (Debian's `chromium`,
/// which `make test` installs when it is missing) at 1280x800.
@Suite("fx-eval --report", .serialized)
struct ReportTests {
    struct Rendered {
        var dom: String
        var log: String
        var colours: Int
        var inked: Double
        /// Elements of the loaded page whose start tag contains `marker` (e.g. `class="cell"`).
        func count(_ marker: String) -> Int { dom.components(separatedBy: marker).count - 1 }
    }

    static let chromium = ["chromium", "chromium-browser", "google-chrome"].first { name in
        (try? shell("command -v \(name)").status) == 0
    }

    /// The page's DOM after loading, Chromium's log, and the screenshot's colours and inked share.
    func render(_ html: String, png: String) throws -> Rendered {
        let browser = try #require(Self.chromium, "headless Chromium is needed: apt-get install chromium (make test does)")
        let flags = "--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --window-size=1280,800"
        let dom = try shell("\(browser) \(flags) --enable-logging=stderr --v=0 --dump-dom 'file://\(html)'")
        #expect(dom.status == 0, "\(dom.stderr)")
        let shot = try shell("\(browser) \(flags) --screenshot='\(png)' 'file://\(html)'")
        #expect(shot.status == 0, "\(shot.stderr)")
        let stats = try shell("python3 '\(repoRoot.path)/Tests/Fixtures/pngstats.py' '\(png)'")
        let fields = stats.stdout.split(separator: " ")
        #expect(fields.count == 4 && fields[0] == "1280" && fields[1] == "800", "\(stats.stdout)\(stats.stderr)")
        return Rendered(dom: dom.stdout, log: dom.stderr, colours: fields.count == 4 ? Int(fields[2]) ?? 0 : 0,
                        inked: fields.count == 4 ? Double(fields[3].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 : 0)
    }

    /// Loaded without errors, fetched nothing, and is not blank.
    func expectSound(_ page: Rendered, _ html: String) throws {
        let text = try String(contentsOfFile: html, encoding: .utf8)
        for external in ["<script", "src=", "href=", "url(", "@import", "<link"] {
            #expect(!text.contains(external), "the report refers to something outside it: \(external)")
        }
        #expect(text.hasPrefix("<!DOCTYPE html>"))
        let errors = page.log.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("net::ERR") }
        #expect(errors.isEmpty, "page errors: \(errors)")
        #expect(page.dom.contains("</svg>"))
        #expect(page.colours > 20, "a rendered report has colour; a blank page has one")
        #expect(page.inked > 0.03, "share of the screenshot that is not background: \(page.inked)")
    }

    @Test("a classification report: confusion cells, label bars, confusions, the learning curve")
    func classification() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let setup = try shell("""
            fx-pair examples/debian-sections.tar.gz --holdout 0.2 --seed 1 > '\(scratch.path("pairs.jsonl"))'
            grep '"split":"train"' '\(scratch.path("pairs.jsonl"))' > '\(scratch.path("train.jsonl"))'
            grep '"split":"test"' '\(scratch.path("pairs.jsonl"))' > '\(scratch.path("test.jsonl"))'
            fx-train '\(scratch.path("train.jsonl"))' --valid '\(scratch.path("test.jsonl"))' --epochs 12 --log '\(scratch.path("log.jsonl"))' -o '\(scratch.path("m.fxm"))' -q
            fx-eval -m '\(scratch.path("m.fxm"))' '\(scratch.path("test.jsonl"))' --report '\(scratch.path("r.html"))' --train-log '\(scratch.path("log.jsonl"))'
            """, in: repoRoot)
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(setup.stdout.contains("\"accuracy\":"), "the JSON report still goes to stdout")
        let log = try String(contentsOfFile: scratch.path("log.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(log.count == 12)
        #expect(log.allSatisfy { $0.contains("\"loss\":") && $0.contains("\"valid_accuracy\":") && $0.contains("\"examples_per_s\":") && $0.contains("\"elapsed\":") })
        let page = try render(scratch.path("r.html"), png: scratch.path("r.png"))
        try expectSound(page, scratch.path("r.html"))
        #expect(page.count("class=\"cell\"") == 36, "one cell per pair of the 6 labels")
        #expect(page.count("bar bar-f1") == 6 && page.count("bar bar-precision") == 6, "one bar per label")
        #expect(page.count("class=\"series\"") == 2, "the training loss and the validation accuracy")
        #expect(page.count("class=\"epoch-point\"") == 24, "a point per epoch on each curve")
        #expect(page.dom.contains("Most frequent confusions") && page.dom.contains("“"), "confusions with example inputs")
        for label in ["database", "games", "mail", "editors", "science", "sound"] { #expect(page.dom.contains(">\(label)<")) }
    }

    @Test("45 labels stay legible at 1280x800")
    func manyLabels() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // 45 labels, each with its own words, some sharing words with the next label so that they are confused.
        var lines: [String] = []
        for i in 0..<45 {
            for k in 0..<12 {
                let shared = k % 3 == 0 ? "word\((i + 1) % 45)a" : "word\(i)b"
                lines.append("{\"input\":\"word\(i)a \(shared) filler\(k)\",\"target\":\"section-number-\(i)\"}")
            }
        }
        let data = try scratch.write("pairs.jsonl", lines.joined(separator: "\n") + "\n")
        let r = try shell("fx-train '\(data)' -o '\(scratch.path("m.fxm"))' --epochs 5 -q && fx-eval -m '\(scratch.path("m.fxm"))' '\(data)' --report '\(scratch.path("r.html"))'")
        #expect(r.status == 0, "\(r.stderr)")
        let page = try render(scratch.path("r.html"), png: scratch.path("r.png"))
        try expectSound(page, scratch.path("r.html"))
        #expect(page.count("class=\"cell\"") == 45 * 45)
        #expect(page.count("bar bar-recall") == 45)
        let html = try String(contentsOfFile: scratch.path("r.html"), encoding: .utf8)
        // The heat map fits the window, and its labels are at least 9 px, whole up to 32 characters.
        let svg = try #require(html.range(of: "<svg class=\"heatmap\"[^>]*>", options: .regularExpression).map { String(html[$0]) })
        let width = try #require(svg.range(of: "width=\"[0-9.]+\"", options: .regularExpression).map { Double(svg[$0].dropFirst(7).dropLast())! })
        #expect(width <= 1240, "heat map \(width) px wide")
        let sizes = html.matches(of: try Regex(#"class="row-label"[^>]*font-size="([0-9.]+)""#)).compactMap { $0.output[1].substring.flatMap { Double($0) } }
        #expect(sizes.count == 45 && sizes.allSatisfy { $0 >= 9 })
        #expect(html.contains(">section-number-44<"))
    }

    @Test("a text-to-text report: BLEU, chrF, the length histogram, best and worst outputs")
    func text() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Outputs: the French synopses with every third word dropped from some of them.
        let r = try shell("""
            fx-pair --parallel en,fr examples/descriptions.en examples/descriptions.fr | head -300 | python3 -c '
            import json, sys
            for i, line in enumerate(sys.stdin):
                r = json.loads(line)
                words = r["target"].split()
                r["prediction"] = " ".join(w for k, w in enumerate(words) if i % 2 == 0 or k % 3 != 2)
                print(json.dumps(r, ensure_ascii=False))
            ' > '\(scratch.path("out.jsonl"))'
            fx-eval --text '\(scratch.path("out.jsonl"))' --report '\(scratch.path("t.html"))'
            """, in: repoRoot)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"bleu\":"))
        let page = try render(scratch.path("t.html"), png: scratch.path("t.png"))
        try expectSound(page, scratch.path("t.html"))
        #expect(page.count("class=\"bin\"") == 26)
        #expect(page.dom.contains("Best outputs") && page.dom.contains("Worst outputs"))
        #expect(page.dom.components(separatedBy: "<tr>").count - 1 == 12, "two tables: a header and five outputs each")
        #expect(page.dom.contains(">BLEU<") && page.dom.contains(">chrF<"))
    }

    @Test("a cluster report: sizes and topics, clusters against labels, one point per document")
    func clusters() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let r = try shell("""
            fx-cluster -k 6 examples/descriptions.jsonl --summary '\(scratch.path("s.jsonl"))' --seed 1 -q | \
            fx-eval --clusters --target-field label --report '\(scratch.path("c.html"))' --cluster-summary '\(scratch.path("s.jsonl"))'
            """, in: repoRoot)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"nmi\":"))
        let page = try render(scratch.path("c.html"), png: scratch.path("c.png"))
        try expectSound(page, scratch.path("c.html"))
        #expect(page.count("class=\"cell\"") == 36, "6 clusters x 6 labels")
        #expect(page.count("bar bar-size") == 6)
        #expect(page.count("class=\"point\"") == 720, "one point per document (720, under the cap of 2,000)")
        #expect(page.dom.contains("NMI") && page.dom.contains("purity"))
        // Without the summary: no map, and the page says how to get one.
        let plain = try shell("fx-cluster -k 6 examples/descriptions.jsonl --seed 1 -q | fx-eval --clusters --target-field label --report '\(scratch.path("p.html"))' >/dev/null && grep -c 'class=\"point\"' '\(scratch.path("p.html"))'", in: repoRoot)
        #expect(plain.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test("report errors: an unwritable path, a bad log, usage")
    func errors() throws {
        let r = try run("fx-eval", ["--clusters", "--report", "/nonexistent/dir/r.html"], stdin: "{\"cluster\":1,\"target\":\"a\"}\n")
        #expect(r.status == 74 && r.stderr.contains("/nonexistent/dir/r.html"))
        let scratch = try Scratch()
        defer { scratch.remove() }
        let bad = try scratch.write("log.jsonl", "{\"epoch\":1}\nnot json\n")
        let b = try run("fx-eval", ["--clusters", "--report", scratch.path("r.html"), "--train-log", bad], stdin: "{\"cluster\":1,\"target\":\"a\"}\n")
        #expect(b.status == 1 && b.stderr.contains("log.jsonl:2"), "\(b.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("r.html")), "no half-made report")
        #expect(try run("fx-eval", ["--predict", "--report", "x.html"]).status == 64)
        #expect(try run("fx-eval", ["--clusters", "--train-log", "x.jsonl"]).status == 64)
    }
}
