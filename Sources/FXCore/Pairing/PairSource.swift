/// Turns what the inputs hold into pair records: `{"input", "target", ...}`.
public struct PairSource {
    /// Which column of a table, by header name or by number from 1.
    public enum Column: Equatable, Sendable {
        case name(String)
        case number(Int)

        public init(_ text: String) {
            if let n = Int(text), n > 0 { self = .number(n) } else { self = .name(text) }
        }
    }

    public var inputField = "input"
    public var targetField = "target"
    /// Which folder names the label: nil for the one that directly holds the file, N for the N-th from the top.
    public var labelDepth: Int?
    public var inputColumn: Column?
    public var targetColumn: Column?
    public var tableHeader = true

    public init() {}

    /// A JSON Lines record: `inputField` and `targetField` renamed to `input` and `target`, other fields as they were.
    public func pair(fromRecord record: Record) throws -> Record {
        var record = record
        guard let i = record.index(of: inputField) else { throw FXError.data("no field '\(inputField)'") }
        guard record.valueTag(at: i) == 0x22 else {
            throw FXError.data("field '\(inputField)' is \(record.value(at: i).typeName), not a string")
        }
        guard let t = record.index(of: targetField) else { throw FXError.data("no field '\(targetField)'") }
        try normaliseTarget(&record, at: t)
        if inputField != "input" { record.rename(at: i, to: "input") }
        if targetField != "target", let t = record.index(of: targetField) { record.rename(at: t, to: "target") }
        return record
    }

    /// A target must be a string or an array of strings (multi-label); a number or boolean becomes its text.
    private func normaliseTarget(_ record: inout Record, at t: Int) throws {
        let tag = record.valueTag(at: t)
        if tag == 0x22 { return }
        let value = record.value(at: t)
        switch value {
        case .number(let text): record.setRaw(record.key(at: t), JSONValue.string(text).encoded)
        case .bool(let b): record.setRaw(record.key(at: t), JSONValue.string(b ? "true" : "false").encoded)
        case .array(let items):
            for item in items where item.stringValue == nil {
                throw FXError.data("field '\(targetField)' holds \(item.typeName); a multi-label target is an array of strings")
            }
        default:
            throw FXError.data("field '\(targetField)' is \(value.typeName), not a string or an array of strings")
        }
    }

    /// A document whose folder is its label.
    public func pair(fromDocument document: Document) throws -> Record {
        let parts = document.path.split(separator: "/", omittingEmptySubsequences: true)
        let folders = parts.dropLast()
        guard !folders.isEmpty else {
            throw FXError.data("not in a folder, so it has no label (fx-pair takes the folder's name as the label)")
        }
        let label: Substring
        if let depth = labelDepth {
            guard depth <= folders.count else {
                throw FXError.data("only \(folders.count) folder\(folders.count == 1 ? "" : "s") above it, fewer than --label-depth \(depth)")
            }
            label = folders[folders.startIndex + depth - 1]
        } else {
            label = folders.last!
        }
        return Record([
            JSONMember("input", .string(document.text)),
            JSONMember("target", .string(String(label))),
            JSONMember("path", .string(document.path)),
        ])
    }

    /// The rows of a CSV or TSV document: input and target first, then every other column by its header name.
    /// A row with the wrong number of columns goes through `policy`.
    public func pairs(fromTable document: Document, delimiter: UInt8, place: String, policy: ErrorPolicy,
                      _ body: (Record, String) throws -> Void) throws {
        var rows: [Table.Row]
        do {
            rows = try Table(delimiter: delimiter).rows(document.text)
        } catch let error as FXError {
            throw FXError.data(error.reason, at: place)
        }
        guard !rows.isEmpty else { return }
        let header: [String]
        if tableHeader {
            header = rows.removeFirst().fields
        } else {
            header = (1...rows[0].fields.count).map { "column\($0)" }
        }
        let input = try columnIndex(inputColumn, header: header, fallbacks: ["input", "text"], number: 1, option: "--input-column", place: place)
        let target = try columnIndex(targetColumn, header: header, fallbacks: ["target", "label"], number: 2, option: "--target-column", place: place)
        for row in rows {
            let rowPlace = "\(place):\(row.line)"
            guard row.fields.count == header.count else {
                try policy.handle(.data("row has \(row.fields.count) columns, the header has \(header.count)", at: rowPlace))
                continue
            }
            var members = [JSONMember("input", .string(row.fields[input])), JSONMember("target", .string(row.fields[target]))]
            for (k, name) in header.enumerated() where k != input && k != target {
                members.append(JSONMember(name, .string(row.fields[k])))
            }
            try body(Record(members), rowPlace)
        }
    }

    private func columnIndex(_ column: Column?, header: [String], fallbacks: [String], number: Int,
                             option: String, place: String) throws -> Int {
        switch column {
        case .name(let name)?:
            guard let k = header.firstIndex(of: name) else {
                throw FXError.data("no column '\(name)' (\(option)); the header has \(header.joined(separator: ", "))", at: place)
            }
            return k
        case .number(let n)?:
            guard n <= header.count else { throw FXError.data("no column \(n) (\(option)); rows have \(header.count)", at: place) }
            return n - 1
        case nil:
            if let k = header.firstIndex(where: { fallbacks.contains($0) }) { return k }
            guard number <= header.count else { throw FXError.data("a table needs at least 2 columns", at: place) }
            return number - 1
        }
    }
}
