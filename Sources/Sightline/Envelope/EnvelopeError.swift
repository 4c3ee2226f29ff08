/// An envelope could not be decoded, or a header map does not describe a valid envelope.
///
/// The message says what was wrong and where (the field or header, the byte offset).
/// Retrying the same bytes cannot help.
public struct EnvelopeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The input ends before a field it announced.
        case truncated
        /// The input does not start with Sightline's envelope marker.
        case notAnEnvelope
        /// A format version this build does not read.
        case unsupportedVersion
        /// Larger than ``EnvelopeLimits`` allow.
        case oversized
        /// A required field or header is absent.
        case missingField
        /// A field or header holds a value of the wrong form.
        case invalidField
        /// A field that may appear once appears twice.
        case duplicateField
        /// A free-form header uses a name Sightline reserves.
        case reservedHeader
    }

    public var code: Code
    /// The field or header concerned, when there is one.
    public var field: String?
    public var message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "envelope \(code.rawValue) (\(field)): \(message)" }
        return "envelope \(code.rawValue): \(message)"
    }
}
