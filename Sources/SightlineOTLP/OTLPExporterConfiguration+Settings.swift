import Sightline

extension OTLPExporterConfiguration {
    /// The exporter configuration for the settings the tracing configuration read from the
    /// `OTEL_EXPORTER_OTLP_*` variables (see ``TracingConfiguration/fromEnvironment(_:logger:)``,
    /// which validates them and reports bad values), with the default retry policy.
    public init(_ settings: TracingConfiguration.OTLPSettings) {
        var headers: [String: String] = [:]
        for (name, value) in settings.headers { headers[name] = value }
        self.init(
            endpoint: settings.resolvedEndpoint, headers: headers,
            compression: settings.compression == .gzip ? .gzip : .none,
            timeout: settings.timeout)
    }
}
