import Foundation

/// The two text formats a scrape can ask for.
public enum ExpositionFormat: Sendable, Hashable {
    /// Prometheus text format 0.0.4.
    case prometheusText
    /// OpenMetrics 1.0 text format.
    case openMetrics

    /// The `Content-Type` of a response in this format.
    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format from an HTTP `Accept` header: OpenMetrics when the header names
    /// `application/openmetrics-text` with a non-zero quality, the Prometheus text format
    /// otherwise (including when there is no header).
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheusText }

        for range in accept.split(separator: ",") {
            let parameters = range.split(separator: ";").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            guard parameters.first == "application/openmetrics-text" else { continue }

            let refused = parameters.dropFirst().contains { parameter in
                guard parameter.hasPrefix("q=") else { return false }
                return (Double(parameter.dropFirst(2)) ?? 1) <= 0
            }
            if !refused { return .openMetrics }
        }
        return .prometheusText
    }
}
