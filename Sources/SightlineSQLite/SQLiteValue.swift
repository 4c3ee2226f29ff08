import Foundation

/// A value bound to a statement's parameter or read from a result column.
public enum SQLiteValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
    public init(integerLiteral value: Int64) { self = .integer(value) }

    public init(stringLiteral value: String) { self = .text(value) }

    public init(floatLiteral value: Double) { self = .real(value) }

    public init(nilLiteral: ()) { self = .null }
}

extension SQLiteValue {
    /// The value as an integer, or nil when it is not one.
    public var integer: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    /// The value as a number: integers widen to `Double`.
    public var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    /// The value as text, or nil when it is not text.
    public var text: String? {
        if case .text(let value) = self { value } else { nil }
    }

    /// The value as bytes, or nil when it is not a blob.
    public var blob: Data? {
        if case .blob(let value) = self { value } else { nil }
    }

    public var isNull: Bool { self == .null }
}

/// One result row: its values in column order.
public struct SQLiteRow: Hashable, Sendable {
    public var values: [SQLiteValue]

    public init(_ values: [SQLiteValue]) {
        self.values = values
    }

    /// The value of column `index`, or `.null` past the last column.
    public subscript(index: Int) -> SQLiteValue {
        values.indices.contains(index) ? values[index] : .null
    }
}
