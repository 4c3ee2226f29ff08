extension TracingConfiguration {
    /// Settings for the OTLP/HTTP span exporter. The core only carries them; the
    /// `SightlineOTLP` module reads them.
    public struct OTLPSettings: Sendable {
        /// How request bodies are compressed.
        public enum Compression: String, Hashable, Sendable {
            case none
            case gzip
        }

        /// The URL used when ``endpoint`` is nil (the OTLP/HTTP default).
        public static let defaultTracesEndpoint = "http://localhost:4318/v1/traces"

        /// The full URL spans are posted to. From `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as
        /// given, else `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended. Default nil,
        /// meaning ``defaultTracesEndpoint``.
        public var endpoint: String?

        /// Extra request headers, in order, from `OTEL_EXPORTER_OTLP_TRACES_HEADERS` or
        /// `OTEL_EXPORTER_OTLP_HEADERS` (percent-decoded). Default none.
        public var headers: [(name: String, value: String)] = []

        /// `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` or `OTEL_EXPORTER_OTLP_COMPRESSION`.
        /// Default none.
        public var compression: Compression = .none

        /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT`
        /// (milliseconds): the limit for one HTTP request. Default 10 s.
        public var timeout: Duration = .milliseconds(10000)

        public init() {}

        /// ``endpoint``, or ``defaultTracesEndpoint`` when it is nil.
        public var resolvedEndpoint: String { endpoint ?? Self.defaultTracesEndpoint }
    }
}
