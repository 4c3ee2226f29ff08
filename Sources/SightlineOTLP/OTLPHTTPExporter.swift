import COTLPProto
import Sightline
import Synchronization

/// Sends spans to an OpenTelemetry receiver over OTLP/HTTP with binary protobuf bodies.
///
/// Each ``export(_:resource:)`` call encodes its batch into one `ExportTraceServiceRequest`
/// and POSTs it to ``OTLPExporterConfiguration/endpoint`` from one of
/// ``OTLPExporterConfiguration/connections`` threads, each keeping its connection open
/// between calls; concurrent calls go to the least busy one. The exporter holds no queue of
/// its own: it works on the batches it was given and nothing else, so memory stays bounded
/// by the caller's batch size times its concurrent calls.
///
/// Delivery is at most once per attempt and the whole call ends by the configured timeout:
///
/// - 2xx: success; `partial_success.rejected_spans` is reported as
///   ``SpanExportResult/success(rejected:)``.
/// - 429, 502, 503, 504 and connection failures: retried with exponential backoff and jitter,
///   or after the receiver's `Retry-After`, while attempts and time remain.
/// - any other status: failure at once, never retried (the request itself is wrong).
///
/// Failures are logged as warnings with the endpoint and status code.
public final class OTLPHTTPExporter: SpanExporter {
    public let configuration: OTLPExporterConfiguration

    private let workers: [CurlWorker]
    private let encoder = OTLPTraceEncoder()
    private let logger: Logger
    private let clock: any BusClock
    private let counters = Mutex(OTLPExporterStatistics())
    private let closed = Atomic<Bool>(false)

    /// Creates the exporter and starts its thread.
    ///
    /// - Parameters:
    ///   - configuration: where and how to send.
    ///   - logger: receives a warning per failed export; nothing is logged per success.
    ///   - clock: measures the export deadline and sleeps between retries.
    /// - Throws: ``OTLPExportError/Code/invalidConfiguration`` when the endpoint is not an
    ///   http(s) URL or a header name or value holds CR, LF or NUL, or when a header name is
    ///   empty or holds a colon; ``OTLPExportError/Code/clientFailure`` when libcurl fails to
    ///   start.
    public init(
        configuration: OTLPExporterConfiguration = OTLPExporterConfiguration(),
        logger: Logger = .standardError, clock: any BusClock = SystemClock()
    ) throws(OTLPExportError) {
        let endpoint = configuration.endpoint
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://"),
            !Self.hasControlBreak(endpoint)
        else {
            throw OTLPExportError(
                code: .invalidConfiguration,
                message: "endpoint \"\(endpoint)\" is not an http:// or https:// URL")
        }

        // "Expect:" stops libcurl from waiting for a 100-continue before larger bodies.
        var lines = [
            "Content-Type: application/x-protobuf", "Expect:",
            "User-Agent: sightline-otlp/\(SightlineVersion.current)",
        ]
        if configuration.compression == .gzip { lines.append("Content-Encoding: gzip") }
        for name in configuration.headers.keys.sorted() {
            let value = configuration.headers[name]!
            guard !name.isEmpty, !name.contains(":"), !Self.hasControlBreak(name),
                !Self.hasControlBreak(value)
            else {
                throw OTLPExportError(
                    code: .invalidConfiguration,
                    message: "header \"\(name)\" has an empty or malformed name or value")
            }
            lines.append("\(name): \(value)")
        }

        self.configuration = configuration
        self.logger = logger.withComponent("sightline.otlp")
        self.clock = clock
        var workers: [CurlWorker] = []
        for _ in 0..<max(1, configuration.connections) {
            workers.append(try CurlWorker(endpoint: endpoint, headerLines: lines))
        }
        self.workers = workers
    }

    deinit {
        for worker in workers { worker.requestStop() }
    }

    /// The counters since creation.
    public var statistics: OTLPExporterStatistics { counters.withLock { $0 } }

