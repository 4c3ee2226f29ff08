import Foundation
import Sightline

/// A durable store on one SQLite file in WAL mode: the outbox, the inbox and dead letters.
///
/// Every SQLite call runs on a thread of the store's own, one at a time, so callers never
/// block the cooperative pool; they suspend while their work waits in a bounded queue. Each
/// write that matters runs in one transaction. Opening creates the file when it is missing
/// and migrates an older schema; it refuses, with a ``SQLiteStoreError`` naming the path and
/// without changing the file, a file that is not a database, is read-only, is locked for
/// longer than the busy timeout, or has a schema newer than this release knows.
///
/// Several processes may open the same file; SQLite's locks serialise their writes.
public final class SQLiteStore: Sendable {
    /// The database file.
    public let path: String
    public let configuration: SQLiteStoreConfiguration
    let worker: SQLiteWorker
    /// Signalled after a unit of work that staged messages commits.
    let stagedSignal = WakeSignal()

    private init(path: String, configuration: SQLiteStoreConfiguration, worker: SQLiteWorker) {
        self.path = path
        self.configuration = configuration
        self.worker = worker
    }

    deinit {
        worker.stop()
    }

    /// Opens the store at `path`, creating and migrating its schema as needed.
    ///
    /// - Throws: ``SQLiteStoreError`` `cannotOpen`, `readOnly`, `locked`, `corrupt`,
    ///   `newerSchema`, `full`; the file is left as it was.
    public static func open(
        path: String, configuration: SQLiteStoreConfiguration = SQLiteStoreConfiguration()
    ) async throws -> SQLiteStore {
        let worker = SQLiteWorker(path: path, capacity: configuration.queueCapacity)
        do {
            try await worker.run { connection in
                try prepare(connection, configuration: configuration)
            }
        } catch {
            worker.stop()
            throw error
        }
        return SQLiteStore(path: path, configuration: configuration, worker: worker)
    }

    /// Closes the file after the work already queued. Later calls fail with `closed`.
    public func close() async {
        _ = try? await worker.run { connection in connection.close() }
        worker.stop()
    }

    /// The schema version of the open file.
    public func schemaVersion() async throws -> Int {
        try await worker.run { connection in
            Int(try connection.query("PRAGMA user_version").first?[0].integer ?? 0)
        }
    }

    // MARK: Units of work

    /// Runs `body` in one SQLite transaction: the rows it writes, the messages it stages
    /// and the ids it records as processed commit together or not at all.
    ///
    /// `body` runs synchronously on the store's thread; do the slow, asynchronous parts of
    /// the work before calling this, and keep `body` to database work. When `body` throws,
    /// the transaction rolls back, nothing is staged and the error is rethrown. The
    /// ``UnitOfWork`` must not be used after `body` returns.
    ///
    /// Messages staged without a `traceparent` get the trace context current when this
    /// method was called (``TracingContext/current``), so that the relay's publish span
    /// can link to the span that staged them.
    ///
    /// - Throws: what `body` threw, or ``SQLiteStoreError`` (`locked` when another
    ///   connection kept the write lock past the busy timeout).
    @discardableResult
    public func unitOfWork<T: Sendable>(_ body: @escaping @Sendable (UnitOfWork) throws -> T)
        async throws -> T
    {
        let stagingContext = TracingContext.current
        let now = configuration.clock.wallTime()
        let (result, staged) = try await worker.run { connection in
            try connection.transaction {
                let unit = UnitOfWork(
                    connection: connection, stagingContext: stagingContext, now: now)
                defer { unit.close() }
                let result = try body(unit)
                return (result, unit.stagedCount)
            }
        }
        if staged > 0 { stagedSignal.signal() }
        return result
    }

    /// Runs `body` on the store's thread with the raw connection, outside any transaction
    /// unless `body` opens one.
    @discardableResult
    func perform<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T)
        async throws -> T
    {
        try await worker.run(body)
    }

    // MARK: Opening

    /// Opens and checks the file, then migrates it; runs on the worker's thread.
    private static func prepare(
        _ connection: SQLiteConnection, configuration: SQLiteStoreConfiguration
    ) throws {
        let path = connection.path
        try refuseWriteProtectedFile(at: path)
        try connection.open(busyTimeout: configuration.busyTimeout)
        guard !connection.isReadOnly else {
            throw SQLiteStoreError(.readOnly, path: path, "the file cannot be written")
        }

        // Reads first: a file that is not a database fails here, before anything is written.
        let (version, application) = try readHeader(connection)
        try checkVersion(version, application: application, path: path)

        let mode = try connection.query("PRAGMA journal_mode=WAL").first?[0].text ?? ""
        guard mode.lowercased() == "wal" else {
            throw SQLiteStoreError(
                .cannotOpen, path: path, "SQLite refused WAL mode (journal mode is '\(mode)')")
        }
        try connection.execute(script: "PRAGMA synchronous=\(configuration.synchronous.rawValue)")
        try migrate(connection)
    }

    /// Reads the schema version and application id, mapping a file that is not a database
    /// to `corrupt`.
    private static func readHeader(_ connection: SQLiteConnection) throws -> (Int64, Int64) {
        do {
            let version = try connection.query("PRAGMA user_version").first?[0].integer ?? 0
            let application = try connection.query("PRAGMA application_id").first?[0].integer
            return (version, application ?? 0)
        } catch {
            guard error.code == .corrupt else { throw error }
            throw SQLiteStoreError(
                .corrupt, path: connection.path,
                "the file is not a SQLite database or is damaged; it was left untouched",
                sqliteCode: error.sqliteCode)
        }
    }

    private static func checkVersion(_ version: Int64, application: Int64, path: String)
        throws(SQLiteStoreError)
    {
        if version > SQLiteSchema.latestVersion {
            throw SQLiteStoreError(
                .newerSchema, path: path,
                "the schema is at version \(version) but this release knows versions up to "
                    + "\(SQLiteSchema.latestVersion); use the newer release that wrote it")
        }
        if version > 0, application != SQLiteSchema.applicationID {
            throw SQLiteStoreError(
                .cannotOpen, path: path,
                "the file is a SQLite database of another application (application_id "
                    + "\(application)), not a Sightline store")
        }
    }

    private static func migrate(_ connection: SQLiteConnection) throws {
        try connection.transaction {
            // Read again under the write lock: another process may have migrated meanwhile.
            let version = try connection.query("PRAGMA user_version").first?[0].integer ?? 0
            try checkVersion(
                version, application: SQLiteSchema.applicationID, path: connection.path)
            guard version < SQLiteSchema.latestVersion else { return }

            for index in Int(version)..<SQLiteSchema.migrations.count {
                try connection.execute(script: SQLiteSchema.migrations[index])
            }
            try connection.execute(
                script: "PRAGMA application_id=\(SQLiteSchema.applicationID); "
                    + "PRAGMA user_version=\(SQLiteSchema.latestVersion)")
        }
    }

    /// Refuses a file whose permission bits let nobody write it, even when this process
    /// could (as root it could): such a file was made read-only on purpose.
    private static func refuseWriteProtectedFile(at path: String) throws(SQLiteStoreError) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let permissions = attributes[.posixPermissions] as? NSNumber
        else { return }
        if permissions.intValue & 0o222 == 0 {
            throw SQLiteStoreError(
                .readOnly, path: path,
                "the file is read-only (mode \(String(permissions.intValue, radix: 8)))")
        }
    }
}
