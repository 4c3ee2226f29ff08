import CSightlineCurl
import Dispatch
import Foundation
import Sightline
import Synchronization

/// What one HTTP POST came to.
enum CurlOutcome: Sendable {
    /// The receiver answered. `retryAfter` is its `Retry-After`, when present.
    case response(status: Int, body: [UInt8], retryAfter: Duration?)
    /// No answer: the connection failed, timed out or the worker stopped.
    case failed(OTLPExportError)
}

/// Runs libcurl transfers one at a time on a thread of its own (an exporter keeps one worker
/// per connection), never on the cooperative
/// pool, and keeps one easy handle so that the connection is reused between requests.
///
/// Callers `await` ``post(_:timeout:)``; the thread resumes them when the transfer ends. At
/// most ``capacity`` posts wait at once; more fail at once with ``OTLPExportError/Code/busy``.
final class CurlWorker: Sendable {
    private struct Job: Sendable {
        var body: [UInt8]
        var timeout: Duration
        var continuation: CheckedContinuation<CurlOutcome, Never>
    }

    private struct State {
        var jobs: [Job] = []
        var isBusy = false
        var stopping = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The C response buffer and abort flag. Safe to share: the thread alone reads and
    /// writes the buffer, and other threads only call the atomic abort function.
    private struct ExchangeHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    static let capacity = 8

    /// Bodies of error answers beyond this are cut; an export response is a few bytes.
    private static let responseLimit = 64 * 1024

    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

    private let endpoint: String
    private let headerLines: [String]
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let exchange: ExchangeHandle

    /// Starts the thread.
    ///
    /// - Parameters:
    ///   - endpoint: the URL every request goes to.
    ///   - headerLines: complete `Name: value` lines, already validated.
    /// - Throws: ``OTLPExportError/Code/clientFailure`` when libcurl cannot start.
    init(endpoint: String, headerLines: [String]) throws(OTLPExportError) {
        guard Self.globalInit == CURLE_OK,
            let pointer = sightline_curl_exchange_create(Self.responseLimit)
        else {
            throw OTLPExportError(
                code: .clientFailure, message: "libcurl could not be initialised")
        }
        self.endpoint = endpoint
        self.headerLines = headerLines
        self.exchange = ExchangeHandle(pointer: pointer)

        let thread = Thread { [self] in run() }
        thread.name = "sightline-otlp-http"
        thread.start()
    }

    deinit {
        sightline_curl_exchange_destroy(exchange.pointer)
    }

    /// Posts waiting or running on this worker right now.
    var load: Int {
        state.withLock { $0.jobs.count + ($0.isBusy ? 1 : 0) }
    }

    /// POSTs `body` and waits for the outcome, giving the transfer `timeout` at most.
    func post(_ body: [UInt8], timeout: Duration) async -> CurlOutcome {
        await withCheckedContinuation { continuation in
            let refusal: OTLPExportError? = state.withLock { state in
                if state.stopping {
                    return OTLPExportError(code: .shutDown, message: "the exporter is shut down")
                }
                if state.jobs.count >= Self.capacity {
                    return OTLPExportError(
                        code: .busy,
                        message: "more than \(Self.capacity) exports wait for \(endpoint)")
                }
                state.jobs.append(Job(body: body, timeout: timeout, continuation: continuation))
                return nil
            }

            if let refusal {
                continuation.resume(returning: .failed(refusal))
            } else {
                wakeup.signal()
            }
        }
    }

    /// Asks the thread to stop after the current transfer; waiting posts fail. Returns at
    /// once.
    func requestStop() {
        let first = state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
        if first { wakeup.signal() }
    }

