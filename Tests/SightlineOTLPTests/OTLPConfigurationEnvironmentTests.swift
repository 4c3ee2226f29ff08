import Sightline
import SightlineOTLP
import Testing

@Suite struct OTLPConfigurationEnvironmentTests {
    let logs = CollectingLogSink()
    var logger: Logger { Logger(sink: logs) }

    @Test func applyingEnvironment_whenEmpty_keepsDefaults() {
        let configuration = OTLPExporterConfiguration().applyingEnvironment([:], logger: logger)

        #expect(configuration == OTLPExporterConfiguration())
        #expect(configuration.endpoint == "http://localhost:4318/v1/traces")
        #expect(configuration.timeout == .seconds(10))
        #expect(configuration.compression == .none)
    }

    @Test func applyingEnvironment_withGenericEndpoint_appendsTracesPath() {
        let configuration = OTLPExporterConfiguration().applyingEnvironment(
            ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"], logger: logger)

        #expect(configuration.endpoint == "http://collector:4318/v1/traces")
    }

    @Test func applyingEnvironment_withTracesEndpoint_usesItAsIsAndWinsOverGeneric() {
        let configuration = OTLPExporterConfiguration().applyingEnvironment(
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example:443/custom",
            ], logger: logger)

        #expect(configuration.endpoint == "https://traces.example:443/custom")
    }

    @Test func applyingEnvironment_withHeadersCompressionTimeout_appliesAll() {
        let configuration = OTLPExporterConfiguration().applyingEnvironment(
            [
                "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s3cr%3Dt, x-team = blue",
                "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            ], logger: logger)

        #expect(configuration.headers == ["api-key": "s3cr=t", "x-team": "blue"])
        #expect(configuration.compression == .gzip)
        #expect(configuration.timeout == .milliseconds(2500))
        #expect(logs.collected.isEmpty)
    }

    @Test func applyingEnvironment_withInvalidValues_keepsSettingsAndWarns() {
        let configuration = OTLPExporterConfiguration().applyingEnvironment(
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318",
                "OTEL_EXPORTER_OTLP_COMPRESSION": "brotli",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "-5",
                "OTEL_EXPORTER_OTLP_HEADERS": "novalue",
            ], logger: logger)

        #expect(configuration == OTLPExporterConfiguration())
        let settings = logs.collected.filter { $0.level == .warning }
            .compactMap { $0.metadata[LogKey.setting] }.sorted()
        #expect(
            settings == [
                "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
            ])
    }
}
