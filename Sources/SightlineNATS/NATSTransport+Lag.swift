import CNATS
import Foundation
import Sightline

extension NATSTransport {
    /// Reads every group's consumer information now instead of waiting for the next tick.
    public func refreshLag() async throws {
        let consumers = groups.withLock { Array($0.values) }
        for consumer in consumers {
            let lag = try await workers.run { [self] in
                try readLag(stream: consumer.stream, consumer.partitions.map(\.consumer))
            }
            consumer.update(lag)
        }

        let keys = watched.withLock { Array($0.keys) }
        for key in keys {
            let names = (0..<configuration.partitions).map {
                NATSNames.consumer(group: key.group, partition: $0)
            }
            let stream = NATSNames.stream(channel: key.channel)
            // A watched group whose consumers do not exist yet has no lag to report.
            guard let lag = try? await workers.run({ [self] in try readLag(stream: stream, names) })
            else { continue }
            watched.withLock { $0[key]?.engine = lag }
        }
    }

    /// Follows the lag of a subscriber group this process does not consume, such as the
    /// groups a producer feeds, so that the producer can throttle on a consumer process it
    /// never talks to. `lag(of:)` then reports it (`inFlight` 0, `capacity` as given)
    /// from the next tick on.
    public func watchLag(of group: GroupKey, capacity: Int) {
        watched.withLock { watched in
            if watched[group] == nil {
                watched[group] = WatchedGroup(capacity: capacity)
            }
        }
        startLagTicker()
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
    func readLag(stream: String, _ consumers: [String]) throws -> NATSGroupConsumer.EngineLag {
        var lag = NATSGroupConsumer.EngineLag()
        var oldest: Int64?
        for name in consumers {
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var jsCode = jsErrCode(0)
            let status = js_GetConsumerInfo(
                &info, connection.jetStream, stream, name, nil, &jsCode)
            guard status == NATS_OK, let info else {
                throw NATSError.failure(
                    .requestFailed, "consumer \(name) of \(stream)", status, jsCode)
            }
            let subject = info.pointee.Config?.pointee.FilterSubject.map { String(cString: $0) }
            defer { jsConsumerInfo_Destroy(info) }
            let pending = Int(info.pointee.NumPending)
            let ackPending = Int(info.pointee.NumAckPending)
            lag.pending += pending
            lag.ackPending += ackPending
            if pending + ackPending > 0,
                let subject,
                let time = firstUnacknowledgedTime(
                    stream: stream, subject: subject,
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

/// A group whose lag this process follows without consuming it.
struct WatchedGroup {
    var capacity: Int
    var engine = NATSGroupConsumer.EngineLag()

    var lag: QueueLag {
        QueueLag(
            waiting: engine.pending + engine.ackPending, inFlight: 0,
            oldestAge: engine.oldestAge, capacity: capacity, settledTotal: 0, queuedBytes: 0)
    }
}
