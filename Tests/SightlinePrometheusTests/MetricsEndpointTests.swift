import Sightline
import SightlinePrometheus
import Testing

@Suite struct MetricsEndpointTests {
    let endpoint: MetricsEndpoint

    init() throws {
        endpoint = MetricsEndpoint(
            registry: try ExpositionFixture.makeRegistry(), processMetrics: nil)
    }

    @Test func respond_whenPathHasAQuery_stillServesMetrics() {
        let response = endpoint.respond(
            method: "GET", path: "/metrics?debug=1", accept: nil, acceptEncoding: nil)

        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == ExpositionFixture.prometheusText)
    }

    @Test func respond_whenMethodIsNotGet_answers405() {
        let response = endpoint.respond(
            method: "POST", path: "/metrics", accept: nil, acceptEncoding: nil)

        #expect(response.status == 405)
    }

    @Test(
        arguments: [
            ("gzip", "gzip"), ("deflate, gzip;q=0.5", "gzip"), ("*", "gzip"),
            ("gzip;q=0", nil), ("identity", nil), ("br", nil),
        ] as [(String, String?)])
    func respond_compressesOnlyWhenGzipIsAccepted(acceptEncoding: String, encoding: String?) {
        let response = endpoint.respond(
            method: "GET", path: "/metrics", accept: nil, acceptEncoding: acceptEncoding)

        #expect(response.contentEncoding == encoding)
    }
}
