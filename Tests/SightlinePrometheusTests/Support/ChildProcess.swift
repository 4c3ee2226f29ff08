import Foundation

/// What a finished child process left behind.
struct ChildProcessResult: Sendable {
    var status: Int32
    var standardOutput: String
    var standardError: String
    var standardOutputData: Data
}

/// Errors of the test helpers, with what was wrong.
struct TestHelperError: Error, CustomStringConvertible {
    var description: String
}

/// Runs tools the tests need (promtool, python3, curl) without blocking a cooperative
/// thread: output goes to temporary files, and the exit is awaited through the
/// termination handler.
enum ChildProcess {
    /// Runs `tool` (found on PATH) with `arguments`, feeding `input` on standard input, and
    /// kills it after `timeout`.
    static func run(
        _ tool: String, _ arguments: [String], input: Data? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> ChildProcessResult {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let outputURL = directory.appendingPathComponent("stdout")
        let errorURL = directory.appendingPathComponent("stderr")
        let inputURL = directory.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inputURL.path, contents: input ?? Data())

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        process.standardInput = try FileHandle(forReadingFrom: inputURL)

        let killer = Task {
            try await Task.sleep(for: timeout)
            process.terminate()
        }
        defer { killer.cancel() }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                continuation.resume(returning: finished.terminationStatus)
            }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }

        let output = (try? Data(contentsOf: outputURL)) ?? Data()
        let error = (try? Data(contentsOf: errorURL)) ?? Data()
        return ChildProcessResult(
            status: status,
            standardOutput: String(decoding: output, as: UTF8.self),
            standardError: String(decoding: error, as: UTF8.self),
            standardOutputData: output)
    }
}
