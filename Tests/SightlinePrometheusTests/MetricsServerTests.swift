import Foundation
import Sightline
import SightlinePrometheus
import Testing

@Suite(.serialized) struct MetricsServerTests {
    let registry: MetricsRegistry
    let server: MetricsServer

    init() throws {
        registry = try ExpositionFixture.makeRegistry()
        server = MetricsServer(
            registry: registry,
            configuration: MetricsServerConfiguration(host: "127.0.0.1", port: 0),
            includeProcessMetrics: false)
    }

    private func url(_ path: String) throws -> String {
        let port = try #require(server.boundPort)
        return "http://127.0.0.1:\(port)\(path)"
    }

    @Test func metrics_withoutAccept_servesPrometheusText() async throws {
        try server.start()
        defer { server.stop() }

        let response = try await HTTPScrape.get(try url("/metrics"))

        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.headers["content-encoding"] == nil)
        #expect(response.text == ExpositionFixture.prometheusText)
    }

    @Test func metrics_whenOpenMetricsAccepted_servesOpenMetrics() async throws {
        try server.start()
        defer { server.stop() }

        let response = try await HTTPScrape.get(
            try url("/metrics"),
            headers: ["Accept": "application/openmetrics-text; version=1.0.0, text/plain;q=0.5"])

        #expect(response.status == 200)
        #expect(
            response.headers["content-type"]
                == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(response.text == ExpositionFixture.openMetrics)
    }

    @Test func metrics_whenGzipAccepted_servesGzip() async throws {
        try server.start()
        defer { server.stop() }

        let response = try await HTTPScrape.get(
            try url("/metrics"), headers: ["Accept-Encoding": "gzip"])

        #expect(response.headers["content-encoding"] == "gzip")
        #expect(response.body.starts(with: [0x1f, 0x8b]))
        #expect(response.gunzipped() == ExpositionFixture.prometheusText)
    }

    @Test func healthzAndUnknownPaths_answerOkAnd404() async throws {
        try server.start()
        defer { server.stop() }

        let health = try await HTTPScrape.get(try url("/healthz"))
        let missing = try await HTTPScrape.get(try url("/nothing"))

        #expect(health.status == 200)
        #expect(health.text == "ok")
        #expect(missing.status == 404)
    }

    @Test func start_whenPortIsTaken_throwsPortInUseNamingHostAndPort() throws {
        try server.start()
        defer { server.stop() }
        let port = try #require(server.boundPort)
        let second = MetricsServer(
            registry: registry,
            configuration: MetricsServerConfiguration(host: "127.0.0.1", port: port))

        let error = #expect(throws: MetricsServerError.self) { try second.start() }

        #expect(error?.code == .portInUse)
        #expect(error?.host == "127.0.0.1")
        #expect(error?.port == port)
        #expect(error?.description.contains("127.0.0.1 port \(port)") == true)
        #expect(second.boundPort == nil)
    }

    @Test func start_whenHostDoesNotResolve_throwsInvalidAddress() {
        let bad = MetricsServer(
            registry: registry,
            configuration: MetricsServerConfiguration(host: "no-such-host.invalid", port: 0))

        let error = #expect(throws: MetricsServerError.self) { try bad.start() }

        #expect(error?.code == .invalidAddress)
        #expect(error?.host == "no-such-host.invalid")
    }

    @Test func start_onIPv6Loopback_serves() async throws {
        let server = MetricsServer(
            registry: registry,
            configuration: MetricsServerConfiguration(host: "::1", port: 0),
            includeProcessMetrics: false)
        try server.start()
        defer { server.stop() }
        let port = try #require(server.boundPort)

        let response = try await HTTPScrape.get("http://[::1]:\(port)/healthz")

        #expect(response.text == "ok")
    }

    @Test func stop_thenStart_servesAgainAndReleasesThePort() async throws {
        try server.start()
        let first = try #require(server.boundPort)
        server.stop()
        #expect(server.boundPort == nil)

        let again = MetricsServer(
            registry: registry,
            configuration: MetricsServerConfiguration(host: "127.0.0.1", port: first),
            includeProcessMetrics: false)
        try again.start()
        defer { again.stop() }

        let response = try await HTTPScrape.get("http://127.0.0.1:\(first)/healthz")
        #expect(response.status == 200)
    }
}
