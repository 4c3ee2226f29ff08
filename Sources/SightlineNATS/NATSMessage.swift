import CNATS
import Foundation
import Sightline

/// A cnats message handle owned by Swift code: destroyed exactly once by whoever settles it.
struct MessageHandle: @unchecked Sendable {
    // A natsMsg is used by one owner at a time (the fetch thread, then the settling thread),
    // handed over through a Mutex-protected table; cnats' ack calls are thread-safe.
    let pointer: OpaquePointer
}

/// Building and reading cnats messages.
enum NATSMessage {
    /// The header that restricts a copy to one subscriber group (a redrive); other groups
    /// acknowledge it without handling.
    static let targetGroupHeader = "sightline-target-group"

    /// A message with `headers` and `payload`, to be destroyed by the caller.
    static func make(subject: String, headers: [String: String], payload: Data) throws
        -> OpaquePointer
    {
        var message: OpaquePointer?
        let status = payload.withUnsafeBytes { bytes in
            natsMsg_Create(
                &message, subject, nil, bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count))
        }
        guard status == NATS_OK, let message else {
            throw NATSError.failure(.publishFailed, "cannot build a message for \(subject)", status)
        }
        // The client keeps headers in a hash table, so their order here does not matter.
        // Bytes, not characters, are checked: a profile of `bench nats` showed the
        // character-wise scan and a sort costing more than the client's own header work.
        for (name, value) in headers {
            guard !name.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 58 }),
                !value.utf8.contains(where: { $0 == 13 || $0 == 10 })
            else {
                natsMsg_Destroy(message)
                throw NATSError(
                    .publishFailed, "header \(name) holds a line break and cannot travel on NATS")
            }
            let status = natsMsgHeader_Set(message, name, value)
            guard status == NATS_OK else {
                natsMsg_Destroy(message)
                throw NATSError.failure(.publishFailed, "header \(name) refused", status)
            }
        }
        return message
    }

    /// A message carrying `envelope`'s header form (``NATSEnvelopeHeaders``), the routing
    /// header when `targetGroup` is given, and its payload; to be destroyed by the caller.
    static func make(subject: String, envelope: Envelope, targetGroup: String?) throws
        -> OpaquePointer
    {
        let message = try make(subject: subject, headers: [:], payload: envelope.payload)
        do {
            try NATSEnvelopeHeaders.write(envelope, targetGroup: targetGroup, into: message)
        } catch {
            natsMsg_Destroy(message)
            throw error
        }
        return message
    }

    /// Every header of a message, values in order, or the first problem found: a name or
    /// value that is not valid UTF-8.
    static func headers(of message: OpaquePointer) -> Result<[String: [String]], EnvelopeError> {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        let status = natsMsgHeader_Keys(message, &keys, &count)
        guard status == NATS_OK, let keys else { return .success([:]) }
        defer { free(keys) }

        var result: [String: [String]] = [:]
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            guard let name = String(validatingCString: key) else {
                return .failure(EnvelopeError(.invalidField, "a header name is not valid UTF-8"))
            }
            var values: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var valueCount: Int32 = 0
            guard natsMsgHeader_Values(message, key, &values, &valueCount) == NATS_OK,
                let values
            else { continue }
            defer { free(values) }
            for valueIndex in 0..<Int(valueCount) {
                guard let raw = values[valueIndex] else { continue }
                guard let value = String(validatingCString: raw) else {
                    return .failure(
                        EnvelopeError(
                            .invalidField, field: String(name.prefix(64)),
                            "header value is not valid UTF-8"))
                }
                result[name, default: []].append(value)
            }
        }
        return .success(result)
    }

    static func payload(of message: OpaquePointer) -> Data {
        let length = Int(natsMsg_GetDataLength(message))
        guard length > 0, let data = natsMsg_GetData(message) else { return Data() }
        return Data(bytes: data, count: length)
    }

    static func subject(of message: OpaquePointer) -> String {
        natsMsg_GetSubject(message).map { String(cString: $0) } ?? ""
    }

    /// The headers an envelope is read from: NATS's own (`Nats-…`) and the transport's
    /// routing header left out; a header given twice is an error.
    static func envelopeFields(_ headers: [String: [String]]) throws -> [String: String] {
        var fields: [String: String] = [:]
        for (name, values) in headers {
            let lowered = name.lowercased()
            if lowered.hasPrefix("nats-") || lowered == targetGroupHeader { continue }
            guard values.count == 1, let value = values.first else {
                throw EnvelopeError(
                    .duplicateField, field: String(name.prefix(64)),
                    "header appears \(values.count) times")
            }
            fields[name] = value
        }
        return fields
    }
}
