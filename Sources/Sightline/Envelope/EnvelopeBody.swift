import Foundation

/// An envelope's payload: the encoded bytes, or, for a message published in this process to
/// a transport that keeps envelopes in memory, the message value itself.
///
/// A value is encoded only when bytes are actually needed: a subscriber that reads another
/// Swift type or an older version, a dead letter, a handler reading
/// ``Envelope/payload``. A subscriber of the message's own type takes the value as it is.
/// Encoding and decoding a small payload as JSON costs more than the rest of an in-process
/// delivery together (measured with `perf record` on `sightline bench inproc`), so the
/// common case skips both.
struct EnvelopeBody: Sendable {
    private enum Storage: Sendable {
        case bytes(Data)
        case value(any Message)
    }

    private var storage: Storage

    init(bytes: Data) {
        storage = .bytes(bytes)
    }

    /// A body that holds `message` and encodes it with its codec on first need.
    init(deferring message: some Message) {
        storage = .value(message)
    }

    /// The message value, when the body holds one rather than bytes.
    var value: (any Message)? {
        guard case .value(let message) = storage else { return nil }
        return message
    }

    /// The bytes already encoded, without encoding a value.
    var encodedBytes: Data? {
        guard case .bytes(let bytes) = storage else { return nil }
        return bytes
    }

    /// The payload's bytes, encoding a held value with its type's codec.
    func encoded() throws -> Data {
        switch storage {
        case .bytes(let bytes): bytes
        case .value(let message): try Self.encode(message)
        }
    }

    /// Replaces a held value with its bytes, so that later reads do not encode again.
    mutating func encode() throws {
        guard case .value(let message) = storage else { return }
        storage = .bytes(try Self.encode(message))
    }

    /// What the body takes in memory, approximately: the byte count, or a held value's own
    /// size.
    // Not yet: heap storage a held value refers to (long strings, arrays) is not counted, so
    // queued bytes read low for such messages in process.
    var approximateSize: Int {
        switch storage {
        case .bytes(let bytes): bytes.count
        case .value(let message): Self.layoutSize(of: message)
        }
    }

    private static func encode<M: Message>(_ message: M) throws -> Data {
        try M.payloadCodec.encode(message)
    }

    private static func layoutSize<M: Message>(of message: M) -> Int {
        MemoryLayout<M>.size
    }
}

extension EnvelopeBody: Hashable {
    /// Bodies are equal when their bytes are; a held value is encoded to compare.
    static func == (lhs: EnvelopeBody, rhs: EnvelopeBody) -> Bool {
        (try? lhs.encoded()) == (try? rhs.encoded())
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(try? encoded())
    }
}
