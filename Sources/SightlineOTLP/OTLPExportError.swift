/// Why an export attempt, or the creation of an exporter, failed.
public struct OTLPExportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure; stable across versions.
    public enum Code: String, Sendable, Hashable {
        /// The configuration cannot work (bad endpoint, bad header); fix it and recreate.
        case invalidConfiguration
        /// No connection could be made, or it broke before an answer came.
        case connectionFailed
        /// The export deadline passed.
        case timedOut
        /// The receiver answered with a status other than 2xx.
        case httpStatus
        /// The exporter was shut down.
        case shutDown
        /// Too many export calls were waiting for the worker thread.
        case busy
        /// libcurl or zlib failed locally.
        case clientFailure
    }

    public var code: Code
    /// What went wrong and where (endpoint, status, libcurl's message).
    public var message: String
    /// The HTTP status, for ``Code/httpStatus``.
    public var statusCode: Int?
    /// True when the same request may succeed later (throttling, unavailability, network).
    public var isRetriable: Bool

    public init(code: Code, message: String, statusCode: Int? = nil, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.statusCode = statusCode
        self.isRetriable = isRetriable
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
