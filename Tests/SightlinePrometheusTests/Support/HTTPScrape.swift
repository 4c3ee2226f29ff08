import CSightlineGzip
import Foundation

/// One HTTP response fetched with curl: status, lowercased headers and raw body.
struct HTTPScrape {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// Fetches `url` with curl (which does not decompress unless asked), sending `headers`.
    static func get(_ url: String, headers: [String: String] = [:]) async throws -> HTTPScrape {
        var arguments = ["-s", "-i", "--max-time", "10"]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            arguments += ["-H", "\(name): \(value)"]
        }
        let result = try await ChildProcess.run("curl", arguments + [url])
        guard result.status == 0 else {
            throw TestHelperError(description: "curl exited \(result.status) for \(url)")
        }

        let raw = [UInt8](result.standardOutputData)
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let split = raw.firstRange(of: separator) else {
            throw TestHelperError(description: "no header end in the response from \(url)")
        }
        let head = String(decoding: raw[..<split.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var parsed: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            parsed[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPScrape(status: status, headers: parsed, body: Array(raw[split.upperBound...]))
    }

    /// The body decompressed with the project's gunzip.
    func gunzipped(capacity: Int = 1 << 22) -> String? {
        var output = [UInt8](repeating: 0, count: capacity)
        let length = body.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                sightline_gunzip(input.baseAddress, input.count, out.baseAddress, out.count)
            }
        }
        guard length > 0 else { return nil }
        return String(decoding: output[..<length], as: UTF8.self)
    }
}
