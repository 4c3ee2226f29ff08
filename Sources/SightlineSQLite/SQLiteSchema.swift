/// The store's tables, created and migrated by `PRAGMA user_version`.
///
/// Migration `n` takes a database from version `n - 1` to `n`; each runs in the same
/// transaction as the version bump, so a crash mid-migration leaves the old version intact.
/// A file at a version above ``latestVersion`` was written by a newer release and is refused
/// untouched.
enum SQLiteSchema {
    /// Marks a database as a Sightline store (`PRAGMA application_id`), ASCII "SGLN".
    static let applicationID: Int64 = 0x5347_4C4E

    static var latestVersion: Int64 { Int64(migrations.count) }

    static let migrations: [String] = [
        // 1: outbox, inbox and dead letters.
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            message_type TEXT NOT NULL,
            staged_at REAL NOT NULL,
            envelope BLOB NOT NULL,
            sent_at REAL,
            publish_attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        );
        CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
        CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

        CREATE TABLE inbox (
            grp TEXT NOT NULL,
            message_id TEXT NOT NULL,
            processed_at REAL NOT NULL,
            PRIMARY KEY (grp, message_id)
        ) WITHOUT ROWID;
        CREATE INDEX inbox_processed_at ON inbox (processed_at);

        CREATE TABLE dead_letters (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL,
            grp TEXT NOT NULL,
            channel TEXT NOT NULL,
            message_type TEXT NOT NULL,
            reason TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            first_failure_at REAL NOT NULL,
            last_failure_at REAL NOT NULL,
            dead_letter_traceparent TEXT,
            envelope BLOB NOT NULL,
            redrive_requested_at REAL,
            UNIQUE (message_id, grp)
        );
        CREATE INDEX dead_letters_redrive ON dead_letters (redrive_requested_at)
            WHERE redrive_requested_at IS NOT NULL;
        """,
        // 2: saga instances.
        """
        CREATE TABLE saga_instances (
            id TEXT PRIMARY KEY,
            saga TEXT NOT NULL,
            data BLOB NOT NULL,
            step INTEGER NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            started_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            deadline_at REAL,
            traceparent TEXT
        );
        CREATE INDEX saga_instances_deadline ON saga_instances (deadline_at)
            WHERE status = 'running';
        """,
    ]
}
