import Sightline

/// How the OTLP/HTTP exporter reaches its receiver.
///
/// Every property has a default that works against a collector on the same host.
public struct OTLPExporterConfiguration: Sendable, Hashable {
    /// Body compression. OTLP/HTTP receivers MUST accept both.
    public enum Compression: String, Sendable, Hashable {
        /// The protobuf bytes as they are.
        case none
        /// A gzip member, sent with `Content-Encoding: gzip`.
        case gzip
    }

    /// When and how often a failed request is tried again.
    ///
    /// Only throttling and unavailability answers (429, 502, 503, 504) and connection
    /// failures are retried; the delay before attempt *n + 1* is
    /// `min(maxBackoff, initialBackoff × 2^(n-1))` scaled by a random factor in [0.5, 1),
    /// or exactly the receiver's `Retry-After` when it sent one. No retry is made when its
    /// delay would end after the export deadline (``OTLPExporterConfiguration/timeout``).
    public struct Retry: Sendable, Hashable {
        /// The delay before the second attempt. Default 1 s.
        public var initialBackoff: Duration
        /// The largest delay computed by the backoff (a `Retry-After` may exceed it).
        /// Default 5 s.
        public var maxBackoff: Duration
        /// Attempts per export call, the first one included; 1 disables retries. Default 5.
        public var maxAttempts: Int

        public init(
            initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(5),
            maxAttempts: Int = 5
        ) {
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.maxAttempts = maxAttempts
        }
    }

    /// The full URL requests are POSTed to, path included. Default
    /// `http://localhost:4318/v1/traces` (the OTLP/HTTP default port and traces path).
    public var endpoint: String
    /// Extra request headers (for example an authorization token). Default none. Names and
    /// values containing CR, LF or NUL are refused when the exporter is created.
    public var headers: [String: String]
    /// Default ``Compression/none``.
    public var compression: Compression
    /// The deadline of one export call, retries and their delays included. Default 10 s.
    public var timeout: Duration
    /// Default ``Retry/init(initialBackoff:maxBackoff:maxAttempts:)``.
    public var retry: Retry
    /// Connections to the receiver, each with a thread of its own, so that this many
    /// requests can be in flight at once (one per concurrent export call). Default 4.
    public var connections: Int

    public init(
        endpoint: String = "http://localhost:4318/v1/traces", headers: [String: String] = [:],
        compression: Compression = .none, timeout: Duration = .seconds(10),
        retry: Retry = Retry(), connections: Int = 4
    ) {
        self.endpoint = endpoint
        self.headers = headers
        self.compression = compression
        self.timeout = timeout
        self.retry = retry
        self.connections = connections
    }
}

extension OTLPExporterConfiguration.Retry {
    /// The delay before the attempt after `attempt` (1-based).
    ///
    /// - Parameters:
    ///   - attempt: the attempt that just failed, 1 for the first.
    ///   - retryAfter: the receiver's `Retry-After`, which wins when present.
    ///   - jitter: a number in [0, 1) (random in production); 0 gives half the backoff,
    ///     values near 1 give nearly all of it.
    func delay(afterAttempt attempt: Int, retryAfter: Duration?, jitter: Double) -> Duration {
        if let retryAfter { return max(retryAfter, .zero) }

        var backoff = max(initialBackoff, .zero)
        var doublings = max(attempt - 1, 0)
        while doublings > 0, backoff < maxBackoff {
            backoff *= 2
            doublings -= 1
        }
        backoff = min(backoff, maxBackoff)

        let factor = 0.5 + 0.5 * min(max(jitter, 0), 1)
        return backoff * factor
    }
}
