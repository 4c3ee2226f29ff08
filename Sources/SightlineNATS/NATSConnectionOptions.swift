/// How to reach and authenticate with NATS servers. Each property documents its default.
public struct NATSConnectionOptions: Sendable {
    /// How a client proves who it is.
    public enum Authentication: Sendable, Hashable {
        case none
        case userPassword(user: String, password: String)
        case token(String)
        /// A `.creds` file holding a user JWT and its NKey seed.
        case credentialsFile(path: String)
    }

    /// Server URLs such as `nats://127.0.0.1:4222`; the client tries them all and
    /// reconnects to any. Default: `nats://127.0.0.1:4222`.
    public var servers: [String]
    /// Default: none.
    public var authentication: Authentication
    /// Require TLS on every connection. Default: false (a `tls://` URL also turns it on).
    public var tls: Bool
    /// A PEM file of certificate authorities to trust, for TLS. Default: the system's.
    /// Not yet: client certificates (mutual TLS) cannot be configured.
    public var trustedCertificatesPath: String?
    /// The name the server shows for this connection. Default: `sightline`.
    public var name: String
    /// How long one connection attempt may take. Default: 2 s.
    public var connectTimeout: Duration
    /// Reconnect attempts per server before giving up; -1 retries forever. Default: -1.
    public var maximumReconnects: Int
    /// The first delay between reconnect attempts; it doubles up to `maximumReconnectDelay`.
    /// Default: 100 ms.
    public var reconnectDelay: Duration
    /// The ceiling of the reconnect backoff. Default: 5 s.
    public var maximumReconnectDelay: Duration
    /// How long JetStream API calls and publish acknowledgements may take. Default: 5 s.
    public var requestTimeout: Duration
    /// The most publishes awaiting JetStream's acknowledgement at once on this connection;
    /// a publish beyond it waits until an earlier one is acknowledged or fails. Publishes
    /// travel without waiting for each other, so this bounds both memory and the work the
    /// server holds for the connection. Default: 256.
    public var publishWindow: Int

    public init(
        servers: [String] = ["nats://127.0.0.1:4222"], authentication: Authentication = .none,
        tls: Bool = false, trustedCertificatesPath: String? = nil, name: String = "sightline",
        connectTimeout: Duration = .seconds(2), maximumReconnects: Int = -1,
        reconnectDelay: Duration = .milliseconds(100),
        maximumReconnectDelay: Duration = .seconds(5), requestTimeout: Duration = .seconds(5),
        publishWindow: Int = 256
    ) {
        self.servers = servers
        self.authentication = authentication
        self.tls = tls
        self.trustedCertificatesPath = trustedCertificatesPath
        self.name = name
        self.connectTimeout = connectTimeout
        self.maximumReconnects = maximumReconnects
        self.reconnectDelay = reconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
        self.requestTimeout = requestTimeout
        self.publishWindow = publishWindow
    }

    /// The delay before reconnect attempt `attempt` (1-based): doubling from
    /// `reconnectDelay`, capped at `maximumReconnectDelay`.
    public func reconnectDelay(forAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let delay = reconnectDelay * (1 << exponent)
        return min(delay, maximumReconnectDelay)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