    public func export(_ spans: [SpanData], resource: TracingResource) async -> SpanExportResult {
        guard !spans.isEmpty else { return .success(rejected: 0) }

        guard !closed.load(ordering: .acquiring) else {
            return fail(
                spans.count, OTLPExportError(code: .shutDown, message: "the exporter is shut down"))
        }

        let deadline = clock.now() + configuration.timeout
        let encoded = encoder.encode(spans, resource: resource)
        let body: [UInt8]
        switch configuration.compression {
        case .none: body = encoded
        case .gzip:
            guard let compressed = OTLPTraceEncoder.gzip(encoded) else {
                return fail(
                    spans.count,
                    OTLPExportError(code: .clientFailure, message: "gzip of the body failed"))
            }
            body = compressed
        }

        var attempt = 1
        while true {
            let remaining = deadline - clock.now()
            guard remaining > .zero else {
                return fail(spans.count, timedOut(attempts: attempt - 1))
            }

            counters.withLock {
                $0.requests += 1
                $0.bytesSent += body.count
            }
            let worker = workers.min { $0.load < $1.load } ?? workers[0]
            let outcome = await worker.post(body, timeout: remaining)

            let error: OTLPExportError
            var retryAfter: Duration?
            switch outcome {
            case .response(let status, let responseBody, _) where (200..<300) ~= status:
                return succeed(spans.count, response: responseBody)
            case .response(let status, _, let after):
                error = Self.statusError(status, endpoint: configuration.endpoint)
                retryAfter = after
            case .failed(let failure):
                error = failure
            }

            guard error.isRetriable, attempt < configuration.retry.maxAttempts else {
                return fail(spans.count, error)
            }

            let delay = configuration.retry.delay(
                afterAttempt: attempt, retryAfter: retryAfter,
                jitter: Double.random(in: 0..<1))
            guard clock.now() + delay < deadline else {
                var late = error
                late.message += "; no retry: a delay of \(delay) would pass the export deadline"
                return fail(spans.count, late)
            }

            logger.debug(
                "OTLP export will be retried",
                [
                    LogKey.endpoint: configuration.endpoint, LogKey.attempt: "\(attempt)",
                    LogKey.delay: "\(delay.seconds)", LogKey.reason: error.message,
                ])
            counters.withLock { $0.retries += 1 }
            do {
                try await clock.sleep(for: delay)
            } catch {
                return fail(
                    spans.count,
                    OTLPExportError(code: .timedOut, message: "the export task was cancelled"))
            }
            attempt += 1
        }
    }

    /// Returns at once: the exporter buffers nothing between calls.
    public func forceFlush(deadline: ContinuousClock.Instant) async {}

    /// Refuses later exports and stops the thread. A transfer still running at `deadline` is
    /// aborted and its export call fails.
    public func shutdown(deadline: ContinuousClock.Instant) async {
        closed.store(true, ordering: .releasing)
        await withTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask { await worker.stop(deadline: deadline) }
            }
        }
    }

    // MARK: - Outcomes

    private func succeed(_ count: Int, response: [UInt8]) -> SpanExportResult {
        let (rejected, message) = Self.partialSuccess(response)
        let accepted = max(count - rejected, 0)
        counters.withLock {
            $0.exportedSpans += accepted
            $0.rejectedSpans += rejected
        }
        if rejected > 0 {
            logger.warning(
                "OTLP receiver rejected spans",
                [
                    LogKey.endpoint: configuration.endpoint, LogKey.count: "\(rejected)",
                    LogKey.reason: message,
                ])
        }
        return .success(rejected: rejected)
    }

    private func fail(_ count: Int, _ error: OTLPExportError) -> SpanExportResult {
        counters.withLock { $0.failedSpans += count }
        var metadata = [
            LogKey.endpoint: configuration.endpoint, LogKey.count: "\(count)",
            LogKey.reason: error.message, LogKey.error: error.code.rawValue,
        ]
        if let status = error.statusCode { metadata[LogKey.statusCode] = "\(status)" }
        logger.warning("OTLP export failed; spans dropped", metadata)
        return .failure(reason: error.description)
    }

    private func timedOut(attempts: Int) -> OTLPExportError {
        OTLPExportError(
            code: .timedOut,
            message: "export to \(configuration.endpoint) passed its deadline of "
                + "\(configuration.timeout) after \(attempts) attempt(s)")
    }

    // MARK: - Helpers

    static func statusError(_ status: Int, endpoint: String) -> OTLPExportError {
        // OTLP/HTTP §Failures: only these mean "try again later".
        let retriable = [429, 502, 503, 504].contains(status)
        return OTLPExportError(
            code: .httpStatus, message: "POST \(endpoint) answered HTTP \(status)",
            statusCode: status, isRetriable: retriable)
    }

    /// The rejected count and message of an `ExportTraceServiceResponse`; (0, "") for an
    /// empty or undecodable body (a 2xx answer means accepted).
    static func partialSuccess(_ body: [UInt8]) -> (rejected: Int, message: String) {
        guard !body.isEmpty else { return (0, "") }

        return body.withUnsafeBufferPointer { buffer in
            guard let response = ProtoCalls.unpackResponse(buffer) else { return (0, "") }
            defer { ProtoCalls.free(response) }

            guard let partial = response.pointee.partial_success else { return (0, "") }
            let message = partial.pointee.error_message.map { String(cString: $0) } ?? ""
            return (Int(clamping: max(partial.pointee.rejected_spans, 0)), message)
        }
    }

    /// True when `text` holds CR, LF or NUL. Scalars, not Characters: "\r\n" is a single
    /// Character in Swift and would slip past a Character comparison.
    private static func hasControlBreak(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
    }
}
