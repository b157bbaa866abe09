import Foundation
@testable import FXCore
import Testing

/// Chat templates rendered as transformers renders them: real models' templates (Tests/Fixtures/chat-templates/*.jinja)
/// over conversations with and without a system message, one and several turns, quotes, line breaks, Unicode and
/// spaces, with tools and tool calls, and small snippets exercising the interpreter itself; the expected bytes (or the
/// error transformers raises) were written by Tests/Fixtures/chat-templates/make_expected.py with transformers'
/// `apply_chat_template`.
@Suite struct ChatTemplateTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let directory = root.appendingPathComponent("Tests/Fixtures/chat-templates")

    static let fixtures: JSONValue = {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("cases.json")),
              let value = try? JSONValue(parsing: String(decoding: data, as: UTF8.self))
        else { return .null }
        return value
    }()

    static func source(_ file: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)) ?? ""
    }

    /// Strings equal byte for byte (Swift's `==` would equate canonically equivalent Unicode).
    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// The text transformers' exception carried, after its Python type (`TemplateError: message`).
    static func message(_ error: String) -> String {
        guard let colon = error.range(of: ": ") else { return error }
        return String(error[colon.upperBound...])
    }

    struct TemplateCase: CustomTestStringConvertible, Sendable {
        var file: String
        var name: String
        var messages: [ChatMessage]
        var addGenerationPrompt: Bool
        var bos: String
        var eos: String
        var extra: [String: String]
        var expected: String?
        var error: String?
        var testDescription: String { "\(file): \(name)\(addGenerationPrompt ? " + generation prompt" : "")" }
    }

    static let templateCases: [TemplateCase] = {
        guard case .array(let templates)? = fixtures["templates"] else { return [] }
        var cases: [TemplateCase] = []
        for t in templates {
            guard case .array(let list)? = t["cases"], case .object(let extraMembers)? = t["extra"] else { continue }
            var extra: [String: String] = [:]
            for m in extraMembers { extra[m.key] = m.value.stringValue }
            for c in list {
                guard case .array(let messages)? = c["messages"] else { continue }
                cases.append(TemplateCase(
                    file: t["file"]?.stringValue ?? "", name: c["name"]?.stringValue ?? "",
                    messages: messages.map { ChatMessage(role: $0["role"]?.stringValue ?? "", content: $0["content"]?.stringValue ?? "") },
                    addGenerationPrompt: c["add_generation_prompt"] == .bool(true),
                    bos: t["bos_token"]?.stringValue ?? "", eos: t["eos_token"]?.stringValue ?? "", extra: extra,
                    expected: c["expected"]?.stringValue, error: c["error"]?.stringValue))
            }
        }
        return cases
    }()

    struct ToolCase: CustomTestStringConvertible, Sendable {
        var file: String
        var name: String
        var context: [String: JSONValue]
        var expected: String?
        var error: String?
        var testDescription: String { "\(file): \(name)\(context["add_generation_prompt"] == .bool(true) ? " + generation prompt" : "")" }
    }

    static let toolCases: [ToolCase] = {
        guard case .array(let cases)? = fixtures["tool_cases"] else { return [] }
        return cases.map { c in
            var context: [String: JSONValue] = [:]
            if case .object(let members)? = c["context"] { for m in members { context[m.key] = m.value } }
            return ToolCase(file: c["file"]?.stringValue ?? "", name: c["name"]?.stringValue ?? "", context: context,
                            expected: c["expected"]?.stringValue, error: c["error"]?.stringValue)
        }
    }()

    @Test("tools and tool calls render as apply_chat_template(messages, tools=...) does", arguments: toolCases)
    func toolUse(_ c: ToolCase) throws {
        let template = try ChatTemplate(Self.source(c.file))
        if let expected = c.expected {
            let got = try template.render(context: c.context)
            #expect(Self.same(got, expected), "got \(got.debugDescription)\nwant \(expected.debugDescription)")
        } else {
            let error = try #require(throws: FXError.self) { try template.render(context: c.context) }
            #expect(error.reason == Self.message(c.error ?? ""), "\(error.reason)")
        }
    }

    struct SnippetCase: CustomTestStringConvertible, Sendable {
        var name: String
        var template: String
        var context: [String: JSONValue]
        var expected: String?
        var error: String?
        var testDescription: String { name }
    }

    static let snippetCases: [SnippetCase] = {
        guard case .array(let snippets)? = fixtures["snippets"] else { return [] }
        return snippets.map { s in
            var context: [String: JSONValue] = [:]
            if case .object(let members)? = s["context"] { for m in members { context[m.key] = m.value } }
            return SnippetCase(name: s["name"]?.stringValue ?? "", template: s["template"]?.stringValue ?? "", context: context,
                               expected: s["expected"]?.stringValue, error: s["error"]?.stringValue)
        }
    }()

    @Test("the fixtures are all there: seven templates, ten conversations each, twice")
    func fixturesPresent() {
        #expect(Self.templateCases.count == 7 * 10 * 2)
        #expect(Self.snippetCases.count >= 80)
        #expect(Self.toolCases.count == 12)
        #expect(Set(Self.templateCases.map(\.file)).allSatisfy { !Self.source($0).isEmpty })
    }

    @Test("models' templates render byte for byte as transformers' apply_chat_template", arguments: templateCases)
    func template(_ c: TemplateCase) throws {
        let template = try ChatTemplate(Self.source(c.file))
        let render = { try template.render(c.messages, addGenerationPrompt: c.addGenerationPrompt, bosToken: c.bos, eosToken: c.eos, extra: c.extra) }
        if let expected = c.expected {
            let got = try render()
            #expect(Self.same(got, expected), "got \(got.debugDescription)\nwant \(expected.debugDescription)")
        } else {
            let error = try #require(throws: FXError.self) { try render() }
            #expect(error.kind == .data)
            #expect(error.reason == Self.message(c.error ?? ""), "\(error.reason)")
        }
    }

    @Test("the interpreter renders snippets as jinja2 does in transformers' environment", arguments: snippetCases)
    func snippet(_ c: SnippetCase) throws {
        if let expected = c.expected {
            let got = try ChatTemplate(c.template).render(context: c.context)
            #expect(Self.same(got, expected), "got \(got.debugDescription)\nwant \(expected.debugDescription)")
        } else {
            let error = try #require(throws: FXError.self) { try ChatTemplate(c.template).render(context: c.context) }
            #expect(error.kind == .data)
            #expect(error.reason.hasPrefix("chat template: ") || error.reason == Self.message(c.error ?? ""), "\(error.reason)")
        }
    }

    @Test("errors name the construct and its line")
    func errorMessages() throws {
        func reason(_ source: String, render: Bool = false) -> String {
            do {
                let t = try ChatTemplate(source)
                if render { _ = try t.render(context: [:]) }
                return "no error"
            } catch let e as FXError {
                return e.reason
            } catch {
                return "\(error)"
            }
        }
        #expect(reason("line 1\nline 2\n{{ 'x' | xyz }}") == "chat template: unsupported filter 'xyz' at line 3")
        #expect(reason("{% if x is frobbed %}{% endif %}") == "chat template: unsupported test 'frobbed' at line 1")
        #expect(reason("a\n{% for m in messages %}\nno end") == "chat template: unclosed 'for' (expected 'else' or 'endfor') at line 2")
        #expect(reason("{{ 'never closed'\n\n") == "chat template: unclosed '{{' tag (missing '}}') at line 1")
        #expect(reason("{# open comment") == "chat template: missing end of comment tag at line 1")
        #expect(reason("{% include 'x' %}") == "chat template: unsupported tag 'include' at line 1")
        #expect(reason("{% endfor %}") == "chat template: unexpected 'endfor' at line 1")
        #expect(reason("{{ a b }}") == "chat template: expected '}}', got 'b' at line 1")
        #expect(reason("{{ (1 }}") == "chat template: unexpected '}', expected ')' at line 1")
        #expect(reason("{{ 1 ] }}") == "chat template: unexpected ']' at line 1")
        #expect(reason("\n{{ raise_exception('Roles must alternate') }}", render: true) == "Roles must alternate")
        #expect(reason("\n\n{{ x.y }}", render: true) == "chat template: 'x' is undefined at line 3")
        #expect(reason("{{ [] | first | trim }}{{ ([] | first).x }}", render: true) == "chat template: No first item, sequence was empty. at line 1")
    }

    @Test("Gemma refuses a system message with its own words; an empty conversation is refused")
    func refusals() throws {
        let gemma = try ChatTemplate(Self.source("google-gemma-2-2b-it.jinja"))
        let error = try #require(throws: FXError.self) {
            try gemma.render([ChatMessage(role: "system", content: "s"), ChatMessage(role: "user", content: "u")], addGenerationPrompt: true)
        }
        #expect(error.reason == "System role not supported")
        #expect(error.status == .dataError)
        #expect(throws: FXError.self) { try gemma.render([], addGenerationPrompt: true) }
    }

    @Test("Llama 3.2 dates its system header with strftime_now when no date_string is given")
    func strftimeNow() throws {
        let llama = try ChatTemplate(Self.source("meta-llama-Llama-3.2-3B-Instruct.jinja"))
        let got = try llama.render([ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>")
        let today = Jinja.Builtins.strftimeNow("%d %b %Y")
        #expect(today.count == 11)
        #expect(got.contains("Today Date: \(today)\n\n"))
        let fixed = try llama.render([ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true, extra: ["date_string": "1 Jan 2000"])
        #expect(fixed.contains("Today Date: 1 Jan 2000\n\n"))
    }

    @Test("render(context:) passes JSON values through: tool calls, tools as lists and mappings")
    func jsonContext() throws {
        let qwen = try ChatTemplate(Self.source("Qwen-Qwen2.5-7B-Instruct.jinja"))
        let context = try JSONValue(parsing: """
            {"messages": [{"role": "user", "content": "Weather?"},
                          {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get", "arguments": {"city": "Zürich", "days": 2}}}]},
                          {"role": "tool", "content": "sunny"}],
             "tools": [{"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}}],
             "add_generation_prompt": true}
            """)
        guard case .object(let members) = context else { Issue.record("not an object"); return }
        var variables: [String: JSONValue] = [:]
        for m in members { variables[m.key] = m.value }
        let got = try qwen.render(context: variables)
        #expect(got.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get\", \"parameters\": {\"type\": \"object\"}}}\n</tools>"))
        #expect(got.contains("<tool_call>\n{\"name\": \"get\", \"arguments\": {\"city\": \"Zürich\", \"days\": 2}}\n</tool_call><|im_end|>"))
        #expect(got.hasSuffix("<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n"))
    }

    @Test("no input crashes it: deep nesting, runaway recursion and loops, huge strings end in errors")
    func limits() throws {
        #expect(throws: FXError.self) { try ChatTemplate("{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}") }
        #expect(throws: FXError.self) { try ChatTemplate(String(repeating: "{% if true %}", count: 5000)) }
        #expect(throws: FXError.self) { try ChatTemplate("{{ " + String(repeating: "not ", count: 5000) + "x }}") }
        #expect(throws: FXError.self) { try ChatTemplate("{{ " + String(repeating: "-", count: 5000) + "1 }}") }
        #expect(throws: FXError.self) { try ChatTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").render(context: [:]) }
        #expect(throws: FXError.self) { try ChatTemplate("{{ 'x' * 100000000 }}").render(context: [:]) }
        #expect(throws: FXError.self) { try ChatTemplate("{{ 9223372036854775807 + 1 }}").render(context: [:]) }
        #expect(throws: FXError.self) { try ChatTemplate("{{ 99999999999999999999 }}") }
        #expect(throws: FXError.self) { try ChatTemplate("{% set ns = namespace(a=1) %}{% set ns.b = ns %}{{ ns | tojson }}").render(context: [:]) }
        #expect(throws: FXError.self) { try ChatTemplate("{{ 1" + String(repeating: " + 1", count: 20_000) + " }}") }
        #expect(throws: FXError.self) { try ChatTemplate("{{ x" + String(repeating: " | trim", count: 20_000) + " }}") }
        let long = "{{ 1" + String(repeating: " + 1", count: 190) + " }}"
        #expect(try ChatTemplate(long).render(context: [:]) == "191")
        #expect(throws: FXError.self) {
            try ChatTemplate("{% macro f(k) %}{% if k > 0 %}{{ f(k - 1) }}\(long){% endif %}{% endmacro %}{{ f(60) }}").render(context: [:])
        }
        // Values kept across iterations or calls may not nest without bound.
        #expect(throws: FXError.self) {
            try ChatTemplate("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}").render(context: [:])
        }
        #expect(throws: FXError.self) {
            try ChatTemplate("{% set ns = namespace(p=none) %}{% for i in range(100000) %}{% set ns.p = namespace(p=ns.p) %}{% endfor %}").render(context: [:])
        }
        #expect(throws: FXError.self) {
            try ChatTemplate("{% for i in range(100) %}{{ x }}{% endfor %}").render(context: ["x": .string(String(repeating: "x", count: 1 << 20))])
        }
        let looping = try Jinja.Template("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}")
        #expect(throws: Jinja.Failure.self) { try looping.render([:], maxSteps: 10000) }
    }

    @Test("random fragments of templates parse and render or fail cleanly", arguments: 0..<4)
    func fuzz(_ seed: Int) {
        let pieces = ["{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " ", "\n", "if", "for", "x", "in", "xs", "endif", "endfor",
                      "else", "set", "=", "(", ")", "[", "]", "{", "}", "'", "\"", "|", "trim", "is", "defined", "not", "~", "*",
                      "1", ".", ":", ",", "loop", "ns", "namespace", "raw", "endraw", "macro", "endmacro", "\\", "é", "\u{0}"]
        var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var rendered = 0
        for _ in 0..<3000 {
            let source = (0..<(1 + next(24))).map { _ in pieces[next(pieces.count)] }.joined()
            guard let template = try? ChatTemplate(source) else { continue }
            if (try? template.render(context: ["xs": .array([.string("a"), JSONValue(2)])])) != nil { rendered += 1 }
        }
        #expect(rendered > 0)
    }

    @Test("a long conversation renders quickly")
    func longConversation() throws {
        let llama = try ChatTemplate(Self.source("meta-llama-Llama-3.3-70B-Instruct.jinja"))
        let messages = (0..<400).map { ChatMessage(role: $0 % 2 == 0 ? "user" : "assistant", content: "message \($0) " + String(repeating: "text ", count: 50)) }
        let start = Date()
        let got = try llama.render(messages, addGenerationPrompt: true, bosToken: "<|begin_of_text|>", extra: ["date_string": "26 Jul 2024"])
        #expect(got.components(separatedBy: "<|eot_id|>").count == 402)
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
