import Foundation
import Testing

/// The examples in each tool's --help (and so in its man page) and the shipped demo run as written.
@Suite struct DocumentationTests {
    static let tools = ["fx-pair", "fx-mask", "fx-train", "fx-eval", "fx-cluster"]

    @Test("every example in --help runs and succeeds", arguments: tools)
    func helpExamples(tool: String) throws {
        let help = try shell("COLUMNS=1000 \(tool) --help").stdout
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(where: { $0.hasPrefix("Examples") }) else {
            Issue.record("no Examples section in \(tool) --help")
            return
        }
        let examples = lines[(start + 1)...].prefix { !$0.isEmpty }
        #expect(examples.count >= 3)
        for example in examples {
            let r = try shell(example + " > /dev/null", in: repoRoot)
            #expect(r.status == 0, "\(example): \(r.stderr)")
        }
    }

    @Test("examples/demo.sh runs on the shipped data (its LoRA step for 15 s instead of 60, its transformer for 8 s instead of 20)")
    func demo() throws {
        let reports = try Scratch()
        defer { reports.remove() }
        let r = try shell("FX_REPORTS='\(reports.url.path)' FX_DEMO_LORA_SECONDS=15 FX_DEMO_TRANSLATE_SECONDS=8 sh examples/demo.sh", in: repoRoot)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("pairs"))
        for name in ["sections.html", "en-fr.html", "clusters.html"] {
            #expect(r.stdout.contains(reports.path(name)), "the demo says where its reports are")
            let html = (try? String(contentsOfFile: reports.path(name), encoding: .utf8)) ?? ""
            #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg"), "\(name)")
        }
    }
}
