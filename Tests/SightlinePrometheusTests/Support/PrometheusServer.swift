import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real `prometheus` server for tests: listens on 127.0.0.1 at a free port, keeps its
/// storage and configuration in a temporary directory, scrapes one target every second, and
/// answers PromQL through its HTTP query API.
///
/// Start it with ``start(scraping:metricsPath:jobName:startupTimeout:)`` and always call
/// ``stop()``; the test fails loudly when the `prometheus` binary is missing.
final class PrometheusServer: Sendable {
    /// One sample of an instant-vector query result.
    struct Sample: Sendable, Equatable {
        var labels: [String: String]
        var value: String
    }

    /// One exemplar from `/api/v1/query_exemplars`.
    struct ExemplarRecord: Sendable, Equatable {
        var seriesLabels: [String: String]
        var labels: [String: String]
        var value: String
    }

    let port: Int
    let directory: URL
    let target: String
    private let processID: Int32
    private let stopped = Atomic<Bool>(false)

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, directory: URL, target: String, processID: Int32) {
        self.port = port
        self.directory = directory
        self.target = target
        self.processID = processID
    }

    /// Starts Prometheus scraping `target` ("host:port") every second with exemplar storage
    /// enabled, and waits until its readiness endpoint answers.
    ///
    /// - Throws: ``TestHelperError`` when the binary cannot start or is not ready before
    ///   `startupTimeout`; the message includes the server's log.
    static func start(
        scraping target: String, metricsPath: String = "/metrics", jobName: String = "sightline",
        startupTimeout: Duration = .seconds(20)
    ) async throws -> PrometheusServer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)

        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: \(jobName)
                metrics_path: \(metricsPath)
                static_configs:
                  - targets: ['\(target)']

            """
        let configURL = directory.appendingPathComponent("prometheus.yml")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let logURL = directory.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)

        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "prometheus",
            "--config.file=\(configURL.path)",
            "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--enable-feature=exemplar-storage",
            "--log.level=warn",
        ]
        let log = try FileHandle(forWritingTo: logURL)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let server = PrometheusServer(
            port: port, directory: directory, target: target,
            processID: process.processIdentifier)
        do {
            try await server.waitUntilReady(timeout: startupTimeout)
        } catch {
            await server.stop()
            throw error
        }
        return server
    }

    /// Runs an instant query and returns its samples.
    func query(_ promql: String) async throws -> [Sample] {
        let data = try await get("/api/v1/query", ["query": promql])
        let results = try Self.data(from: data) as? [String: Any]
        let vector = results?["result"] as? [[String: Any]] ?? []
        return vector.map { entry in
            let value = (entry["value"] as? [Any])?.last as? String ?? ""
            return Sample(labels: entry["metric"] as? [String: String] ?? [:], value: value)
        }
    }

    /// Polls `promql` every 250 ms until it returns a sample (and `accept` agrees), and
    /// returns those samples.
    ///
    /// - Throws: ``TestHelperError`` after `timeout`, with the last result and the log.
    func waitForSamples(
        _ promql: String, timeout: Duration = .seconds(30),
        accept: ([Sample]) -> Bool = { !$0.isEmpty }
    ) async throws -> [Sample] {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last: [Sample] = []
        while clock.now < deadline {
            last = (try? await query(promql)) ?? []
            if accept(last) { return last }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw TestHelperError(
            description: "no series for \(promql) within \(timeout); last: \(last); "
                + "log: \(logText())")
    }

    /// The exemplars stored for `promql` over the last hour.
    func exemplars(_ promql: String) async throws -> [ExemplarRecord] {
        let now = Date().timeIntervalSince1970
        let data = try await get(
            "/api/v1/query_exemplars",
            ["query": promql, "start": String(Int(now - 3600)), "end": String(Int(now + 60))])
        let series = try Self.data(from: data) as? [[String: Any]] ?? []
        return series.flatMap { entry in
            let seriesLabels = entry["seriesLabels"] as? [String: String] ?? [:]
            let exemplars = entry["exemplars"] as? [[String: Any]] ?? []
            return exemplars.map { exemplar in
                ExemplarRecord(
                    seriesLabels: seriesLabels,
                    labels: exemplar["labels"] as? [String: String] ?? [:],
                    value: exemplar["value"] as? String ?? "")
            }
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and removes its directory.
    func stop() async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }

        kill(processID, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var status: Int32 = 0
        while waitpid(processID, &status, WNOHANG) == 0 {
            if clock.now >= deadline {
                kill(processID, SIGKILL)
                _ = waitpid(processID, &status, 0)
                break
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// The server's log so far.
    func logText() -> String {
        let url = directory.appendingPathComponent("prometheus.log")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    // MARK: - Plumbing

    private func waitUntilReady(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            let result = try await ChildProcess.run(
                "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", baseURL + "/-/ready"])
            if result.standardOutput == "200" { return }
            if result.status == 127 || kill(processID, 0) != 0 {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestHelperError(
            description: "prometheus did not become ready on port \(port); log: \(logText())")
    }

    private func get(_ path: String, _ parameters: [String: String]) async throws -> Data {
        var arguments = ["-s", "-G", "--max-time", "5"]
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            arguments += ["--data-urlencode", "\(name)=\(value)"]
        }
        let result = try await ChildProcess.run("curl", arguments + [baseURL + path])
        guard result.status == 0 else {
            throw TestHelperError(description: "curl exited \(result.status) for \(path)")
        }
        return result.standardOutputData
    }

    private static func data(from response: Data) throws -> Any? {
        let object = try JSONSerialization.jsonObject(with: response) as? [String: Any]
        guard object?["status"] as? String == "success" else {
            throw TestHelperError(
                description: "query failed: \(String(decoding: response, as: UTF8.self))")
        }
        return object?["data"]
    }

    /// A port that was free a moment ago on 127.0.0.1 (the kernel's pick for port 0).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestHelperError(description: "socket() failed") }
        defer { close(descriptor) }

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(descriptor, $0, &length)
            }
        }
        guard bound == 0, named == 0 else {
            throw TestHelperError(description: "could not find a free port")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
