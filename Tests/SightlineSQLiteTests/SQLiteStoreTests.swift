import CSQLite
import Foundation
import Sightline
import Testing

@testable import SightlineSQLite

@Suite struct SQLiteStoreTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    // MARK: Opening

    @Test func open_whenFileIsMissing_createsSchemaInWALMode() async throws {
        let path = directory.path("new.db")
        let store = try await SQLiteStore.open(path: path)

        let version = try await store.schemaVersion()
        let mode = try await store.unitOfWork { uow in
            try uow.query("PRAGMA journal_mode").first?[0].text
        }
        await store.close()

        #expect(version == 2)
        #expect(mode == "wal")
        directory.remove()
    }

    @Test func open_whenReopened_keepsRowsAndSchema() async throws {
        let path = directory.path("reopen.db")
        let first = try await SQLiteStore.open(path: path)
        try await first.unitOfWork { uow in
            try uow.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
            try uow.execute("INSERT INTO orders VALUES (?, ?)", [7, 12.5])
        }
        await first.close()

        let second = try await SQLiteStore.open(path: path)
        let rows = try await second.unitOfWork { uow in
            try uow.query("SELECT id, total FROM orders")
        }
        let version = try await second.schemaVersion()
        await second.close()

        #expect(rows == [SQLiteRow([.integer(7), .real(12.5)])])
        #expect(version == 2)
        directory.remove()
    }

    @Test func open_whenSchemaIsAtVersion1_migratesItKeepingItsRows() async throws {
        let path = directory.path("v1.db")
        try RawSQLite.execute(
            SQLiteSchema.migrations[0]
                + """
                ;
                PRAGMA application_id = 1397181518; PRAGMA user_version = 1;
                INSERT INTO inbox VALUES ('billing', 'm-1', 1.5);
                """, at: path)

        let store = try await SQLiteStore.open(path: path)
        let version = try await store.schemaVersion()
        let rows = try await store.unitOfWork { uow in
            (
                try uow.query("SELECT message_id FROM inbox"),
                try uow.query("SELECT count(*) FROM saga_instances")
            )
        }
        await store.close()

        #expect(version == 2)
        #expect(rows.0 == [SQLiteRow([.text("m-1")])])
        #expect(rows.1 == [SQLiteRow([.integer(0)])])
        directory.remove()
    }

    @Test func open_whenFileHoldsGarbage_throwsCorruptAndLeavesFileIntact() async throws {
        let path = directory.path("garbage.db")
        let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        try garbage.write(to: URL(fileURLWithPath: path))

        let error = await #expect(throws: SQLiteStoreError.self) {
            _ = try await SQLiteStore.open(path: path)
        }

        #expect(error?.code == .corrupt)
        #expect(error?.path == path)
        #expect(error?.description.contains(path) == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        directory.remove()
    }

    @Test func open_whenFileIsReadOnly_throwsReadOnlyAndLeavesFileIntact() async throws {
        let path = directory.path("readonly.db")
        let store = try await SQLiteStore.open(path: path)
        try await store.unitOfWork { uow in
            try uow.execute("CREATE TABLE notes (text TEXT)")
            try uow.execute("INSERT INTO notes VALUES ('kept')")
        }
        await store.close()
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o444], ofItemAtPath: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        let error = await #expect(throws: SQLiteStoreError.self) {
            _ = try await SQLiteStore.open(path: path)
        }

        #expect(error?.code == .readOnly)
        #expect(error?.path == path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644], ofItemAtPath: path)
        directory.remove()
    }

    @Test func open_whenSchemaIsNewer_throwsNewerSchemaAndLeavesFileIntact() async throws {
        let path = directory.path("newer.db")
        try RawSQLite.execute(
            """
            PRAGMA application_id = 1397181518; PRAGMA user_version = 99;
            CREATE TABLE future (x INTEGER); INSERT INTO future VALUES (42);
            """, at: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        let error = await #expect(throws: SQLiteStoreError.self) {
            _ = try await SQLiteStore.open(path: path)
        }

        #expect(error?.code == .newerSchema)
        #expect(error?.message.contains("version 99") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        directory.remove()
    }

    @Test func open_whenDatabaseBelongsToAnotherApplication_refusesIt() async throws {
        let path = directory.path("other.db")
        try RawSQLite.execute(
            "PRAGMA user_version = 1; CREATE TABLE theirs (x INTEGER);", at: path)

        let error = await #expect(throws: SQLiteStoreError.self) {
            _ = try await SQLiteStore.open(path: path)
        }

        #expect(error?.code == .cannotOpen)
        #expect(error?.message.contains("not a Sightline store") == true)
        directory.remove()
    }

    @Test func open_whenDirectoryIsMissing_throwsCannotOpen() async throws {
        let path = directory.path("missing/dir/store.db")

        let error = await #expect(throws: SQLiteStoreError.self) {
            _ = try await SQLiteStore.open(path: path)
        }

        #expect(error?.code == .cannotOpen)
        #expect(error?.path == path)
        directory.remove()
    }

    // MARK: Transactions

    @Test func unitOfWork_whenBodyThrows_rollsBackItsWrites() async throws {
        let store = try await SQLiteStore.open(path: directory.path("rollback.db"))
        try await store.unitOfWork { uow in
            try uow.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        }

        await #expect(throws: RawSQLiteError.self) {
            try await store.unitOfWork { uow in
                try uow.execute("INSERT INTO orders VALUES (1)")
                throw RawSQLiteError(message: "handler failed")
            }
        }
        let count = try await store.unitOfWork { uow in
            try uow.query("SELECT count(*) FROM orders").first?[0].integer
        }
        await store.close()

        #expect(count == 0)
        directory.remove()
    }

    @Test func unitOfWork_whenAnotherConnectionHoldsTheWriteLock_throwsLocked() async throws {
        let path = directory.path("locked.db")
        let store = try await SQLiteStore.open(
            path: path,
            configuration: SQLiteStoreConfiguration(busyTimeout: .milliseconds(50)))
        let other = try RawSQLite.open(path)
        defer { sqlite3_close_v2(other) }
        #expect(sqlite3_exec(other, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)

        let error = await #expect(throws: SQLiteStoreError.self) {
            try await store.unitOfWork { uow in
                try uow.execute("CREATE TABLE t (x INTEGER)")
            }
        }
        sqlite3_exec(other, "ROLLBACK", nil, nil, nil)
        await store.close()

        #expect(error?.code == .locked)
        #expect(error?.isRetriable == true)
        directory.remove()
    }

    @Test func unitOfWork_whenDatabaseIsFull_throwsFull() async throws {
        let store = try await SQLiteStore.open(path: directory.path("full.db"))
        try await store.unitOfWork { uow in
            try uow.execute("CREATE TABLE blobs (data BLOB)")
        }

        let error = await #expect(throws: SQLiteStoreError.self) {
            try await store.unitOfWork { uow in
                let pages = try uow.query("PRAGMA page_count").first?[0].integer ?? 0
                _ = try uow.query("PRAGMA max_page_count = \(pages + 1)")
                try uow.execute("INSERT INTO blobs VALUES (?)", [.blob(Data(count: 65_536))])
            }
        }
        await store.close()

        #expect(error?.code == .full)
        directory.remove()
    }

    @Test func unitOfWork_whenUsedAfterItEnded_throwsMisuse() async throws {
        let store = try await SQLiteStore.open(path: directory.path("escape.db"))
        let escaped = EscapedUnit()
        try await store.unitOfWork { uow in escaped.keep(uow) }

        let error = await #expect(throws: SQLiteStoreError.self) {
            try await store.unitOfWork { _ in try escaped.useAgain() }
        }
        await store.close()

        #expect(error?.code == .misuse)
        directory.remove()
    }

    @Test func close_whenCalled_laterCallsThrowClosed() async throws {
        let store = try await SQLiteStore.open(path: directory.path("closed.db"))
        await store.close()

        let error = await #expect(throws: SQLiteStoreError.self) {
            _ = try await store.schemaVersion()
        }

        #expect(error?.code == .closed)
        directory.remove()
    }
}

/// Keeps a unit of work past its body, which the contract forbids, to test the guard.
final class EscapedUnit: Sendable {
    // Safe: both accesses happen on the store's single thread, one after the other.
    nonisolated(unsafe) private var unit: UnitOfWork?

    func keep(_ unit: UnitOfWork) { self.unit = unit }

    func useAgain() throws { try unit?.execute("SELECT 1") }
}
