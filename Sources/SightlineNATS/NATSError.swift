import CNATS

/// A NATS or JetStream call failed: which operation, on what, and what the client said.
public struct NATSError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// No server could be reached, or the connection is closed.
        case connectionFailed
        /// A stream or consumer could not be created, checked or read.
        case setupFailed
        /// The server did not acknowledge a publish.
        case publishFailed
        /// A configuration value is out of range or a name cannot be used on NATS.
        case invalidConfiguration
        /// A JetStream API call (consumer info, message get or delete) failed.
        case requestFailed
    }

    public var code: Code
    /// What was being done, and on which stream, consumer or subject.
    public var message: String
    /// The cnats status text, when a cnats call failed.
    public var status: String?
    /// The JetStream error code, when the server returned one (0 otherwise).
    public var jetStreamCode: Int

    public init(_ code: Code, _ message: String, status: String? = nil, jetStreamCode: Int = 0) {
        self.code = code
        self.message = message
        self.status = status
        self.jetStreamCode = jetStreamCode
    }

    /// True when the same call may succeed later (the server was unreachable or slow).
    public var isRetryable: Bool {
        code == .connectionFailed || code == .publishFailed || code == .requestFailed
    }

    public var description: String {
        var text = "nats \(code.rawValue): \(message)"
        if let status {
            text += " (\(status)" + (jetStreamCode != 0 ? ", js \(jetStreamCode))" : ")")
        }
        return text
    }

    /// Builds the error for a failed cnats call, with the library's status text.
    static func failure(
        _ code: Code, _ message: String, _ status: natsStatus, _ jsCode: jsErrCode = jsErrCode(0)
    ) -> NATSError {
        let text = natsStatus_GetText(status).map { String(cString: $0) } ?? "status \(status)"
        return NATSError(code, message, status: text, jetStreamCode: Int(jsCode.rawValue))
    }
}
