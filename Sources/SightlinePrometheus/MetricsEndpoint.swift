import CSightlineGzip
import Foundation
import Sightline

/// Answers the server's requests; independent of HTTP plumbing so it can be tested directly.
///
/// Rendering reads the registry's atomics and takes each family's lock only to copy its
/// list of series, so a scrape never waits for a publisher and never blocks one for long.
public struct MetricsEndpoint: Sendable {
    /// One response: status, content type, optional content encoding and body.
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var contentEncoding: String?
        public var body: [UInt8]
    }

    public let registry: MetricsRegistry
    public let processMetrics: ProcessMetricsCollector?

    /// - Parameters:
    ///   - registry: the families to expose.
    ///   - processMetrics: process families to append; nil leaves them out.
    public init(
        registry: MetricsRegistry, processMetrics: ProcessMetricsCollector? = .init()
    ) {
        self.registry = registry
        self.processMetrics = processMetrics
    }

    /// `GET /metrics` (negotiated format, gzip when accepted), `GET /healthz` ("ok"),
    /// 405 for other methods, 404 for other paths.
    public func respond(
        method: String, path: String, accept: String?, acceptEncoding: String?
    ) -> Response {
        let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        guard route == "/metrics" || route == "/healthz" else {
            return Self.text(404, "not found\n")
        }
        guard method == "GET" || method == "HEAD" else {
            return Self.text(405, "method not allowed\n")
        }
        if route == "/healthz" {
            return Self.text(200, "ok")
        }

        let format = ExpositionFormat.negotiate(accept: accept)
        let body = render(format)
        if Self.acceptsGzip(acceptEncoding), let compressed = Self.gzip(body) {
            return Response(
                status: 200, contentType: format.contentType, contentEncoding: "gzip",
                body: compressed)
        }
        return Response(
            status: 200, contentType: format.contentType, contentEncoding: nil, body: body)
    }

    /// The exposition of the registry (and process metrics) in `format`.
    public func render(_ format: ExpositionFormat) -> [UInt8] {
        var families = registry.collect()
        if let processMetrics {
            families.append(contentsOf: processMetrics.collect())
        }
        return ExpositionRenderer(format: format).render(families)
    }

    /// True when `Accept-Encoding` lists gzip (or `*`) without `q=0`.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }

        for coding in header.split(separator: ",") {
            let parameters = coding.split(separator: ";").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            guard parameters.first == "gzip" || parameters.first == "*" else { continue }

            let refused = parameters.dropFirst().contains { parameter in
                parameter.hasPrefix("q=") && (Double(parameter.dropFirst(2)) ?? 1) <= 0
            }
            if !refused { return true }
        }
        return false
    }

    private static func gzip(_ body: [UInt8]) -> [UInt8]? {
        let capacity = sightline_gzip_bound(body.count)
        var output = [UInt8](repeating: 0, count: capacity)
        let written = body.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                sightline_gzip(input.baseAddress, input.count, out.baseAddress, out.count)
            }
        }
        guard written > 0 else { return nil }

        output.removeLast(capacity - written)
        return output
    }

    private static func text(_ status: Int, _ body: String) -> Response {
        Response(
            status: status, contentType: "text/plain; charset=utf-8", contentEncoding: nil,
            body: Array(body.utf8))
    }
}
