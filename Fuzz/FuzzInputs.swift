// libFuzzer harness for fx's input layer: content detection, libarchive (archives in archives), the line
// reader, UTF-8 validation, the JSON record parser, JSON values and the tokenizer. Built by `make fuzz`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let reader = InputReader(policy: ErrorPolicy(.fail, tool: "fuzz"), lines: size % 2 == 0, maxMemberBytes: 1 << 20)
    do {
        try reader.forEach(source: MemorySource(bytes), name: "fuzz") { item, _ in
            var record = item.record
            record.set("extra", .array([.string("x"), .null]))
            var out: [UInt8] = []
            record.encode(into: &out)
            // What was written must read back as the same object.
            let again = try out.withUnsafeBufferPointer { try Record(parsing: $0) }
            precondition(again.jsonValue == record.jsonValue, "record round trip")
            if let text = record.string(at: record.count - 2) {
                _ = Tokenizer(lowercase: true).tokens(text)
            }
        }
    } catch {}
    bytes.withUnsafeBufferPointer { p in
        if firstInvalidUTF8(p) == nil {
            if let value = try? JSONValue(parsing: p) {
                let text = value.encoded
                let again = text.withUnsafeBufferPointer { try? JSONValue(parsing: $0) }
                precondition(again == value, "value round trip")
            }
            _ = Tokenizer().tokens(String(decoding: p, as: UTF8.self))
        }
    }
    return 0
}
