import Foundation

/// The Python OTLP receiver (Tests/Support/python/otlp_receiver.py) as a subprocess on
/// 127.0.0.1, with its own temporary directory. Tests call ``stop()`` in a `defer`; the
/// process is also terminated when the value is released.
final class ReceiverProcess {
    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    let directory: URL
    let outputFile: URL
    private let process: Process

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let script = repositoryRoot.appendingPathComponent(
        "Tests/Support/python/otlp_receiver.py")

    /// Starts the receiver and waits (up to 15 s) for the port it prints.
    ///
    /// - Parameter arguments: scripting flags such as `["--script", "503:2,200"]`.
    init(arguments: [String] = [], port: Int = 0) async throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-otlp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        outputFile = directory.appendingPathComponent("received.jsonl")
        let errorFile = directory.appendingPathComponent("receiver.stderr")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", Self.script.path, "--port", "\(port)", "--out", outputFile.path]
            + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        self.process = process

        let line = await Self.firstLine(of: output.fileHandleForReading)
        guard let line, let number = Int(line) else {
            process.terminate()
            process.waitUntilExit()
            let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            throw StartError(
                description: "otlp_receiver.py printed no port (\(line ?? "EOF")): \(errors)")
        }
        self.port = number
    }

    deinit {
        stop()
    }

    var endpoint: String { "http://127.0.0.1:\(port)/v1/traces" }

    /// Terminates the process and waits for it; removes the temporary directory.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Every line the receiver wrote so far.
    func records() throws -> [ReceivedRecord] {
        guard let data = FileManager.default.contents(atPath: outputFile.path) else { return [] }
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map {
            try decoder.decode(ReceivedRecord.self, from: Data($0))
        }
    }

    func spans() throws -> [ReceivedRecord] { try records().filter { $0.type == "span" } }

    func requests() throws -> [ReceivedRecord] { try records().filter { $0.type == "request" } }

    /// Reads up to the first newline on a thread of its own (the read blocks).
    private static func firstLine(of handle: FileHandle) async -> String? {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var bytes: [UInt8] = []
                while true {
                    let chunk = handle.readData(ofLength: 1)
                    guard let byte = chunk.first else {
                        continuation.resume(returning: nil)
                        return
                    }
                    if byte == UInt8(ascii: "\n") { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
            thread.start()
        }
    }
}

/// One JSON line of the receiver's output: a request or a span (see otlp_receiver.py).
struct ReceivedRecord: Decodable, Equatable {
    struct Event: Decodable, Equatable {
        var name: String
        var timeUnixNano: UInt64
        var attributes: [String: String]
    }

    struct Link: Decodable, Equatable {
        var traceId: String
        var spanId: String
        var traceState: String
        var flags: UInt32
        var attributes: [String: String]
    }

    struct Status: Decodable, Equatable {
        var code: String
        var message: String
    }

    var type: String
    var request: Int
    var gzip: Bool
    // Request lines.
    var status: Int?
    var spanCount: Int?
    var contentType: String?
    var headers: [String: String]?
    var clientPort: Int?
    // Span lines.
    var traceId: String?
    var spanId: String?
    var parentSpanId: String?
    var traceState: String?
    var flags: UInt32?
    var name: String?
    var kind: String?
    var startTimeUnixNano: UInt64?
    var endTimeUnixNano: UInt64?
    var attributes: [String: String]?
    var events: [Event]?
    var links: [Link]?
    var spanStatus: Status?
    var resourceAttributes: [String: String]?
    var scopeName: String?
    var scopeVersion: String?

    private enum CodingKeys: String, CodingKey {
        case type, request, gzip, status, spanCount, contentType, headers, clientPort
        case traceId, spanId, parentSpanId, traceState, flags, name, kind
        case startTimeUnixNano, endTimeUnixNano, attributes, events, links
        case spanStatus = "spanStatus"
        case resourceAttributes, scopeName, scopeVersion
    }

    /// The span without the fields that say how it travelled (request number, gzip).
    var content: ReceivedRecord {
        var copy = self
        copy.request = 0
        copy.gzip = false
        return copy
    }
}
