import CSQLite
import Foundation

/// One open SQLite database handle with its cache of prepared statements.
///
/// Not thread-safe by design: a connection is created, used and closed by one
/// ``SQLiteWorker`` thread only, and never leaves it.
final class SQLiteConnection {
    let path: String
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private(set) var isInTransaction = false

    init(path: String) {
        self.path = path
    }

    deinit {
        close()
    }

    // SQLite's SQLITE_TRANSIENT macro does not import: it is the destructor value -1, which
    // tells SQLite to copy the bound bytes before the call returns.
    private static let transient = unsafeBitCast(
        OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    // MARK: Opening and closing

    /// Opens (creating when missing) the database file.
    ///
    /// Nothing is written here: a file that is not a database is detected by the first read.
    func open(busyTimeout: Duration) throws(SQLiteStoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw SQLiteStoreError(
                Self.code(for: status, fallback: .cannotOpen), path: path,
                "cannot open the database file: \(message)", sqliteCode: status)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        let milliseconds = Int32(clamping: busyTimeout.nanoseconds / 1_000_000)
        sqlite3_busy_timeout(db, milliseconds)
    }

    /// True when SQLite opened the file without write access.
    var isReadOnly: Bool {
        guard let handle else { return true }
        return sqlite3_db_readonly(handle, "main") == 1
    }

    /// Finalizes every cached statement and closes the handle. Safe to call twice.
    func close() {
        for statement in statements.values {
            sqlite3_finalize(statement)
        }
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    // MARK: Statements

    /// Runs one or more statements that take no parameters and return nothing needed.
    func execute(script sql: String) throws(SQLiteStoreError) {
        let db = try openHandle()
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(db, sql, nil, nil, &errorMessage)
        guard status == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(errorMessage)
            throw failure(status, doing: "running \(Self.abbreviate(sql))", message: message)
        }
    }

    /// Runs a statement (prepared once, then cached) with `parameters` bound in order and
    /// returns every row it produced.
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws(SQLiteStoreError)
        -> [SQLiteRow]
    {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        try bind(parameters, to: statement, sql: sql)

        var rows: [SQLiteRow] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else {
                throw failure(status, doing: "running \(Self.abbreviate(sql))")
            }
            rows.append(Self.row(of: statement))
        }
        return rows
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int {
        handle.map { Int(sqlite3_changes($0)) } ?? 0
    }

    // MARK: Transactions

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
    ///
    /// IMMEDIATE takes the write lock at the start, so a busy database fails before any of
    /// `body`'s work rather than at commit.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        guard !isInTransaction else {
            throw SQLiteStoreError(.misuse, path: path, "transactions do not nest")
        }
        try execute(script: "BEGIN IMMEDIATE")
        isInTransaction = true
        defer { isInTransaction = false }

        let result: T
        do {
            result = try body()
        } catch {
            try? execute(script: "ROLLBACK")
            throw error
        }
        do {
            try execute(script: "COMMIT")
        } catch {
            try? execute(script: "ROLLBACK")
            throw error
        }
        return result
    }

    // MARK: Internals

    private func openHandle() throws(SQLiteStoreError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteStoreError(.closed, path: path, "the store is closed")
        }
        return handle
    }

    private func prepared(_ sql: String) throws(SQLiteStoreError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        let db = try openHandle()
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(
            db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw failure(status, doing: "preparing \(Self.abbreviate(sql))")
        }
        statements[sql] = statement
        return statement
    }

    private func bind(_ parameters: [SQLiteValue], to statement: OpaquePointer, sql: String)
        throws(SQLiteStoreError)
    {
        let expected = Int(sqlite3_bind_parameter_count(statement))
        guard expected == parameters.count else {
            throw SQLiteStoreError(
                .misuse, path: path,
                "\(Self.abbreviate(sql)) takes \(expected) parameter(s), got \(parameters.count)")
        }
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null:
                status = sqlite3_bind_null(statement, index)
            case .integer(let number):
                status = sqlite3_bind_int64(statement, index, number)
            case .real(let number):
                status = sqlite3_bind_double(statement, index, number)
            case .text(let text):
                status = sqlite3_bind_text(statement, index, text, -1, Self.transient)
            case .blob(let data):
                status = data.withUnsafeBytes { bytes in
                    // An empty blob still binds as a blob, not as NULL.
                    sqlite3_bind_blob64(
                        statement, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                        sqlite3_uint64(bytes.count), Self.transient)
                }
            }
            guard status == SQLITE_OK else {
                throw failure(status, doing: "binding parameter \(index)")
            }
        }
    }

    private static func row(of statement: OpaquePointer) -> SQLiteRow {
        let count = sqlite3_column_count(statement)
        var values: [SQLiteValue] = []
        values.reserveCapacity(Int(count))
        for column in 0..<count {
            switch sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER:
                values.append(.integer(sqlite3_column_int64(statement, column)))
            case SQLITE_FLOAT:
                values.append(.real(sqlite3_column_double(statement, column)))
            case SQLITE_TEXT:
                let text = sqlite3_column_text(statement, column).map { String(cString: $0) }
                values.append(.text(text ?? ""))
            case SQLITE_BLOB:
                let length = Int(sqlite3_column_bytes(statement, column))
                if let bytes = sqlite3_column_blob(statement, column), length > 0 {
                    values.append(.blob(Data(bytes: bytes, count: length)))
                } else {
                    values.append(.blob(Data()))
                }
            default:
                values.append(.null)
            }
        }
        return SQLiteRow(values)
    }

    /// Builds the typed error for a failed call, with SQLite's own message.
    func failure(_ status: Int32, doing what: String, message: String? = nil)
        -> SQLiteStoreError
    {
        let detail = message ?? handle.map { String(cString: sqlite3_errmsg($0)) } ?? ""
        return SQLiteStoreError(
            Self.code(for: status, fallback: .statementFailed), path: path,
            "\(what) failed: \(detail)", sqliteCode: status)
    }

    /// Maps SQLite's primary result code to the store's error code.
    static func code(for status: Int32, fallback: SQLiteStoreError.Code)
        -> SQLiteStoreError.Code
    {
        switch status & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: .locked
        case SQLITE_READONLY, SQLITE_PERM: .readOnly
        case SQLITE_FULL: .full
        case SQLITE_CORRUPT, SQLITE_NOTADB: .corrupt
        case SQLITE_CANTOPEN: .cannotOpen
        default: fallback
        }
    }

    private static func abbreviate(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count <= 60 ? "'\(flat)'" : "'\(flat.prefix(57))...'"
    }
}
