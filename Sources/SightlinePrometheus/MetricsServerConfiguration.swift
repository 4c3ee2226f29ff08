import Foundation
import Sightline

/// Where the `/metrics` server listens.
public struct MetricsServerConfiguration: Sendable, Equatable {
    /// The host to bind. `localhost` binds 127.0.0.1; IPv4 and IPv6 literals (`::1`, with or
    /// without brackets, `0.0.0.0`, `::`) bind as written; other names bind the first address
    /// the resolver returns. Environment: `OTEL_EXPORTER_PROMETHEUS_HOST`. Default
    /// `localhost`.
    public var host: String
    /// The TCP port; 0 picks a free one (see ``MetricsServer/boundPort``). Environment:
    /// `OTEL_EXPORTER_PROMETHEUS_PORT`. Default 9464.
    public var port: Int
    /// Connections served at once; more wait in the listen backlog. Default 16.
    public var connectionLimit: Int
    /// Seconds after which an idle connection is closed. Default 10.
    public var connectionTimeoutSeconds: Int

    public static let hostVariable = "OTEL_EXPORTER_PROMETHEUS_HOST"
    public static let portVariable = "OTEL_EXPORTER_PROMETHEUS_PORT"

    public init(
        host: String = "localhost", port: Int = 9464, connectionLimit: Int = 16,
        connectionTimeoutSeconds: Int = 10
    ) {
        self.host = host
        self.port = port
        self.connectionLimit = connectionLimit
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
    }

    /// The defaults with `OTEL_EXPORTER_PROMETHEUS_HOST` and `OTEL_EXPORTER_PROMETHEUS_PORT`
    /// applied from `environment`. An invalid value (an empty or blank host, a port that is
    /// not an integer from 1 to 65535) keeps the default and logs a warning naming the
    /// variable.
    public static func fromEnvironment(
        _ environment: [String: String], logger: Logger = .disabled
    ) -> MetricsServerConfiguration {
        var configuration = MetricsServerConfiguration()

        if let host = environment[hostVariable] {
            let trimmed = host.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.contains(where: \.isWhitespace) {
                logger.warning(
                    "invalid \(hostVariable); using the default \(configuration.host)",
                    [LogKey.setting: hostVariable, LogKey.value: host])
            } else {
                configuration.host = trimmed
            }
        }

        if let text = environment[portVariable] {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let port = Int(trimmed), (1...65535).contains(port) {
                configuration.port = port
            } else {
                logger.warning(
                    "invalid \(portVariable): not a port from 1 to 65535; using the default "
                        + "\(configuration.port)",
                    [LogKey.setting: portVariable, LogKey.value: text])
            }
        }
        return configuration
    }
}
