import Sightline
import Testing

@Suite struct TracingConfigurationEnvironmentTests {
    let sink = CollectingLogSink()

    private func parse(_ environment: [String: String]) -> TracingConfiguration {
        TracingConfiguration.fromEnvironment(environment, logger: Logger(sink: sink))
    }

    /// The settings named by the warnings logged so far.
    private var warnedSettings: [String] {
        sink.collected.filter { $0.level == .warning }.compactMap { $0.metadata[LogKey.setting] }
    }

    /// Asserts exactly one warning, naming `variable` in its metadata and message, and
    /// carrying `value` unless it is redacted.
    private func expectOneWarning(
        _ variable: String, value: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let warnings = sink.collected.filter { $0.level == .warning }
        #expect(warnings.count == 1, sourceLocation: sourceLocation)
        #expect(
            warnings.first?.metadata[LogKey.setting] == variable, sourceLocation: sourceLocation)
        #expect(warnings.first?.message.contains(variable) == true, sourceLocation: sourceLocation)
        #expect(
            warnings.first?.metadata[LogKey.reason]?.isEmpty == false,
            sourceLocation: sourceLocation)
        if let value {
            #expect(
                warnings.first?.metadata[LogKey.value] == value,
                sourceLocation: sourceLocation)
        }
    }

    @Test func fromEnvironment_whenEmpty_keepsEveryDefault() {
        let configuration = parse([:])

        #expect(configuration.isEnabled)
        #expect(configuration.serviceName == nil)
        #expect(configuration.resourceAttributes.isEmpty)
        #expect(configuration.sampler == .parentBasedAlwaysOn)
        #expect(configuration.samplerRatio == 1.0)
        #expect(configuration.maxQueueSize == 2048)
        #expect(configuration.maxExportBatchSize == 512)
        #expect(configuration.scheduleDelay == .milliseconds(5000))
        #expect(configuration.exportTimeout == .milliseconds(30000))
        #expect(configuration.otlp.endpoint == nil)
        #expect(configuration.otlp.resolvedEndpoint == "http://localhost:4318/v1/traces")
        #expect(configuration.otlp.headers.isEmpty)
        #expect(configuration.otlp.compression == .none)
        #expect(configuration.otlp.timeout == .milliseconds(10000))
        #expect(sink.collected.isEmpty)
    }

    @Test func fromEnvironment_whenValueIsEmpty_keepsDefaultSilently() {
        let configuration = parse(["OTEL_BSP_MAX_QUEUE_SIZE": "", "OTEL_TRACES_SAMPLER": " "])

        #expect(configuration.maxQueueSize == 2048)
        #expect(configuration.sampler == .parentBasedAlwaysOn)
        #expect(sink.collected.isEmpty)
    }

    // MARK: - OTEL_SDK_DISABLED

    @Test(arguments: [
        ("true", false), ("TRUE", false), ("True", false), ("false", true),
        ("FALSE", true),
    ])
    func sdkDisabled_whenTrueOrFalse_setsIsEnabled(value: String, enabled: Bool) {
        #expect(parse(["OTEL_SDK_DISABLED": value]).isEnabled == enabled)
        #expect(sink.collected.isEmpty)
    }

    @Test func sdkDisabled_whenInvalid_warnsAndStaysEnabled() {
        #expect(parse(["OTEL_SDK_DISABLED": "yes"]).isEnabled)
        expectOneWarning("OTEL_SDK_DISABLED", value: "yes")
    }

    // MARK: - Service name and resource attributes

    @Test func serviceName_setsServiceNameAndWinsOverResourceAttributes() {
        let configuration = parse([
            "OTEL_SERVICE_NAME": "orders",
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=billing,deployment.environment=prod",
        ])

        let resource = configuration.makeResource().attributes
        #expect(resource["service.name"] == .string("orders"))
        #expect(resource["deployment.environment"] == .string("prod"))
    }

    @Test func resourceAttributes_percentDecodesAndTrims() {
        let configuration = parse([
            "OTEL_RESOURCE_ATTRIBUTES":
                " service.name = billing%20eu , team=a%2Cb%3Dc,, note=%E2%9C%93 "
        ])

        #expect(
            configuration.resourceAttributes == [
                "service.name": "billing eu", "team": "a,b=c", "note": "✓",
            ])
        #expect(
            configuration.makeResource().attributes["service.name"]
                == .string("billing eu"))
        #expect(sink.collected.isEmpty)
    }

    @Test(arguments: ["novalue", "=x", "a=%zz", "a=%E2%9C", "a=1,b"])
    func resourceAttributes_whenMalformed_warnsAndDiscardsTheWholeValue(_ value: String) {
        #expect(parse(["OTEL_RESOURCE_ATTRIBUTES": value]).resourceAttributes.isEmpty)
        expectOneWarning("OTEL_RESOURCE_ATTRIBUTES", value: value)
    }

    @Test func makeResource_withoutServiceName_usesUnknownServiceAndSdkAttributes() {
        var configuration = parse([:])
        configuration.executableName = "sightline"

        #expect(
            configuration.makeResource().attributes == [
                "service.name": .string("unknown_service:sightline"),
                "telemetry.sdk.name": .string("sightline"),
                "telemetry.sdk.language": .string("swift"),
                "telemetry.sdk.version": .string(SightlineVersion.current),
            ])
    }

    // MARK: - Sampler

    @Test(arguments: SamplerKind.allCases)
    func sampler_whenKnown_selectsIt(_ kind: SamplerKind) {
        #expect(parse(["OTEL_TRACES_SAMPLER": kind.rawValue]).sampler == kind)
        #expect(sink.collected.isEmpty)
    }

    @Test(arguments: ["jaeger_remote", "sometimes", "always-on"])
    func sampler_whenUnknown_warnsAndKeepsDefault(_ value: String) {
        #expect(parse(["OTEL_TRACES_SAMPLER": value]).sampler == .parentBasedAlwaysOn)
        expectOneWarning("OTEL_TRACES_SAMPLER", value: value)
    }

    @Test func samplerArg_whenRatioSampler_setsTheRatio() {
        let configuration = parse([
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25",
        ])

        #expect(configuration.sampler == .parentBasedTraceIDRatio)
        #expect(configuration.samplerRatio == 0.25)
    }

    @Test(arguments: ["1.5", "-0.1", "half", "nan"])
    func samplerArg_whenOutOfRange_warnsAndKeepsOne(_ value: String) {
        let configuration = parse([
            "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": value,
        ])

        #expect(configuration.samplerRatio == 1.0)
        expectOneWarning("OTEL_TRACES_SAMPLER_ARG", value: value)
    }

    @Test func samplerArg_whenSamplerTakesNoArgument_isIgnoredWithoutWarning() {
        let configuration = parse([
            "OTEL_TRACES_SAMPLER": "always_on", "OTEL_TRACES_SAMPLER_ARG": "0.5",
        ])

        #expect(configuration.samplerRatio == 1.0)
        #expect(warnedSettings.isEmpty)
    }

    // MARK: - Batch span processor

    @Test func bsp_whenValid_setsEveryValue() {
        let configuration = parse([
            "OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10",
            "OTEL_BSP_SCHEDULE_DELAY": "250", "OTEL_BSP_EXPORT_TIMEOUT": "1500",
        ])

        #expect(configuration.maxQueueSize == 100)
        #expect(configuration.maxExportBatchSize == 10)
        #expect(configuration.scheduleDelay == .milliseconds(250))
        #expect(configuration.exportTimeout == .milliseconds(1500))
        #expect(sink.collected.isEmpty)
    }

    @Test(arguments: [
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"), ("OTEL_BSP_MAX_QUEUE_SIZE", "-5"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1.5"),
        ("OTEL_BSP_SCHEDULE_DELAY", "5s"), ("OTEL_BSP_SCHEDULE_DELAY", "0"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "+30"), ("OTEL_BSP_EXPORT_TIMEOUT", "99999999999999999999"),
    ])
    func bsp_whenInvalid_warnsAndKeepsDefault(variable: String, value: String) {
        let configuration = parse([variable: value])

        #expect(configuration.maxQueueSize == 2048)
        #expect(configuration.maxExportBatchSize == 512)
        #expect(configuration.scheduleDelay == .milliseconds(5000))
        #expect(configuration.exportTimeout == .milliseconds(30000))
        expectOneWarning(variable, value: value)
    }

    @Test(arguments: [("250", Duration.milliseconds(250)), ("0", .zero)])
    func maxQueueWait_whenValid_setsIt(value: String, expected: Duration) {
        let configuration = parse(["SIGHTLINE_BSP_MAX_QUEUE_WAIT": value])

        #expect(configuration.maxQueueWait == expected)
        #expect(sink.collected.isEmpty)
    }

    @Test(arguments: ["-1", "1s", "0.5", "99999999999999999999"])
    func maxQueueWait_whenInvalid_warnsAndKeepsOneSecond(value: String) {
        let configuration = parse(["SIGHTLINE_BSP_MAX_QUEUE_WAIT": value])

        #expect(configuration.maxQueueWait == .seconds(1))
        expectOneWarning("SIGHTLINE_BSP_MAX_QUEUE_WAIT", value: value)
    }

    @Test func batchSize_whenLargerThanQueue_warnsAndUsesTheQueueSize() {
        let configuration = parse([
            "OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "200",
        ])

        #expect(configuration.maxQueueSize == 100)
        #expect(configuration.maxExportBatchSize == 100)
        expectOneWarning("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", value: "200")
    }

    // MARK: - OTLP exporter

    @Test(arguments: [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http://collector:4318/v1/traces"),
        ("https://otel.example.com/prefix", "https://otel.example.com/prefix/v1/traces"),
        ("https://otel.example.com/prefix/", "https://otel.example.com/prefix/v1/traces"),
    ])
    func endpoint_whenBaseURL_appendsTracesPath(base: String, expected: String) {
        #expect(parse(["OTEL_EXPORTER_OTLP_ENDPOINT": base]).otlp.endpoint == expected)
    }

    @Test func tracesEndpoint_isUsedAsGivenAndWins() {
        let configuration = parse([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:9999/custom/",
        ])

        #expect(configuration.otlp.endpoint == "http://traces:9999/custom/")
    }

    @Test(arguments: ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
    func endpoint_whenNotAnHTTPURL_warnsAndKeepsDefault(_ variable: String) {
        #expect(parse([variable: "collector:4318"]).otlp.endpoint == nil)
        expectOneWarning(variable, value: "collector:4318")
    }

    @Test func headers_arePercentDecodedInOrder() {
        let configuration = parse([
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=secret%3D1, x-tenant = acme corp ,,b=%2C"
        ])

        #expect(
            configuration.otlp.headers.map { "\($0.name): \($0.value)" } == [
                "api-key: secret=1", "x-tenant: acme corp", "b: ,",
            ])
        #expect(sink.collected.isEmpty)
    }

    @Test func headers_whenAPairIsInvalid_skipsItAndWarnsWithoutItsValue() {
        let configuration = parse([
            "OTEL_EXPORTER_OTLP_HEADERS": "good=1,bad name=hidden,noequals,x=%zz,y=a%0Db,ok=2"
        ])

        #expect(configuration.otlp.headers.map(\.name) == ["good", "ok"])
        let warnings = sink.collected.filter { $0.level == .warning }
        #expect(warnings.count == 4)
        #expect(warnings.allSatisfy { $0.metadata[LogKey.setting] == "OTEL_EXPORTER_OTLP_HEADERS" })
        #expect(!warnings.contains { $0.message.contains("hidden") })
    }

    @Test func tracesHeaders_winOverGeneralHeaders() {
        let configuration = parse([
            "OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=2",
        ])

        #expect(configuration.otlp.headers.map(\.name) == ["b"])
    }

    @Test(arguments: [
        ("gzip", TracingConfiguration.OTLPSettings.Compression.gzip), ("GZIP", .gzip),
        ("none", .none),
    ])
    func compression_whenKnown_setsIt(
        value: String, expected: TracingConfiguration.OTLPSettings.Compression
    ) {
        #expect(parse(["OTEL_EXPORTER_OTLP_COMPRESSION": value]).otlp.compression == expected)
    }

    @Test func compression_whenUnknown_warnsAndKeepsNone() {
        #expect(parse(["OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"]).otlp.compression == .none)
        expectOneWarning("OTEL_EXPORTER_OTLP_COMPRESSION", value: "zstd")
    }

    @Test func timeout_whenValid_setsIt() {
        #expect(parse(["OTEL_EXPORTER_OTLP_TIMEOUT": "2500"]).otlp.timeout == .milliseconds(2500))
        #expect(
            parse([
                "OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "700",
            ]).otlp.timeout == .milliseconds(700))
    }

    @Test func timeout_whenInvalid_warnsAndKeepsTenSeconds() {
        #expect(parse(["OTEL_EXPORTER_OTLP_TIMEOUT": "10s"]).otlp.timeout == .milliseconds(10000))
        expectOneWarning("OTEL_EXPORTER_OTLP_TIMEOUT", value: "10s")
    }
}
