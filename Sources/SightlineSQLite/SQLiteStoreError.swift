/// A failure of the SQLite store, with the database file it concerns.
///
/// The store never deletes, truncates or recreates a file because of one of these errors:
/// a file it cannot use is left exactly as it was found.
public struct SQLiteStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, stable across releases.
    public enum Code: String, Hashable, Sendable {
        /// The file or its directory cannot be opened or created.
        case cannotOpen = "cannot_open"
        /// Another connection held a lock for longer than the busy timeout.
        case locked
        /// The file (or its directory) cannot be written.
        case readOnly = "read_only"
        /// The disk or the database's size limit is full.
        case full
        /// The file is not a SQLite database, or its pages are damaged.
        case corrupt
        /// The file was written by a newer release of Sightline whose schema this one does
        /// not know.
        case newerSchema = "newer_schema"
        /// The store was closed.
        case closed
        /// A stored value does not decode (an envelope, a column of the wrong type).
        case badRow = "bad_row"
        /// A statement failed for another reason (a constraint, a syntax error in SQL a
        /// unit of work passed, an I/O error).
        case statementFailed = "statement_failed"
        /// The store was used in a way its contract forbids (a transaction used after it
        /// ended, a nested transaction).
        case misuse
    }

    public var code: Code
    /// The database file.
    public var path: String
    /// What was being done and what SQLite said.
    public var message: String
    /// SQLite's extended result code, when SQLite reported the failure.
    public var sqliteCode: Int32?

    public init(_ code: Code, path: String, _ message: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.sqliteCode = sqliteCode
    }

    /// True when trying again later may succeed (a lock that may be released, a disk that
    /// may get room).
    public var isRetriable: Bool {
        code == .locked || code == .full
    }

    public var description: String {
        let suffix = sqliteCode.map { " (SQLite code \($0))" } ?? ""
        return "SQLite store \(path): \(code.rawValue): \(message)\(suffix)"
    }
}
