import CNATS
import Foundation
import Sightline
import Synchronization

/// Processed message ids in a JetStream key-value bucket, shared by every process of a
/// group, so that effectively-once holds when a message is redelivered to another process
/// after a crash.
///
/// Keys are `<group as hex>.<message id>`, values the wall-clock time of processing in
/// nanoseconds since the Unix epoch. The bus's `now` is process-local, so windows are
/// measured on the wall clock instead; the bucket forgets entries after `retention`, which
/// bounds its size and must be at least the longest effectively-once window.
///
/// A process that dies after its handler succeeded and before the id was recorded still
/// runs the message again elsewhere: effectively-once narrows the window, it cannot close it.
public final class NATSIdempotencyStore: IdempotencyStore {
    public static let defaultBucket = "SIGHTLINE_PROCESSED"

    private let connection: NATSConnection
    private let bucket: String
    private let retention: Duration
    private let replicas: Int
    private let workers: BlockingWorkers
    // The bucket handle is created once under the lock and used from the store's threads;
    // cnats key-value calls are thread-safe.
    private let store = Mutex<KeyValueHandle?>(nil)

    public init(
        connection: NATSConnection, bucket: String = NATSIdempotencyStore.defaultBucket,
        retention: Duration = .seconds(24 * 3600), replicas: Int = 1
    ) {
        self.connection = connection
        self.bucket = bucket
        self.retention = retention
        self.replicas = max(1, min(5, replicas))
        self.workers = BlockingWorkers(
            name: "sightline-nats-idempotency", threads: 2, capacity: 1 << 14)
    }

    deinit {
        workers.stop()
        if let handle = store.withLock({ $0 }) { kvStore_Destroy(handle.pointer) }
    }

    public func contains(id: MessageID, group: String, window: Duration, now: Duration)
        async throws -> Bool
    {
        try await workers.run { [self] in
            let kv = try open()
            var entry: OpaquePointer?
            let status = kvStore_Get(&entry, kv, Self.key(id: id, group: group))
            if status == NATS_NOT_FOUND { return false }
            guard status == NATS_OK, let entry else {
                throw NATSError.failure(.requestFailed, "cannot read \(bucket)", status)
            }
            defer { kvEntry_Destroy(entry) }
            let text = kvEntry_ValueString(entry).map { String(cString: $0) } ?? ""
            guard let recorded = Int64(text) else { return false }
            let age = NATSDeadLetterStore.unixNanos(Date()) - recorded
            return age <= window.nanoseconds
        }
    }

    public func record(id: MessageID, group: String, now: Duration) async throws {
        try await workers.run { [self] in
            let kv = try open()
            var revision: UInt64 = 0
            let value = String(NATSDeadLetterStore.unixNanos(Date()))
            let status = kvStore_PutString(&revision, kv, Self.key(id: id, group: group), value)
            guard status == NATS_OK else {
                throw NATSError.failure(.requestFailed, "cannot write to \(bucket)", status)
            }
        }
    }

    /// The bucket, created on first use. Blocks.
    private func open() throws -> OpaquePointer {
        try store.withLock { store in
            if let store { return store.pointer }
            var kv: OpaquePointer?
            var status = js_KeyValue(&kv, connection.jetStream, bucket)
            if status != NATS_OK {
                status = bucket.withCString { name in
                    var config = kvConfig()
                    kvConfig_Init(&config)
                    config.Bucket = name
                    config.History = 1
                    config.TTL = retention.nanoseconds
                    config.StorageType = js_FileStorage
                    config.Replicas = Int32(replicas)
                    return js_CreateKeyValue(&kv, connection.jetStream, &config)
                }
            }
            guard status == NATS_OK, let kv else {
                throw NATSError.failure(
                    .setupFailed, "cannot open or create the bucket \(bucket)", status)
            }
            store = KeyValueHandle(pointer: kv)
            return kv
        }
    }

    /// Key-value keys allow `A-Z a-z 0-9 - _ = . /`: the group goes in as hex, after `g`.
    static func key(id: MessageID, group: String) -> String {
        var key = "g"
        for byte in group.utf8 {
            key += byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }
        return key + "." + id.description
    }
}

/// A cnats key-value handle.
private struct KeyValueHandle: @unchecked Sendable {
    // Created once under the store's lock and destroyed in its deinit; cnats key-value
    // calls may come from any thread.
    let pointer: OpaquePointer
}
