#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The temporary file being written, for the signal handler to remove: a C string, so the handler stays async-signal-safe.
nonisolated(unsafe) private var pendingTemporary: UnsafeMutablePointer<CChar>?

private func removePendingAndExit(_ signal: Int32) {
    if let path = pendingTemporary { unlink(path) }
    _exit(128 + signal)
}

/// Set by the first SIGINT once `Interruption.stopOnFirstInterrupt()` was called.
nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

private func requestStop(_ signal: Int32) {
    if interruptRequested != 0 { removePendingAndExit(signal) }
    interruptRequested = 1
}

/// Ctrl-C in a long training run: the first one asks the trainer to stop after its current step and save what it
/// has (the file still written atomically); a second one ends the process at once, as Ctrl-C does elsewhere.
public enum Interruption {
    public static func stopOnFirstInterrupt() { signal(SIGINT, requestStop) }
    public static var requested: Bool { interruptRequested != 0 }
    /// The exit status of a run that saved its work after Ctrl-C: the shell's for SIGINT, so `&&` chains stop.
    public static let status: Int32 = 128 + SIGINT
}

/// Writes a file atomically: into a temporary file beside it, fsync, then rename over the target.
/// Until the rename the old file (if any) is untouched; SIGINT, SIGTERM or an error remove the temporary file,
/// so an interrupted run never leaves a partial or stray file.
public enum AtomicFile {
    /// Makes SIGINT and SIGTERM remove a temporary file being written before the process ends, even when the
    /// process started with them ignored or blocked (a background job); every tool installs it as it starts.
    public static func installSignalCleanup() {
        signal(SIGINT, removePendingAndExit)
        signal(SIGTERM, removePendingAndExit)
        // A parent may have started us with these signals blocked (the mask is inherited); Ctrl-C must still work.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Fails before any work is done when `path` cannot be written: a directory, or a missing or read-only folder.
    public static func checkWritable(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            guard (info.st_mode & S_IFMT) != S_IFDIR else { throw FXError.io("is a directory", at: path) }
            return
        }
        if access(directory(of: path), W_OK) != 0 { throw FXError.io("cannot write in \(directory(of: path)): \(errnoText())", at: path) }
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func write(_ path: String, _ body: (Output) throws -> Void) throws {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            // A device, a pipe, a terminal: written in place (renaming over /dev/full would replace the device).
            guard (info.st_mode & S_IFMT) != S_IFDIR else { throw FXError.io("is a directory", at: path) }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd < 0 { throw FXError.io(errnoText(), at: path) }
            defer { close(fd) }
            let out = Output(fd: fd, name: path)
            try body(out)
            try out.flush()
            return
        }
        let folder = directory(of: path)
        var template = Array("\(folder)/.\(path.split(separator: "/").last ?? "fx").XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw FXError.io("cannot create a file in \(folder): \(errnoText())", at: path) }
        let temporary = String(cString: template)
        pendingTemporary = strdup(temporary)
        defer {
            let p = pendingTemporary
            pendingTemporary = nil
            free(p)
        }
        do {
            let out = Output(fd: fd, name: path)
            try body(out)
            try out.flush()
            if fsync(fd) != 0 { throw FXError.io("cannot write: \(errnoText())", at: path) }
            if close(fd) != 0 { throw FXError.io("cannot write: \(errnoText())", at: path) }
            fchmodat(AT_FDCWD, temporary, 0o644, 0)
            if rename(temporary, path) != 0 { throw FXError.io("cannot rename into place: \(errnoText())", at: path) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }
}
