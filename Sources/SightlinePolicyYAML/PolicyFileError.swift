import Sightline

/// A policy file that cannot be used: where (file, line, field) and why.
public struct PolicyFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file as it was named to the loader.
    public var file: String
    /// The 1-based line of the offending node; nil when the file could not be read at all.
    public var line: Int?
    /// The dotted path of the field (`thresholds.shed_start`), `yaml` for a syntax error,
    /// or empty for the file as a whole.
    public var field: String
    public var reason: String

    public init(file: String, line: Int?, field: String, reason: String) {
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
    }

    /// `file:line: field: reason`, the form editors and CI logs link to.
    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return field.isEmpty ? "\(place): \(reason)" : "\(place): \(field): \(reason)"
    }
}
