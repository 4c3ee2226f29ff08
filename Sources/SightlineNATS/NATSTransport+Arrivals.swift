import CNATS
import Foundation
import Sightline

extension NATSTransport {
    /// Turns a pulled message into an envelope, or settles it here: a copy meant for
    /// another group is acknowledged, a malformed one dead-lettered and terminated.
    func arrived(
        _ handle: MessageHandle, partition: NATSGroupConsumer.Partition,
        consumer: NATSGroupConsumer
    ) -> Envelope? {
        let message = handle.pointer
        var deliveries: UInt64 = 1
        var storedAt: Int64 = 0
        var metadata: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&metadata, message) == NATS_OK, let metadata {
            deliveries = metadata.pointee.NumDelivered
            storedAt = metadata.pointee.Timestamp
            jsMsgMetaData_Destroy(metadata)
        }

        let reading = NATSEnvelopeHeaders.read(
            message, channel: consumer.key.channel, storedAt: storedAt,
            attempt: Int(clamping: max(1, deliveries)))
        if let target = reading.targetGroup, target != consumer.key.group {
            natsMsg_AckSync(message, nil, nil)
            natsMsg_Destroy(message)
            return nil
        }
        switch reading.envelope {
        case .success(let envelope):
            return envelope
        case .failure(let error):
            deadLetterMalformed(
                handle, Self.allHeaders(of: message), error, consumer: consumer,
                attempt: deliveries)
            return nil
        }
    }

    /// Every header of a message whose envelope is malformed, for its dead letter: what is
    /// readable of them.
    private static func allHeaders(of message: OpaquePointer) -> [String: [String]] {
        (try? NATSMessage.headers(of: message).get()) ?? [:]
    }

    func deadLetterMalformed(
        _ handle: MessageHandle, _ headers: [String: [String]], _ error: any Error,
        consumer: NATSGroupConsumer, attempt: UInt64
    ) {
        let message = handle.pointer
        let envelope = Self.salvage(
            headers: headers, payload: NATSMessage.payload(of: message),
            channel: consumer.key.channel, attempt: Int(clamping: attempt))
        let now = Date()
        let letter = DeadLetter(
            envelope: envelope, group: consumer.key.group, reason: Self.malformedReason,
            errorDescription: "\(error)", attempts: Int(clamping: attempt), firstFailureAt: now,
            lastFailureAt: now, deadLetterTraceParent: envelope.traceParent)
        do {
            try deadLetterStore.addNow(letter)
            _ = deadLetterStore.takeTermination(id: letter.id, group: letter.group)
            natsMsg_Term(message, nil)
            malformedCount.add(1, ordering: .relaxed)
            logger.info(
                "malformed message dead-lettered",
                [
                    LogKey.channel: consumer.key.channel, LogKey.group: consumer.key.group,
                    LogKey.messageID: envelope.id.description,
                    LogKey.reason: Self.malformedReason.rawValue, LogKey.error: "\(error)",
                ])
        } catch let storeError {
            // Keep it rather than lose it: the server offers it again after a while.
            logger.error(
                "malformed message could not be dead-lettered; left for redelivery",
                [LogKey.error: "\(storeError)"])
            natsMsg_NakWithDelay(message, 5000, nil)
        }
        natsMsg_Destroy(message)
    }

    /// An envelope holding what can be kept of a malformed message: its id and type when
    /// they are readable, free-form headers that are valid, and the payload.
    static func salvage(
        headers: [String: [String]], payload: Data, channel: String, attempt: Int
    ) -> Envelope {
        let limits = EnvelopeLimits.standard
        func first(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name }?.value.first
        }
        // A fresh id: the claimed one cannot be trusted to be unique (a letter is keyed by id
        // and group); the claimed one is kept as a free-form header when it is readable.
        let id = MessageID.make()
        let claimedID = first(EnvelopeHeaderName.id).flatMap { $0.utf8.count <= 64 ? $0 : nil }
        let type = first(EnvelopeHeaderName.messageType).flatMap { type in
            type.isEmpty || type.utf8.count > 256 || type.contains(where: \.isNewline)
                ? nil : type
        }
        var free: [String: String] = [:]
        for (name, values) in headers.sorted(by: { $0.key < $1.key }) {
            guard free.count < limits.maximumHeaders, values.count == 1, let value = values.first,
                !EnvelopeHeaderName.isReserved(name), !name.lowercased().hasPrefix("nats-"),
                name.utf8.count <= 256, value.utf8.count <= limits.maximumHeaderValueBytes,
                !value.contains(where: \.isNewline)
            else { continue }
            free[name] = value
        }
        if let claimedID, !claimedID.contains(where: \.isNewline) {
            free[originalIDHeader] = claimedID
        }
        let traceParent = first(EnvelopeHeaderName.traceParent).flatMap {
            $0.utf8.count <= 64 ? $0 : nil
        }
        return Envelope(
            id: id, messageType: type ?? "unknown", channel: channel, headers: free,
            traceParent: traceParent, attempt: max(1, attempt),
            contentType: "application/octet-stream",
            payload: payload.count <= limits.maximumBytes ? payload : Data())
    }
}
