/// Line-aligned parallel text: `desc.en` / `desc.fr`, `europarl.fr-en.en` / `europarl.fr-en.fr`,
/// or the same file name under folders `en/` and `fr/`. Line N of one side pairs with line N of the other.
public struct ParallelText {
    public let source: String
    public let target: String

    private struct Side { var path: String; var text: String }
    private var keys: [String] = []
    private var sides: [String: (source: Side?, target: Side?)] = [:]

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    /// Files one or both sides: which side, and the key shared with its counterpart, come from the path.
    public mutating func add(_ document: Document) throws {
        guard let (key, isSource) = side(of: document.path) else {
            throw FXError.data("'\(document.path)' is neither .\(source) nor .\(target), nor under a folder named \(source)/ or \(target)/")
        }
        if sides[key] == nil { keys.append(key); sides[key] = (nil, nil) }
        let side = Side(path: document.path, text: document.text)
        if isSource { sides[key]!.source = side } else { sides[key]!.target = side }
    }

    private func side(of path: String) -> (String, Bool)? {
        for (language, isSource) in [(source, true), (target, false)] where path.hasSuffix("." + language) {
            return (String(path.dropLast(language.count + 1)), isSource)
        }
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for k in parts.indices.dropLast().reversed() {
            if parts[k] == source || parts[k] == target {
                let isSource = parts[k] == source
                parts[k] = "*"
                return (parts.joined(separator: "/"), isSource)
            }
        }
        return nil
    }

    /// Calls `body` with each aligned pair, in the order the files came; a line blank on either side is passed over.
    /// A file without its counterpart, or two sides of different lengths, is a data error naming both.
    public func forEachPair(policy: ErrorPolicy, _ body: (Record, String) throws -> Void) throws {
        for key in keys {
            let entry = sides[key]!
            guard let s = entry.source, let t = entry.target else {
                let have = (entry.source ?? entry.target)!
                try policy.handle(.data("no .\(entry.source == nil ? source : target) counterpart", at: have.path))
                continue
            }
            let sourceLines = Self.lines(s.text), targetLines = Self.lines(t.text)
            guard sourceLines.count == targetLines.count else {
                try policy.handle(.data("\(s.path) has \(sourceLines.count) lines but \(t.path) has \(targetLines.count)"))
                continue
            }
            for (n, (a, b)) in zip(sourceLines, targetLines).enumerated() {
                if a.allSatisfy(\.isWhitespace) || b.allSatisfy(\.isWhitespace) { continue }
                try body(Record([
                    JSONMember("input", .string(String(a))),
                    JSONMember("target", .string(String(b))),
                    JSONMember("path", .string(s.path)),
                    JSONMember("line", JSONValue(n + 1)),
                ]), "\(s.path):\(n + 1)")
            }
        }
    }

    private static func lines(_ text: String) -> [Substring] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
    }
}
