import Foundation
import Synchronization

/// How severe a log line is. Sightline logs at `info` and below in normal operation and at
/// `warning` when data is lost, dropped or a setting was refused.
public enum LogLevel: Int, Comparable, Sendable, CustomStringConvertible {
    case trace, debug, info, notice, warning, error, critical

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }
}

/// One structured log line. Payloads never appear here, only identifiers and counts.
public struct LogRecord: Sendable {
    public var level: LogLevel
    public var message: String
    public var metadata: [String: String]
    public var component: String
    public var time: Date

    public init(
        level: LogLevel, message: String, metadata: [String: String], component: String,
        time: Date = Date()
    ) {
        self.level = level
        self.message = message
        self.metadata = metadata
        self.component = component
        self.time = time
    }
}

/// Where Sightline's log lines go. A service routes them into its own logging system by
/// implementing this protocol; implementations must be cheap and must not block for long.
public protocol LogSink: Sendable {
    func write(_ record: LogRecord)
}

/// The metadata keys Sightline uses, in one place so that every line spells them alike.
public enum LogKey {
    public static let channel = "sightline.channel"
    public static let group = "sightline.group"
    public static let messageID = "sightline.message.id"
    public static let messageType = "sightline.message.type"
    public static let attempt = "sightline.attempt"
    public static let reason = "sightline.reason"
    public static let error = "sightline.error"
    public static let count = "sightline.count"
    public static let delay = "sightline.delay"
    public static let setting = "sightline.setting"
    public static let value = "sightline.value"
    public static let endpoint = "sightline.endpoint"
    public static let statusCode = "sightline.status_code"
}

/// A small logger handed to each component. It filters by level before building anything.
public struct Logger: Sendable {
    public var sink: any LogSink
    public var minimumLevel: LogLevel
    public var component: String

    public init(sink: any LogSink, minimumLevel: LogLevel = .info, component: String = "sightline")
    {
        self.sink = sink
        self.minimumLevel = minimumLevel
        self.component = component
    }

    /// The default: structured lines on standard error at `info` and above.
    public static let standardError = Logger(sink: StandardErrorLogSink())

    /// A logger that drops everything, for tests and benchmarks.
    public static let disabled = Logger(sink: DiscardingLogSink(), minimumLevel: .critical)

    /// The same sink and level, tagged with another component name.
    public func withComponent(_ component: String) -> Logger {
        var copy = self
        copy.component = component
        return copy
    }

    public func log(
        _ level: LogLevel, _ message: @autoclosure () -> String,
        _ metadata: @autoclosure () -> [String: String] = [:]
    ) {
        guard level >= minimumLevel else { return }
        sink.write(
            LogRecord(level: level, message: message(), metadata: metadata(), component: component)
        )
    }

    public func debug(
        _ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]
    ) {
        log(.debug, message(), metadata())
    }

    public func info(
        _ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]
    ) {
        log(.info, message(), metadata())
    }

    public func warning(
        _ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]
    ) {
        log(.warning, message(), metadata())
    }

    public func error(
        _ message: @autoclosure () -> String, _ metadata: @autoclosure () -> [String: String] = [:]
    ) {
        log(.error, message(), metadata())
    }
}

/// Writes `time level component: message key=value …` lines to standard error.
public struct StandardErrorLogSink: LogSink {
    public init() {}

    public func write(_ record: LogRecord) {
        var line = "\(Self.timestamp(record.time)) \(record.level) \(record.component): "
        line += record.message
        for key in record.metadata.keys.sorted() {
            line += " \(key)=\(Self.quoted(record.metadata[key]!))"
        }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
    }

    private static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" }
        guard needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// Drops every record.
public struct DiscardingLogSink: LogSink {
    public init() {}
    public func write(_ record: LogRecord) {}
}

/// Keeps records in memory (bounded), so that tests can assert what was logged.
public final class CollectingLogSink: LogSink {
    private let records = Mutex<[LogRecord]>([])
    private let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    public func write(_ record: LogRecord) {
        records.withLock {
            if $0.count == capacity { $0.removeFirst() }
            $0.append(record)
        }
    }

    public var collected: [LogRecord] { records.withLock { $0 } }
}
