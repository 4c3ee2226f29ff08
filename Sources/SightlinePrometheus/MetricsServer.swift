import CMicroHTTPD
import Foundation
import Sightline
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Serves `/metrics` and `/healthz` over HTTP with libmicrohttpd.
///
/// The server binds its socket itself (so that a taken port or a bad address gives a precise
/// ``MetricsServerError``) and hands it to libmicrohttpd, which answers requests on its own
/// thread. A scrape renders from atomics and never blocks the bus. `start()` and `stop()`
/// may be called from any thread; `stop()` waits for libmicrohttpd's thread to finish.
public final class MetricsServer: Sendable {
    public let configuration: MetricsServerConfiguration
    private let endpoint: MetricsEndpoint
    private let logger: Logger
    private let state = Mutex<RunningDaemon?>(nil)

    /// - Parameters:
    ///   - registry: the families to expose.
    ///   - configuration: host and port; see ``MetricsServerConfiguration``.
    ///   - includeProcessMetrics: append the `process_*` families read from `/proc/self`.
    ///   - logger: receives an info line when the server starts and stops.
    public init(
        registry: MetricsRegistry, configuration: MetricsServerConfiguration = .init(),
        includeProcessMetrics: Bool = true, logger: Logger = .disabled
    ) {
        self.configuration = configuration
        self.endpoint = MetricsEndpoint(
            registry: registry, processMetrics: includeProcessMetrics ? .init() : nil)
        self.logger = logger.withComponent("sightline.prometheus")
    }

    /// The port the server listens on while running (the chosen one when configured with 0),
    /// nil otherwise.
    public var boundPort: Int? {
        state.withLock { $0?.port }
    }

    /// Binds the configured host and port and starts serving.
    ///
    /// - Throws: ``MetricsServerError`` naming the host and port: `.portInUse` when another
    ///   socket listens there, `.invalidAddress` for a host that does not resolve,
    ///   `.bindFailed` for other socket errors, `.alreadyRunning` on a second start.
    public func start() throws(MetricsServerError) {
        let host = configuration.host
        let port = configuration.port
        let result: Result<Int, MetricsServerError> = state.withLock { running in
            guard running == nil else {
                return .failure(
                    MetricsServerError(
                        code: .alreadyRunning, host: host, port: port,
                        message: "the server is already running"))
            }
            do throws(MetricsServerError) {
                let daemon = try RunningDaemon.start(
                    configuration: configuration, endpoint: endpoint)
                running = daemon
                return .success(daemon.port)
            } catch {
                return .failure(error)
            }
        }

        let boundPort = try result.get()
        logger.info(
            "serving metrics", [LogKey.endpoint: "http://\(host):\(boundPort)/metrics"])
    }

    /// Stops serving and closes the socket. Does nothing when not running.
    public func stop() {
        let daemon = state.withLock { running in
            defer { running = nil }
            return running
        }
        guard let daemon else { return }

        daemon.stop()
        logger.info("stopped serving metrics")
    }

    deinit {
        state.withLock { $0 }?.stop()
    }
}

/// A started libmicrohttpd daemon, its port and the retained endpoint its callback uses.
private struct RunningDaemon: @unchecked Sendable {
    // @unchecked: `server` is an opaque C pointer that is only passed to
    // sightline_mhd_stop, once, by whoever takes this value out of the server's Mutex.
    let server: OpaquePointer
    let port: Int
    let context: Unmanaged<EndpointBox>

    static func start(
        configuration: MetricsServerConfiguration, endpoint: MetricsEndpoint
    ) throws(MetricsServerError) -> RunningDaemon {
        let listener = try ListeningSocket.bind(
            host: configuration.host, port: configuration.port)

        let context = Unmanaged.passRetained(EndpointBox(endpoint))
        let server = sightline_mhd_start(
            listener.descriptor, UInt32(clamping: max(1, configuration.connectionLimit)),
            UInt32(clamping: max(1, configuration.connectionTimeoutSeconds)),
            { context, connection, method, url in
                guard let context, let connection else { return }
                let box = Unmanaged<EndpointBox>.fromOpaque(context).takeUnretainedValue()
                box.handle(connection: connection, method: method, url: url)
            }, context.toOpaque())
        guard let server else {
            context.release()
            close(listener.descriptor)
            throw MetricsServerError(
                code: .daemonFailed, host: configuration.host, port: listener.port,
                message: "libmicrohttpd did not start")
        }
        return RunningDaemon(server: server, port: listener.port, context: context)
    }

    func stop() {
        sightline_mhd_stop(server)
        context.release()
    }
}

/// The endpoint behind the C callback's context pointer.
private final class EndpointBox: Sendable {
    let endpoint: MetricsEndpoint

    init(_ endpoint: MetricsEndpoint) {
        self.endpoint = endpoint
    }

    func handle(
        connection: OpaquePointer, method: UnsafePointer<CChar>?, url: UnsafePointer<CChar>?
    ) {
        let response = endpoint.respond(
            method: method.map { String(cString: $0) } ?? "",
            path: url.map { String(cString: $0) } ?? "",
            accept: header(connection, "Accept"),
            acceptEncoding: header(connection, "Accept-Encoding"))

        _ = response.body.withUnsafeBufferPointer { body in
            if let encoding = response.contentEncoding {
                return sightline_mhd_respond(
                    connection, UInt32(response.status), response.contentType, encoding,
                    body.baseAddress, body.count)
            }
            return sightline_mhd_respond(
                connection, UInt32(response.status), response.contentType, nil,
                body.baseAddress, body.count)
        }
    }

    private func header(_ connection: OpaquePointer, _ name: String) -> String? {
        sightline_mhd_header(connection, name).map { String(cString: $0) }
    }
}
