// libFuzzer harness for what fx makes of data past the input layer. The first byte chooses the path and its
// settings, the rest is the data: CSV and TSV tables (fx-pair), line-aligned parallel text split at the first
// NUL (fx-pair), masking in every mode (fx-mask: each line written must parse back as a JSON object), and model
// files (fx-train's and fx-cluster's safetensors, then a prediction or an assignment). Built by `make fuzz`.
#if canImport(Glibc)
import Glibc
#endif

/// A temporary file that fx-mask's output goes to, truncated for each input.
private let maskFile: Int32 = {
    var template = Array("/tmp/fx-fuzz-mask.XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    unlink(String(cString: template))
    return fd
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTools(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let choice = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let text = String(decoding: bytes, as: UTF8.self)
    switch choice % 4 {
    case 0:
        _ = try? Table(delimiter: choice & 4 == 0 ? UInt8(ascii: ",") : UInt8(ascii: "\t")).rows(text)
    case 1:
        let sides = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        var parallel = ParallelText(source: "en", target: "fr")
        try? parallel.add(Document(path: "a.en", text: sides[0]))
        try? parallel.add(Document(path: "a.fr", text: sides.count > 1 ? sides[1] : ""))
        try? parallel.forEachPair(policy: ErrorPolicy(.fail, tool: "fuzz")) { record, _ in
            var out: [UInt8] = []
            record.encode(into: &out)
            precondition((try? out.withUnsafeBufferPointer { try Record(parsing: $0) }) != nil, "pair round trip")
        }
    case 2:
        var settings = Masker.Settings()
        settings.mode = Masker.Mode.allCases[Int(choice >> 2) % Masker.Mode.allCases.count]
        settings.joint = choice & 0x10 != 0
        settings.maskPunctuation = choice & 0x20 != 0
        settings.rate = choice & 0x40 != 0 ? 0.5 : 0.15
        settings.copies = choice & 0x80 != 0 ? 2 : 1
        settings.window = 4
        ftruncate(maskFile, 0)
        lseek(maskFile, 0, SEEK_SET)
        let output = Output(fd: maskFile, name: "fuzz")
        let masker = Masker(settings, output: output)
        if (try? masker.mask(Record([JSONMember("text", .string(text))]))) != nil {
            try? output.flush()
            let written = Int(lseek(maskFile, 0, SEEK_CUR))
            var back = [UInt8](repeating: 0, count: written)
            _ = back.withUnsafeMutableBytes { pread(maskFile, $0.baseAddress, written, 0) }
            for line in back.split(separator: UInt8(ascii: "\n")) {
                let record = Array(line).withUnsafeBufferPointer { try? Record(parsing: $0) }
                precondition(record != nil, "fx-mask wrote a line that is not a JSON object")
            }
        }
    default:
        guard let (tensors, metadata) = try? SafeTensors.parse(bytes, name: "fuzz") else { return 0 }
        if let model = try? TextModel.load(tensors: tensors, metadata: metadata, name: "fuzz") {
            _ = model.predict(features: model.features(of: "a few words of text"), k: 3)
        }
        if let clusters = try? ClusterModel(tensors: tensors, metadata: metadata, name: "fuzz", stopWords: englishStopWords) {
            _ = clusters.assign(clusters.space.vectors(["a few words of text"], threads: 1)[0])
            _ = clusters.topTerms(0, 3)
        }
    }
    return 0
}
