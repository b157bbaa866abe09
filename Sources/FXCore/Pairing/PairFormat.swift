/// The shapes fx-pair writes pairs in, for fx-train and for other trainers.
public enum PairFormat: String, CaseIterable, Sendable {
    /// `{"input", "target", ...}`
    case fx
    /// OpenAI chat fine-tuning: `{"messages": [{"role": "system"?}, {"role": "user"}, {"role": "assistant"}]}`
    case openai
    /// `{"prompt", "completion"}`
    case promptCompletion = "prompt-completion"
    /// `{"instruction", "input", "output"}`
    case alpaca
    /// Hugging Face: `{"translation": {SOURCE: input, TARGET: target}}`
    case translation

    public struct Settings: Sendable {
        public var system: String?
        public var instruction: String?
        /// The input rewritten into this text, `{input}` standing for it (fx-pair --prompt).
        public var prompt: String?
        public var languages: (String, String) = ("en", "fr")
        public init() {}
    }

    /// Rewrites a pair record in this format. The format's fields come first; other fields (`split`, `id`, `path`...)
    /// pass through after them, as everywhere in fx.
    public func apply(to record: inout Record, _ settings: Settings) {
        if let prompt = settings.prompt, let i = record.index(of: "input"), let text = record.string(at: i) {
            record.set("input", .string(prompt.replacing("{input}", with: text)))
        }
        if self == .fx { return }
        guard let i = record.index(of: "input"), let t = record.index(of: "target") else { return }
        let input = record.value(at: i)
        let targetValue = record.value(at: t)
        let target: JSONValue
        if case .array(let labels) = targetValue {
            target = .string(labels.compactMap(\.stringValue).joined(separator: ", "))
        } else {
            target = targetValue
        }
        record.remove("input")
        record.remove("target")
        var front: [JSONMember]
        switch self {
        case .fx:
            front = []
        case .openai:
            var messages: [JSONValue] = []
            if let system = settings.system {
                messages.append(.object([JSONMember("role", .string("system")), JSONMember("content", .string(system))]))
            }
            messages.append(.object([JSONMember("role", .string("user")), JSONMember("content", input)]))
            messages.append(.object([JSONMember("role", .string("assistant")), JSONMember("content", target)]))
            front = [JSONMember("messages", .array(messages))]
        case .promptCompletion:
            front = [JSONMember("prompt", input), JSONMember("completion", target)]
        case .alpaca:
            front = [JSONMember("instruction", .string(settings.instruction ?? "")), JSONMember("input", input), JSONMember("output", target)]
        case .translation:
            front = [JSONMember("translation", .object([JSONMember(settings.languages.0, input), JSONMember(settings.languages.1, target)]))]
        }
        for member in front { record.remove(member.key) }
        for (k, member) in front.enumerated() {
            record.set(member.key, member.value)
            record.move(from: record.count - 1, to: k)
        }
    }
}

extension PairFormat {
    /// A prompt template as typed on a command line: `\n`, `\t` and `\\` stand for a newline, a tab and a
    /// backslash; it must hold `{input}`.
    public static func promptTemplate(_ typed: String) -> String? {
        guard typed.contains("{input}") else { return nil }
        var out = "", escaped = false
        for c in typed {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\\": out.append("\\")
                default: out.append("\\"); out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        if escaped { out.append("\\") }
        return out
    }
}
