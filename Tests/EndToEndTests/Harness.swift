import Foundation
import Testing

/// What a run of a built tool gave.
struct Run {
    var stdout: String
    var stderr: String
    var status: Int32
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    /// stdout's lines as JSON objects.
    var records: [[String: Any]] {
        lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// The repository root (where examples/ lives).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The folder holding the built tools: $FX_BIN_DIR, else the folder of this test binary (SwiftPM puts them together).
let binDir: URL = {
    if let dir = ProcessInfo.processInfo.environment["FX_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    var dir = exe.deletingLastPathComponent()
    // On Linux the test binary is <build>/debug/fxPackageTests.xctest; on Darwin, a bundle inside <build>/debug.
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("fx-pair").path) && dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir
}()

/// Runs `tool` with `arguments` and `stdin`, in `directory`; reads stdout and stderr before waiting for the exit.
func run(_ tool: String, _ arguments: [String], stdin: Data = Data(), in directory: URL? = nil) throws -> Run {
    let process = Process()
    process.executableURL = binDir.appendingPathComponent(tool)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let input = Pipe(), output = Pipe(), error = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let writer = Thread {
        try? input.fileHandleForWriting.write(contentsOf: stdin)
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    return collect(process, output, error)
}

func run(_ tool: String, _ arguments: [String], stdin: String, in directory: URL? = nil) throws -> Run {
    try run(tool, arguments, stdin: Data(stdin.utf8), in: directory)
}

/// Runs a shell command line with the built tools first on PATH.
func shell(_ command: String, in directory: URL? = nil) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", command]
    var env = ProcessInfo.processInfo.environment
    env["PATH"] = binDir.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
    process.environment = env
    if let directory { process.currentDirectoryURL = directory }
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return collect(process, output, error)
}

/// Reads stdout and stderr to their ends (stderr on another thread, so neither pipe fills), then waits for the exit.
private func collect(_ process: Process, _ output: Pipe, _ error: Pipe) -> Run {
    final class Box: @unchecked Sendable { var data = Data() }
    let err = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { err.data = error.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let out = output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Run(stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err.data, as: UTF8.self), status: process.terminationStatus)
}

/// A fresh temporary folder, removed when the value is released... by the test's `defer`.
struct Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fx-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }
    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
        return file.path
    }
    func remove() { try? FileManager.default.removeItem(at: url) }
}
