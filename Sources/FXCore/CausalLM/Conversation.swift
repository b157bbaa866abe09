/// What a causal language model reads from a record: a conversation to answer (and the reply expected, when the
/// record has one), or a document to score by its perplexity.
public enum CausalExample: Sendable {
    case chat(messages: [ChatMessage], target: String?)
    case document(String)
}

/// What a causal language model learns from a record: a conversation whose assistant turns it learns to write,
/// or a document it learns to continue (every token).
public enum CausalTrainingExample: Sendable {
    case chat([ChatMessage])
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
        if let messages = try messages(record) {
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

    /// A record as training data: the whole conversation, whose assistant turns are learned, or a document.
    /// A conversation without an assistant turn to learn from, or with an empty one, is a data error.
    public func readForTraining(_ record: Record) throws -> CausalTrainingExample {
        var messages: [ChatMessage]
        switch try read(record) {
        case .document(let text):
            guard !text.isEmpty else { throw FXError.data("an empty document") }
            return .document(text)
        case .chat(let prompt, let target):
            if let all = try self.messages(record) {
                // Every turn up to the last assistant turn, the earlier assistant turns included.
                messages = withSystem(Array(all[...(all.lastIndex { $0.role == "assistant" } ?? 0)]))
            } else {
                messages = prompt + (target.map { [ChatMessage(role: "assistant", content: $0)] } ?? [])
            }
        }
        guard let firstUser = messages.firstIndex(where: { $0.role == "user" }),
              messages[firstUser...].contains(where: { $0.role == "assistant" }) else {
            throw FXError.data("no reply to learn from: an assistant turn after a user turn, 'completion', 'output' or '\(targetField)'")
        }
        if messages.contains(where: { $0.role == "assistant" && $0.content.isEmpty }) {
            throw FXError.data("an empty reply to learn from (an assistant turn, 'completion', 'output' or '\(targetField)')")
        }
        return .chat(messages)
    }

    /// The record's `messages`, nil when it has none; a data error when they are not role and content strings.
    private func messages(_ record: Record) throws -> [ChatMessage]? {
        guard let i = record.index(of: "messages") else { return nil }
        guard case .array(let items) = record.value(at: i) else { throw FXError.data("field 'messages' is \(record.value(at: i).typeName), not an array") }
        var messages: [ChatMessage] = []
        for (n, item) in items.enumerated() {
            guard case .object(let members) = item,
                  let role = members.first(where: { $0.key == "role" })?.value.stringValue,
                  let content = members.first(where: { $0.key == "content" })?.value.stringValue
            else { throw FXError.data("messages[\(n)] is not an object with a string 'role' and 'content'") }
            messages.append(ChatMessage(role: role, content: content))
        }
        return messages
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
