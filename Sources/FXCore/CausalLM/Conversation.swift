/// What a causal language model reads from a record: a conversation to answer (and the reply expected, when the
/// record has one), or a document to score by its perplexity.
public enum CausalExample: Sendable {
    case chat(messages: [ChatMessage], target: String?)
    case document(String)
}

/// Reads each record format that fx-pair writes as a conversation:
/// - `messages` (OpenAI chat): the turns up to the last user turn are the prompt; assistant turns after it are the
///   expected reply (joined by a blank line when several);
/// - `prompt` (+ `completion`): one user turn;
/// - `instruction` + `input` (+ `output`), Alpaca: one user turn, the instruction and the input a blank line apart;
/// - fx's `input` (+ `target`), or the field `--input-field` names: one user turn;
/// - a record with only `text` (or whatever field `--text-field` names) is a document.
/// `system`, when given, is put first in every conversation that has no system message of its own.
public struct ConversationReader: Sendable {
    public var inputField = "input"
    public var targetField = "target"
    public var textField = "text"
    public var system: String?

    public init() {}

    public func read(_ record: Record) throws -> CausalExample {
        if let i = record.index(of: "messages") {
            guard case .array(let items) = record.value(at: i) else { throw FXError.data("field 'messages' is \(record.value(at: i).typeName), not an array") }
            var messages: [ChatMessage] = []
            for (n, item) in items.enumerated() {
                guard case .object(let members) = item,
                      let role = members.first(where: { $0.key == "role" })?.value.stringValue,
                      let content = members.first(where: { $0.key == "content" })?.value.stringValue
                else { throw FXError.data("messages[\(n)] is not an object with a string 'role' and 'content'") }
                messages.append(ChatMessage(role: role, content: content))
            }
            guard let lastUser = messages.lastIndex(where: { $0.role == "user" }) else { throw FXError.data("no user message in 'messages'") }
            let replies = messages[(lastUser + 1)...].filter { $0.role == "assistant" }.map(\.content)
            return .chat(messages: withSystem(Array(messages[...lastUser])), target: replies.isEmpty ? nil : replies.joined(separator: "\n\n"))
        }
        if let prompt = try string(record, "prompt") {
            return .chat(messages: withSystem([ChatMessage(role: "user", content: prompt)]), target: try string(record, "completion"))
        }
        if let instruction = try string(record, "instruction") {
            let input = try string(record, "input") ?? ""
            let content = input.isEmpty ? instruction : instruction + "\n\n" + input
            return .chat(messages: withSystem([ChatMessage(role: "user", content: content)]), target: try string(record, "output"))
        }
        if let input = try string(record, inputField) {
            return .chat(messages: withSystem([ChatMessage(role: "user", content: input)]), target: try string(record, targetField))
        }
        if let text = try string(record, textField) { return .document(text) }
        throw FXError.data("no conversation: the record has none of 'messages', 'prompt', 'instruction', '\(inputField)' (a chat turn) or '\(textField)' (a document)")
    }

    private func withSystem(_ messages: [ChatMessage]) -> [ChatMessage] {
        guard let system, !messages.contains(where: { $0.role == "system" }) else { return messages }
        return [ChatMessage(role: "system", content: system)] + messages
    }

    /// A string field; nil when absent; a data error when it is there but not a string.
    private func string(_ record: Record, _ field: String) throws -> String? {
        guard let i = record.index(of: field) else { return nil }
        guard let s = record.string(at: i) else { throw FXError.data("field '\(field)' is \(record.value(at: i).typeName), not a string") }
        return s
    }
}
