import CSQLite
import Foundation

/// A fresh directory under the system's temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Runs SQL on a file with a plain SQLite connection, outside the store, to set up files
/// the store must cope with.
enum RawSQLite {
    static func execute(_ sql: String, at path: String) throws {
        let db = try open(path)
        defer { sqlite3_close_v2(db) }
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw RawSQLiteError(message: String(cString: sqlite3_errmsg(db)))
        }
    }

    /// Opens a connection the caller closes with `sqlite3_close_v2`.
    static func open(_ path: String) throws -> OpaquePointer {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else {
            throw RawSQLiteError(message: "cannot open \(path)")
        }
        return db
    }
}

struct RawSQLiteError: Error {
    var message: String
}
