/// Why the `/metrics` server could not start.
public struct MetricsServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The host is neither an address literal nor a name the resolver knows.
        case invalidAddress
        /// Another socket already listens on the host and port.
        case portInUse
        /// The port is outside 0...65535.
        case invalidPort
        /// The socket could not be created, bound or put in listening state.
        case bindFailed
        /// libmicrohttpd refused to start on the bound socket.
        case daemonFailed
        /// `start()` was called on a running server.
        case alreadyRunning
    }

    public var code: Code
    public var host: String
    public var port: Int
    /// What went wrong, with the system's reason where there is one.
    public var message: String

    /// A taken port may be freed later; nothing else changes by retrying.
    public var isRetriable: Bool { code == .portInUse }

    public init(code: Code, host: String, port: Int, message: String) {
        self.code = code
        self.host = host
        self.port = port
        self.message = message
    }

    public var description: String {
        "metrics server cannot listen on \(host) port \(port): \(message) (\(code.rawValue))"
    }
}
