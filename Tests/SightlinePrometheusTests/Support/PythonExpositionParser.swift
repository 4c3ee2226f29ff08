import Foundation

/// One sample as the official Python prometheus-client parser understood it.
struct ParsedSample: Decodable, Equatable {
    struct ParsedExemplar: Decodable, Equatable {
        var labels: [String: String]
        var value: String
        var timestamp: String?
    }

    var name: String
    var labels: [String: String]
    /// Python's repr of the float value: "3.0", "nan", "inf", "-inf".
    var value: String
    var exemplar: ParsedExemplar?
}

/// One family as the Python parser understood it.
struct ParsedFamily: Decodable, Equatable {
    var name: String
    var type: String
    var help: String
    var samples: [ParsedSample]
}

/// Runs Tests/Support/python/parse_exposition.py, which wraps
/// `prometheus_client.parser` and `prometheus_client.openmetrics.parser`.
enum PythonExpositionParser {
    static func parse(_ exposition: [UInt8], openMetrics: Bool) async throws -> [ParsedFamily] {
        let script = RepositoryPaths.file("Tests/Support/python/parse_exposition.py").path
        let result = try await ChildProcess.run(
            "python3", [script, openMetrics ? "openmetrics" : "text"],
            input: Data(exposition))
        guard result.status == 0 else {
            throw TestHelperError(
                description: "python parser exited \(result.status): \(result.standardError)")
        }
        return try JSONDecoder().decode([ParsedFamily].self, from: result.standardOutputData)
    }
}
