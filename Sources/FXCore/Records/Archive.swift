import CArchive

/// A thin wrapper over libarchive's reader: every return code checked, errors carry
/// `archive_error_string`, the handle freed in deinit, and no C type in its interface.
final class ArchiveReader {
    struct Entry {
        var path: String
        var isRegularFile: Bool
        /// The size the header declares, when it declares one.
        var size: Int?
    }

    private let handle: OpaquePointer
    private let source: ByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var sourceError: Error?
    let name: String

    /// Opens `source` (whose first bytes were recognised as an archive or a compressed stream).
    init(_ source: ByteSource, name: String) throws {
        guard let handle = archive_read_new() else { throw FXError.io("out of memory", at: name) }
        self.handle = handle
        self.source = source
        self.name = name
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        archive_read_support_filter_all(handle)
        // Not format_all: its mtree reader takes short text (a little JSON) for an mtree spec.
        for enable in [archive_read_support_format_tar, archive_read_support_format_zip, archive_read_support_format_7zip,
                       archive_read_support_format_ar, archive_read_support_format_cpio, archive_read_support_format_iso9660,
                       archive_read_support_format_rar, archive_read_support_format_rar5, archive_read_support_format_cab,
                       archive_read_support_format_lha, archive_read_support_format_xar, archive_read_support_format_raw] {
            _ = enable(handle)
        }
        let status = archive_read_open(handle, Unmanaged.passUnretained(self).toOpaque(), nil, { _, client, out in
            let me = Unmanaged<ArchiveReader>.fromOpaque(client!).takeUnretainedValue()
            do {
                let n = try me.source.read(into: me.buffer)
                out!.pointee = UnsafeRawPointer(me.buffer.baseAddress!)
                return n
            } catch {
                me.sourceError = error
                return -1
            }
        }, nil)
        if status != ARCHIVE_OK { throw failure() }
    }

    deinit {
        archive_read_free(handle)
        buffer.deallocate()
    }

    /// True when the stream is a single compressed file rather than an archive of members.
    var isRawStream: Bool { archive_format(handle) == ARCHIVE_FORMAT_RAW }

    private func failure() -> Error {
        if let error = sourceError { return error }
        let text = archive_error_string(handle).map { String(cString: $0) } ?? "unreadable archive"
        return FXError.io(text, at: name)
    }

    /// The next member's header; nil after the last.
    func next() throws -> Entry? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { return nil }
        if status < ARCHIVE_WARN { throw failure() }
        guard let entry else { throw failure() }
        var path = archive_entry_pathname_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        while path.hasPrefix("./") { path.removeFirst(2) }
        if path.hasPrefix("/") { path.removeFirst() }
        let size = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : nil
        return Entry(path: path, isRegularFile: archive_entry_filetype(entry) == 0o100000 /* AE_IFREG */, size: size)
    }

    /// The current member's bytes, as a stream.
    func data() -> ByteSource { MemberSource(self) }

    fileprivate func readData(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = archive_read_data(handle, buffer.baseAddress, buffer.count)
        if n < 0 { throw failure() }
        return n
    }
}

private final class MemberSource: ByteSource {
    let reader: ArchiveReader
    init(_ reader: ArchiveReader) { self.reader = reader }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try reader.readData(into: buffer) }
}
