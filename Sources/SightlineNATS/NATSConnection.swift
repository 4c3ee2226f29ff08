import CNATS
import Foundation
import Sightline
import Synchronization

/// Counts of a connection's state changes since it opened.
public struct NATSConnectionCounts: Hashable, Sendable {
    /// Times the connection to a server was lost.
    public var disconnects: Int
    /// Times the client connected again after a loss.
    public var reconnects: Int
    /// Asynchronous errors the client reported (slow consumer, permission denied…).
    public var errors: Int
    /// True once the connection is closed for good.
    public var closed: Bool
}

/// One connection to a NATS cluster with its JetStream context, shared by the transport
/// and the dead-letter store.
///
/// The client reconnects on its own with the configured backoff; every state change is
/// logged (info for a loss and a reconnect, warning when the connection closes for good)
/// and counted in ``counts``. Call ``close()`` when done; dropping the last reference also
/// closes it.
public final class NATSConnection: Sendable {
    // cnats connections and JetStream contexts are safe to use from any thread; these
    // handles are written once here and destroyed only in deinit, when nothing else holds
    // the object.
    nonisolated(unsafe) let handle: OpaquePointer
    nonisolated(unsafe) let jetStream: OpaquePointer
    let options: NATSConnectionOptions
    let logger: Logger
    private let events: ConnectionEvents
    private let isClosed = Atomic<Bool>(false)

    /// Connects to the first reachable server of `options.servers`.
    ///
    /// Blocks the calling thread for up to `connectTimeout` per server; call it before the
    /// bus starts, or from a thread of your own.
    ///
    /// - Throws: ``NATSError`` `connectionFailed` when no server answers,
    ///   `invalidConfiguration` when an option is refused.
    public init(options: NATSConnectionOptions, logger: Logger = .standardError) throws {
        self.options = options
        self.logger = logger.withComponent("sightline.nats")
        let events = ConnectionEvents(
            logger: self.logger, options: options,
            publishes: NATSPublishWindow(capacity: options.publishWindow))
        self.events = events

        var status = nats_Open(-1)
        guard status == NATS_OK else {
            throw NATSError.failure(.connectionFailed, "cannot initialise the NATS library", status)
        }
        var opts: OpaquePointer?
        status = natsOptions_Create(&opts)
        guard status == NATS_OK, let opts else {
            throw NATSError.failure(.connectionFailed, "cannot create connection options", status)
        }
        defer { natsOptions_Destroy(opts) }
        try Self.apply(options, to: opts, events: events)

        var connection: OpaquePointer?
        status = natsConnection_Connect(&connection, opts)
        guard status == NATS_OK, let connection else {
            throw NATSError.failure(
                .connectionFailed,
                "no server of \(options.servers.joined(separator: ", ")) accepted a connection",
                status)
        }
        var jsOptions = jsOptions()
        jsOptions_Init(&jsOptions)
        jsOptions.Wait = options.requestTimeout.wholeMilliseconds
        Self.routeAcknowledgements(of: &jsOptions, to: events)
        var context: OpaquePointer?
        status = natsConnection_JetStream(&context, connection, &jsOptions)
        guard status == NATS_OK, let context else {
            natsConnection_Destroy(connection)
            throw NATSError.failure(.connectionFailed, "cannot create a JetStream context", status)
        }
        self.handle = connection
        self.jetStream = context
        self.logger.info(
            "connected to NATS", [LogKey.endpoint: Self.connectedURL(connection) ?? "?"])
    }

    deinit {
        close()
        jsCtx_Destroy(jetStream)
        natsConnection_Destroy(handle)
        // The events object is deliberately never released: the client delivers the closed
        // callback from its own thread and may do so after destroy returns, so releasing
        // here let that callback run on freed memory. One small object per connection stays
        // allocated for the life of the process.
    }

    /// Asynchronous publishes through ``jetStream`` awaiting their acknowledgement.
    var publishes: NATSPublishWindow { events.publishes }

    /// State changes so far.
    public var counts: NATSConnectionCounts {
        events.counts(closed: isClosed.load(ordering: .relaxed))
    }

    /// True while connected to a server (false while reconnecting or once closed).
    public var isConnected: Bool {
        natsConnection_Status(handle) == NATS_CONN_STATUS_CONNECTED
    }

    /// The URL of the server now connected, if any.
    public var connectedURL: String? { Self.connectedURL(handle) }

