import Sightline
import SightlineOTLP
import Testing

@Suite struct OTLPConfigurationSettingsTests {
    @Test func init_fromEnvironmentSettings_carriesEndpointHeadersCompressionAndTimeout() {
        let tracing = TracingConfiguration.fromEnvironment(
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
                "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%20cret,tenant=acme",
                "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
                "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            ], logger: .disabled)

        let configuration = OTLPExporterConfiguration(tracing.otlp)

        #expect(configuration.endpoint == "http://collector:4318/v1/traces")
        #expect(configuration.headers == ["api-key": "s cret", "tenant": "acme"])
        #expect(configuration.compression == .gzip)
        #expect(configuration.timeout == .milliseconds(2500))
    }

    @Test func init_withNothingSet_usesTheLocalCollector() {
        let configuration = OTLPExporterConfiguration(TracingConfiguration().otlp)

        #expect(configuration.endpoint == "http://localhost:4318/v1/traces")
        #expect(configuration.compression == .none)
        #expect(configuration.timeout == .seconds(10))
    }
}
