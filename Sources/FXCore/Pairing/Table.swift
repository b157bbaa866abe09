/// CSV and TSV with RFC 4180 quoting: a field that starts with `"` may hold the delimiter, newlines and `""`.
public struct Table {
    public struct Row {
        public var fields: [String]
        /// The line the row starts on, counting from 1.
        public var line: Int
    }

    public let delimiter: UInt8

    public init(delimiter: UInt8) { self.delimiter = delimiter }

    /// The delimiter a file's name implies: tab for `.tsv`/`.tab`, comma for `.csv`; nil for other names.
    public static func delimiter(forPath path: String) -> UInt8? {
        let lower = path.lowercased()
        if lower.hasSuffix(".tsv") || lower.hasSuffix(".tab") { return 0x09 }
        if lower.hasSuffix(".csv") { return UInt8(ascii: ",") }
        return nil
    }

    /// Every row of `text`; blank lines are skipped. A quote left open at the end is a data error.
    public func rows(_ text: String) throws -> [Row] {
        var rows: [Row] = []
        var text = text
        try text.withUTF8 { p in
            var i = 0
            var line = 1
            let n = p.count
            while i < n {
                let rowLine = line
                var fields: [String] = []
                var field: [UInt8] = []
                var rowDone = false
                while !rowDone {
                    field.removeAll(keepingCapacity: true)
                    if i < n && p[i] == 0x22 {
                        i += 1
                        var closed = false
                        while i < n {
                            let c = p[i]
                            if c == 0x22 {
                                if i + 1 < n && p[i + 1] == 0x22 { field.append(0x22); i += 2; continue }
                                i += 1
                                closed = true
                                break
                            }
                            if c == 0x0A { line += 1 }
                            field.append(c)
                            i += 1
                        }
                        if !closed { throw FXError.data("quoted field not closed (it opens on line \(rowLine))", at: "line \(rowLine)") }
                        // Anything between the closing quote and the delimiter is kept, as lenient readers do.
                        while i < n && p[i] != delimiter && p[i] != 0x0A && p[i] != 0x0D { field.append(p[i]); i += 1 }
                    } else {
                        while i < n && p[i] != delimiter && p[i] != 0x0A { field.append(p[i]); i += 1 }
                        if field.last == 0x0D && (i == n || p[i] == 0x0A) { field.removeLast() }
                    }
                    fields.append(String(decoding: field, as: UTF8.self))
                    if i < n && p[i] == delimiter {
                        i += 1
                    } else {
                        if i < n && p[i] == 0x0D { i += 1 }
                        if i < n && p[i] == 0x0A { i += 1; line += 1 }
                        rowDone = true
                    }
                }
                if fields.count == 1 && fields[0].allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                rows.append(Row(fields: fields, line: rowLine))
            }
        }
        return rows
    }
}
