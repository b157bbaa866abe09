/// One message of a conversation as chat templates read it: `{"role": ..., "content": ...}`.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A model's own chat template (the Jinja2 text in GGUF's `tokenizer.chat_template`, or in Hugging Face's
/// `tokenizer_config.json`), rendered byte for byte as transformers'
/// `tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...)` renders it.
///
/// The template is parsed once, by `Jinja` (a small interpreter of the Jinja subset templates use, see
/// `Jinja.swift`); an unsupported filter, test or tag is an error here, naming it and its line, never a wrong
/// rendering later.
public struct ChatTemplate: Sendable {
    /// The template's text as given.
    public let source: String
    private let template: Jinja.Template

    /// Parses `source`; a syntax error or an unsupported construct is `FXError.data`, e.g.
    /// "chat template: unsupported filter 'xyz' at line 3".
    public init(_ source: String) throws {
        self.source = source
        do {
            template = try Jinja.Template(source)
        } catch let failure as Jinja.Failure {
            throw failure.fxError
        }
    }

    /// The conversation as the model reads it. `bosToken` and `eosToken` are the text of the model's special
    /// tokens (the template's `bos_token`, `eos_token`); `extra` sets further variables (e.g. `date_string`,
    /// which Llama 3 templates print). As in transformers, `tools` and `documents` are `none`, and an empty
    /// conversation is an error. A template's own `raise_exception(message)` (Gemma refusing a system message,
    /// say) is `FXError.data(message)`; any other failure while rendering is `FXError.data` naming its line.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String = "", eosToken: String = "",
                       extra: [String: String] = [:]) throws -> String {
        guard !messages.isEmpty else { throw FXError.data("chat template: no messages to render") }
        var context: [String: JSONValue] = ["bos_token": .string(bosToken), "eos_token": .string(eosToken)]
        for (name, value) in extra { context[name] = .string(value) }
        context["messages"] = .array(messages.map {
            .object([JSONMember("role", .string($0.role)), JSONMember("content", .string($0.content))])
        })
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["tools"] = JSONValue.null
        context["documents"] = JSONValue.null
        return try render(context: context)
    }

    /// Renders with exactly `context` as the template's variables (JSON values as Python's `json.loads` gives
    /// them: whole numbers as ints), e.g. messages with `tool_calls`, or `tools`. Nothing is added but the globals
    /// (`range`, `namespace`, `dict`, `raise_exception`, `strftime_now`).
    public func render(context: [String: JSONValue]) throws -> String {
        var variables: [String: Jinja.Value] = [:]
        for (name, value) in context { variables[name] = Jinja.Value(json: value) }
        do {
            return try template.render(variables)
        } catch let failure as Jinja.Failure {
            throw failure.fxError
        } catch let raised as Jinja.Raised {
            throw FXError.data(raised.message)
        }
    }
}

extension Jinja.Value {
    /// A JSON value as Python's `json.loads` gives it to a template.
    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .number(let text):
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let i = Int(text) {
                self = .int(i)
            } else {
                self = .float(Double(text) ?? .nan)
            }
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map { Jinja.Value(json: $0) })
        case .object(let members):
            var d = Jinja.Dict()
            for m in members { d.set(m.key, Jinja.Value(json: m.value)) }
            self = .dict(d)
        }
    }
}