    /// Stops the thread and waits until it has exited. A transfer still running at
    /// `deadline` is aborted.
    func stop(deadline: ContinuousClock.Instant) async {
        requestStop()

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForExit() }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                if !Task.isCancelled { sightline_curl_exchange_abort(self.exchange.pointer) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForExit() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if !state.exited { state.exitWaiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }

    // MARK: - The thread

    private func run() {
        let handle = curl_easy_init()
        var headers: UnsafeMutablePointer<curl_slist>?
        for line in headerLines {
            headers = curl_slist_append(headers, line)
        }
        let setupFailure = handle.flatMap { configure($0, headers: headers) }

        while true {
            wakeup.wait()
            let (job, stopping) = state.withLock { state in
                let job = state.jobs.isEmpty ? nil : state.jobs.removeFirst()
                state.isBusy = job != nil
                return (job, state.stopping)
            }
            if stopping { job.map { fail($0, shutDown()) } }
            if stopping { break }
            guard let job else { continue }

            if let handle, setupFailure == nil {
                let outcome = perform(job, on: handle)
                state.withLock { $0.isBusy = false }
                job.continuation.resume(returning: outcome)
            } else {
                let error =
                    setupFailure
                    ?? OTLPExportError(code: .clientFailure, message: "curl_easy_init failed")
                job.continuation.resume(returning: .failed(error))
            }
        }

        curl_slist_free_all(headers)
        if let handle { curl_easy_cleanup(handle) }

        let (leftovers, waiters) = state.withLock { state in
            defer {
                state.jobs = []
                state.exitWaiters = []
                state.exited = true
            }
            return (state.jobs, state.exitWaiters)
        }
        for job in leftovers { fail(job, shutDown()) }
        for waiter in waiters { waiter.resume() }
    }

    private func shutDown() -> OTLPExportError {
        OTLPExportError(code: .shutDown, message: "the exporter is shut down")
    }

    private func fail(_ job: Job, _ error: OTLPExportError) {
        job.continuation.resume(returning: .failed(error))
    }

    /// Sets the options that stay the same for every request. Returns what failed, if any.
    private func configure(
        _ handle: UnsafeMutableRawPointer, headers: UnsafeMutablePointer<curl_slist>?
    ) -> OTLPExportError? {
        var code = sightline_curl_setopt_string(handle, CURLOPT_URL, endpoint)
        // No signals: libcurl's resolver timeouts would otherwise raise SIGALRM on a thread
        // that does not expect it.
        if code == CURLE_OK { code = sightline_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) }
        if code == CURLE_OK { code = sightline_curl_setopt_long(handle, CURLOPT_POST, 1) }
        if code == CURLE_OK {
            code = sightline_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers)
        }
        if code == CURLE_OK {
            code = sightline_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        }
        if code == CURLE_OK { code = sightline_curl_exchange_attach(exchange.pointer, handle) }
        guard code != CURLE_OK else { return nil }
        return OTLPExportError(
            code: .clientFailure,
            message: "libcurl refused an option for \(endpoint): \(Self.describe(code))")
    }

    private func perform(_ job: Job, on handle: UnsafeMutableRawPointer) -> CurlOutcome {
        sightline_curl_exchange_reset(exchange.pointer)
        let milliseconds = max(job.timeout.nanoseconds / 1_000_000, 1)

        let code = job.body.withUnsafeBytes { body -> CURLcode in
            var code = sightline_curl_setopt_pointer(
                handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress))
            if code == CURLE_OK {
                code = sightline_curl_setopt_offset(
                    handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            }
            if code == CURLE_OK {
                code = sightline_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(milliseconds))
            }
            if code == CURLE_OK { code = curl_easy_perform(handle) }
            // The body dies with this closure; libcurl must not keep a pointer into it.
            _ = sightline_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
            return code
        }

        guard code == CURLE_OK else { return .failed(error(for: code)) }

        var status = 0
        _ = sightline_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var retryAfter: curl_off_t = 0
        _ = sightline_curl_getinfo_offset(handle, CURLINFO_RETRY_AFTER, &retryAfter)

        let length = sightline_curl_exchange_length(exchange.pointer)
        let body: [UInt8]
        if let start = sightline_curl_exchange_body(exchange.pointer), length > 0 {
            body = Array(UnsafeBufferPointer(start: start, count: length))
        } else {
            body = []
        }
        return .response(
            status: status, body: body,
            retryAfter: retryAfter > 0 ? .seconds(Int64(retryAfter)) : nil)
    }

    private func error(for code: CURLcode) -> OTLPExportError {
        let message = "POST \(endpoint) failed: \(Self.describe(code))"
        switch code {
        case CURLE_ABORTED_BY_CALLBACK:
            return OTLPExportError(code: .shutDown, message: message)
        case CURLE_OPERATION_TIMEDOUT:
            return OTLPExportError(code: .timedOut, message: message, isRetriable: true)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
            CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
            CURLE_SSL_CONNECT_ERROR:
            return OTLPExportError(code: .connectionFailed, message: message, isRetriable: true)
        default:
            return OTLPExportError(code: .clientFailure, message: message)
        }
    }

    private static func describe(_ code: CURLcode) -> String {
        "\(String(cString: curl_easy_strerror(code))) (curl code \(code.rawValue))"
    }
}
