import CNATS
import Foundation
import Sightline

extension NATSTransport {
    /// Reads every group's consumer information now instead of waiting for the next tick.
    public func refreshLag() async throws {
        let consumers = groups.withLock { Array($0.values) }
        for consumer in consumers {
            let lag = try await workers.run { [self] in try readLag(consumer) }
            consumer.update(lag)
        }
    }

    func startLagTicker() {
        lagTicker.withLock { ticker in
            guard ticker == nil else { return }
            let interval = configuration.lagInterval
            ticker = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self else { return }
                    do {
                        try await self.refreshLag()
                    } catch {
                        self.logger.debug(
                            "consumer information unavailable", [LogKey.error: "\(error)"])
                    }
                }
            }
        }
    }

    /// Pending and acknowledgement-pending counts summed over the group's partition
    /// consumers, and the age of the oldest unacknowledged message. Blocks.
    func readLag(_ consumer: NATSGroupConsumer) throws -> NATSGroupConsumer.EngineLag {
        var lag = NATSGroupConsumer.EngineLag()
        var oldest: Int64?
        for partition in consumer.partitions {
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var jsCode = jsErrCode(0)
            let status = js_GetConsumerInfo(
                &info, connection.jetStream, consumer.stream, partition.consumer, nil, &jsCode)
            guard status == NATS_OK, let info else {
                throw NATSError.failure(
                    .requestFailed, "consumer \(partition.consumer) of \(consumer.stream)", status,
                    jsCode)
            }
            defer { jsConsumerInfo_Destroy(info) }
            let pending = Int(info.pointee.NumPending)
            let ackPending = Int(info.pointee.NumAckPending)
            lag.pending += pending
            lag.ackPending += ackPending
            if pending + ackPending > 0,
                let time = firstUnacknowledgedTime(
                    stream: consumer.stream, subject: partition.subject,
                    after: info.pointee.AckFloor.Stream)
            {
                oldest = min(oldest ?? time, time)
            }
        }
        if let oldest {
            let age = NATSDeadLetterStore.unixNanos(Date()) - oldest
            lag.oldestAge = .nanoseconds(max(0, age))
        }
        return lag
    }

    func firstUnacknowledgedTime(stream: String, subject: String, after floor: UInt64)
        -> Int64?
    {
        var options = jsDirectGetMsgOptions()
        jsDirectGetMsgOptions_Init(&options)
        var message: OpaquePointer?
        let status = subject.withCString { subjectPointer in
            options.Sequence = floor + 1
            options.NextBySubject = subjectPointer
            return js_DirectGetMsg(&message, connection.jetStream, stream, nil, &options)
        }
        guard status == NATS_OK, let message else { return nil }
        defer { natsMsg_Destroy(message) }
        let time = natsMsg_GetTime(message)
        return time > 0 ? time : nil
    }
}
