import Sightline
import SightlinePrometheus
import Testing

@Suite struct MetricsServerConfigurationTests {
    let sink = CollectingLogSink()

    private func configuration(_ environment: [String: String]) -> MetricsServerConfiguration {
        MetricsServerConfiguration.fromEnvironment(environment, logger: Logger(sink: sink))
    }

    @Test func fromEnvironment_whenEmpty_usesTheDefaults() {
        let configuration = configuration([:])

        #expect(configuration.host == "localhost")
        #expect(configuration.port == 9464)
        #expect(sink.collected.isEmpty)
    }

    @Test func fromEnvironment_readsHostAndPort() {
        let configuration = configuration([
            "OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0",
            "OTEL_EXPORTER_PROMETHEUS_PORT": "9100",
        ])

        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9100)
    }

    @Test(arguments: ["abc", "0", "70000", "-1", ""])
    func fromEnvironment_whenPortIsInvalid_keepsTheDefaultAndWarns(value: String) {
        let configuration = configuration(["OTEL_EXPORTER_PROMETHEUS_PORT": value])

        #expect(configuration.port == 9464)
        #expect(sink.collected.map(\.level) == [.warning])
        #expect(sink.collected.first?.message.contains("OTEL_EXPORTER_PROMETHEUS_PORT") == true)
        #expect(sink.collected.first?.message.contains("9464") == true)
        #expect(sink.collected.first?.metadata[LogKey.value] == value)
    }

    @Test func fromEnvironment_whenHostIsBlank_keepsTheDefaultAndWarns() {
        let configuration = configuration(["OTEL_EXPORTER_PROMETHEUS_HOST": "  "])

        #expect(configuration.host == "localhost")
        #expect(sink.collected.first?.message.contains("OTEL_EXPORTER_PROMETHEUS_HOST") == true)
    }
}
