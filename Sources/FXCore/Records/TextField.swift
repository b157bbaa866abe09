/// The field a tool reads a record's text from: `name`, or `fallback` for a record without it. Pairs hold their
/// text in `input` and documents in `text`; fx-eval and fx-cluster read either when the user named no field, so a
/// new user's first command works on both.
public struct TextField: Sendable {
    public var name: String
    public var fallback: String?

    public init(_ name: String, fallback: String? = nil) {
        self.name = name
        self.fallback = fallback
    }

    public func index(in record: Record) -> Int? {
        record.index(of: name) ?? fallback.flatMap { record.index(of: $0) }
    }

    /// The record's text; a data error when the field is missing or not a string.
    public func string(_ record: Record, purpose: String = "") throws -> String {
        let i = try require(record, purpose: purpose)
        guard let s = record.string(at: i) else { throw FXError.data("field '\(record.key(at: i))' is \(record.value(at: i).typeName), not a string") }
        return s
    }

    /// The index of the record's text field; a data error when there is none.
    public func require(_ record: Record, purpose: String = "") throws -> Int {
        guard let i = index(in: record) else {
            throw FXError.data("no field '\(name)'\(fallback.map { " (nor '\($0)')" } ?? "")\(purpose)")
        }
        return i
    }
}
