/// Why a metric family could not be registered. Retrying the same registration cannot help:
/// the definition itself is wrong or conflicts with one already registered.
public struct MetricsRegistrationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
        case invalidMetricName
        /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*` or starts with `__`.
        case invalidLabelName
        /// The same label name appears twice.
        case duplicateLabelName
        /// A histogram declares `le`, which exposition reserves for bucket bounds.
        case reservedLabelName
        /// A counter's name does not end in `_total`.
        case missingTotalSuffix
        /// Bucket bounds are not finite and strictly ascending.
        case invalidBuckets
        /// The name is already registered with another type, label names or buckets.
        case conflictingRegistration
    }

    public var code: Code
    /// The family name being registered.
    public var metricName: String
    /// What was wrong, naming the offending part.
    public var message: String

    public var isRetriable: Bool { false }

    public init(code: Code, metricName: String, message: String) {
        self.code = code
        self.metricName = metricName
        self.message = message
    }

    public var description: String {
        "cannot register metric \(metricName): \(message) (\(code.rawValue))"
    }
}