    /// Closes the connection; later calls through it fail. Calling it again does nothing.
    public func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        natsConnection_Close(handle)
    }

    /// Flushes buffered protocol (acks included) to the server, waiting up to `timeout`.
    func flush(timeout: Duration) throws {
        let status = natsConnection_FlushTimeout(handle, timeout.wholeMilliseconds)
        guard status == NATS_OK else {
            throw NATSError.failure(.requestFailed, "flush did not complete", status)
        }
    }

    /// Sends the acknowledgement of every asynchronous publish to the publish window. The
    /// window bounds the publishes itself, so the client's own bound stays off.
    private static func routeAcknowledgements(
        of options: inout jsOptions, to events: ConnectionEvents
    ) {
        // The events object is retained for the life of the process (see deinit for why).
        options.PublishAsync.AckHandlerClosure = Unmanaged.passRetained(events).toOpaque()
        options.PublishAsync.MaxPending = 0
        options.PublishAsync.AckHandler = { _, message, _, failure, closure in
            defer { natsMsg_Destroy(message) }
            guard let closure, let message else { return }
            let events = Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
            var error: NATSError?
            if let failure {
                let subject = NATSMessage.subject(of: message)
                let reason = failure.pointee.ErrText.map { ": " + String(cString: $0) } ?? ""
                error = NATSError.failure(
                    .publishFailed, "publish to \(subject) was not acknowledged\(reason)",
                    failure.pointee.Err, failure.pointee.ErrCode)
            }
            events.publishes.complete(UInt(bitPattern: message), with: error)
        }
    }

    private static func connectedURL(_ connection: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 512)
        let status = natsConnection_GetConnectedUrl(connection, &buffer, buffer.count)
        guard status == NATS_OK else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func apply(
        _ options: NATSConnectionOptions, to opts: OpaquePointer, events: ConnectionEvents
    ) throws {
        func check(_ status: natsStatus, _ what: String) throws {
            guard status == NATS_OK else {
                throw NATSError.failure(.invalidConfiguration, "option \(what) refused", status)
            }
        }

        guard !options.servers.isEmpty else {
            throw NATSError(.invalidConfiguration, "no server URL is configured")
        }
        try withCStrings(options.servers) { pointers in
            var mutable = pointers
            try check(
                natsOptions_SetServers(opts, &mutable, Int32(options.servers.count)), "servers")
        }
        try check(natsOptions_SetNoRandomize(opts, true), "no randomize")
        try check(natsOptions_SetName(opts, options.name), "name")
        try check(natsOptions_SetTimeout(opts, options.connectTimeout.wholeMilliseconds), "timeout")
        try check(natsOptions_SetAllowReconnect(opts, true), "allow reconnect")
        try check(natsOptions_SetMaxReconnect(opts, Int32(options.maximumReconnects)), "reconnects")
        switch options.authentication {
        case .none:
            break
        case .userPassword(let user, let password):
            try check(natsOptions_SetUserInfo(opts, user, password), "user and password")
        case .token(let token):
            try check(natsOptions_SetToken(opts, token), "token")
        case .credentialsFile(let path):
            try check(natsOptions_SetUserCredentialsFromFiles(opts, path, nil), "credentials")
        }
        let wantsTLS = options.tls || options.servers.contains { $0.hasPrefix("tls://") }
        if wantsTLS {
            try check(natsOptions_SetSecure(opts, true), "tls")
            if let path = options.trustedCertificatesPath {
                try check(natsOptions_LoadCATrustedCertificates(opts, path), "trusted certificates")
            }
        }

        // The callbacks get the events object, retained for the life of the process (see
        // deinit for why).
        let context = Unmanaged.passRetained(events).toOpaque()
        try check(
            natsOptions_SetCustomReconnectDelay(
                opts,
                { _, attempts, closure in
                    guard let closure else { return 100 }
                    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure)
                        .takeUnretainedValue()
                    return events.options.reconnectDelay(forAttempt: Int(attempts))
                        .wholeMilliseconds
                }, context), "reconnect delay")
        try check(
            natsOptions_SetDisconnectedCB(
                opts,
                { _, closure in
                    guard let closure else { return }
                    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
                        .disconnected()
                }, context), "disconnected callback")
        try check(
            natsOptions_SetReconnectedCB(
                opts,
                { connection, closure in
                    guard let closure else { return }
                    let url = connection.flatMap { NATSConnection.connectedURL($0) }
                    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
                        .reconnected(to: url)
                }, context), "reconnected callback")
        try check(
            natsOptions_SetClosedCB(
                opts,
                { _, closure in
                    guard let closure else { return }
                    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
                        .closed()
                }, context), "closed callback")
        try check(
            natsOptions_SetErrorHandler(
                opts,
                { _, _, status, closure in
                    guard let closure else { return }
                    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue()
                        .asyncError(status)
                }, context), "error handler")
    }
}

/// Receives the client's connection callbacks (on the client's threads) and counts them, and
/// hands publish acknowledgements to the publish window.
private final class ConnectionEvents: Sendable {
    let logger: Logger
    let options: NATSConnectionOptions
    let publishes: NATSPublishWindow
    private let disconnects = Atomic<Int>(0)
    private let reconnects = Atomic<Int>(0)
    private let errors = Atomic<Int>(0)

    init(logger: Logger, options: NATSConnectionOptions, publishes: NATSPublishWindow) {
        self.logger = logger
        self.options = options
        self.publishes = publishes
    }

    func counts(closed: Bool) -> NATSConnectionCounts {
        NATSConnectionCounts(
            disconnects: disconnects.load(ordering: .relaxed),
            reconnects: reconnects.load(ordering: .relaxed),
            errors: errors.load(ordering: .relaxed), closed: closed)
    }

    func disconnected() {
        let count = disconnects.add(1, ordering: .relaxed).newValue
        logger.info("disconnected from NATS; reconnecting", [LogKey.count: String(count)])
    }

    func reconnected(to url: String?) {
        let count = reconnects.add(1, ordering: .relaxed).newValue
        logger.info(
            "reconnected to NATS", [LogKey.endpoint: url ?? "?", LogKey.count: String(count)])
    }

    func closed() {
        logger.info("NATS connection closed", [:])
        publishes.close()
    }

    func asyncError(_ status: natsStatus) {
        errors.add(1, ordering: .relaxed)
        let text = natsStatus_GetText(status).map { String(cString: $0) } ?? "\(status)"
        logger.warning("NATS client reported an error", [LogKey.error: text])
    }
}

/// Calls `body` with C copies of `strings`, valid only during the call.
func withCStrings<T>(
    _ strings: [String], _ body: ([UnsafePointer<CChar>?]) throws -> T
) rethrows -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    return try body(copies.map { UnsafePointer($0) })
}
