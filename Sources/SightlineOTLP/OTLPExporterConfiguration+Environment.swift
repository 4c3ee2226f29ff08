import Foundation
import Sightline

extension OTLPExporterConfiguration {
    /// This configuration with the OpenTelemetry exporter environment variables applied.
    ///
    /// Pure: it reads only `environment` (pass `ProcessInfo.processInfo.environment` in a
    /// service, a literal dictionary in a test). The traces-specific variable wins over the
    /// generic one, as the OpenTelemetry specification's exporter section requires:
    ///
    /// - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the full URL, used as it is;
    ///   `OTEL_EXPORTER_OTLP_ENDPOINT`: a base URL to which `v1/traces` is appended.
    /// - `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS`:
    ///   `name=value,name=value` with percent-encoded values; added to ``headers``.
    /// - `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` / `OTEL_EXPORTER_OTLP_COMPRESSION`:
    ///   `none` or `gzip`.
    /// - `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT`: whole
    ///   milliseconds, greater than zero.
    ///
    /// An invalid value is ignored (the current setting stays) and logged as a warning that
    /// names the variable.
    public func applyingEnvironment(_ environment: [String: String], logger: Logger) -> Self {
        var result = self

        func lookup(_ suffix: String) -> (name: String, value: String)? {
            for name in ["OTEL_EXPORTER_OTLP_TRACES_\(suffix)", "OTEL_EXPORTER_OTLP_\(suffix)"] {
                if let value = environment[name]?.trimmingCharacters(in: .whitespaces),
                    !value.isEmpty
                {
                    return (name, value)
                }
            }
            return nil
        }

        func refuse(_ name: String, _ value: String, _ why: String) {
            logger.warning(
                "ignoring \(name): \(why)", [LogKey.setting: name, LogKey.value: value])
        }

        if let (name, value) = lookup("ENDPOINT") {
            if !(value.hasPrefix("http://") || value.hasPrefix("https://")) {
                refuse(name, value, "not an http:// or https:// URL")
            } else if name.contains("TRACES") {
                result.endpoint = value
            } else {
                result.endpoint = value.hasSuffix("/") ? value + "v1/traces" : value + "/v1/traces"
            }
        }

        if let (name, value) = lookup("HEADERS") {
            if let parsed = Self.parseHeaders(value) {
                result.headers.merge(parsed) { _, new in new }
            } else {
                refuse(name, "(not shown)", "expected name=value pairs separated by commas")
            }
        }

        if let (name, value) = lookup("COMPRESSION") {
            if let compression = Compression(rawValue: value.lowercased()) {
                result.compression = compression
            } else {
                refuse(name, value, "expected none or gzip")
            }
        }

        if let (name, value) = lookup("TIMEOUT") {
            if let milliseconds = Int64(value), milliseconds > 0 {
                result.timeout = .milliseconds(milliseconds)
            } else {
                refuse(name, value, "expected whole milliseconds greater than zero")
            }
        }

        return result
    }

    /// `a=1,b=x%20y` as `["a": "1", "b": "x y"]`; nil when any pair is malformed.
    static func parseHeaders(_ text: String) -> [String: String]? {
        var headers: [String: String] = [:]
        for pair in text.split(separator: ",", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let name = pair[..<equals].trimmingCharacters(in: .whitespaces)
            let rawValue = pair[pair.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, let value = rawValue.removingPercentEncoding else { return nil }
            headers[name] = value
        }
        return headers
    }
}
