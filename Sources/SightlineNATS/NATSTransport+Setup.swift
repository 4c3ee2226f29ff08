import CNATS
import Foundation
import Sightline

/// Streams and consumers, created or checked on the transport's threads (these calls block).
extension NATSTransport {
    func ensureStream(channel: String) throws {
        let name = NATSNames.stream(channel: channel)
        if readyStreams.withLock({ $0.contains(name) }) { return }
        let settings = configuration.stream(for: channel)

        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jsCode = jsErrCode(0)
        let subjects = [NATSNames.subjects(channel: channel)]
        let status = withCStrings(subjects) { pointers -> natsStatus in
            var subjectPointers = pointers
            return name.withCString { namePointer in
                subjectPointers.withUnsafeMutableBufferPointer { buffer in
                    var config = jsStreamConfig()
                    jsStreamConfig_Init(&config)
                    config.Name = namePointer
                    config.Subjects = buffer.baseAddress
                    config.SubjectsLen = Int32(buffer.count)
                    Self.apply(settings, to: &config)
                    var status = js_AddStream(&info, connection.jetStream, &config, nil, &jsCode)
                    if status != NATS_OK, jsCode == JSStreamNameExistErr {
                        // It exists with other settings: apply the limits we can change.
                        if let info { jsStreamInfo_Destroy(info) }
                        info = nil
                        status = js_UpdateStream(&info, connection.jetStream, &config, nil, &jsCode)
                        if status != NATS_OK {
                            logger.warning(
                                "stream exists with settings that cannot change; kept as it is",
                                [
                                    LogKey.channel: channel,
                                    LogKey.error: NATSError.failure(
                                        .setupFailed, name, status, jsCode
                                    ).description,
                                ])
                            status = NATS_OK
                        }
                    }
                    return status
                }
            }
        }
        if let info { jsStreamInfo_Destroy(info) }
        guard status == NATS_OK else {
            throw NATSError.failure(
                .setupFailed, "cannot create or check stream \(name)", status, jsCode)
        }
        _ = readyStreams.withLock { $0.insert(name) }
    }

    static func apply(_ settings: NATSStreamSettings, to config: inout jsStreamConfig) {
        config.Retention = settings.retention == .workQueue ? js_WorkQueuePolicy : js_LimitsPolicy
        config.Storage = settings.storage == .memory ? js_MemoryStorage : js_FileStorage
        config.Replicas = Int64(settings.replicas)
        config.MaxAge = settings.maximumAge?.nanoseconds ?? 0
        config.MaxMsgs = settings.maximumMessages.map(Int64.init) ?? -1
        config.MaxBytes = settings.maximumBytes.map(Int64.init) ?? -1
        config.Discard = settings.refuseWhenFull ? js_DiscardNew : js_DiscardOld
        config.Duplicates = settings.duplicateWindow.nanoseconds
        config.AllowDirect = true
    }

    func makeConsumer(_ group: GroupDescriptor) throws -> NATSGroupConsumer {
        let channel = group.key.channel
        try ensureStream(channel: channel)
        let stream = NATSNames.stream(channel: channel)
        let count = configuration.partitions
        let perPartition =
            configuration.orderedPartitions ? 1 : max(1, group.capacity / count)

        var partitions: [NATSGroupConsumer.Partition] = []
        do {
            for index in 0..<count {
                let name = NATSNames.consumer(group: group.key.group, partition: index)
                let subject = NATSNames.subject(channel: channel, partition: index)
                try ensureConsumer(
                    name: name, stream: stream, subject: subject, group: group,
                    maximumAckPending: perPartition)
                let subscription = try bind(name: name, stream: stream, subject: subject)
                partitions.append(
                    NATSGroupConsumer.Partition(
                        index: index, consumer: name, subject: subject,
                        subscription: subscription))
            }
        } catch {
            for partition in partitions {
                natsSubscription_Unsubscribe(partition.subscription)
                natsSubscription_Destroy(partition.subscription)
            }
            throw error
        }
        logger.debug(
            "subscriber group bound to its consumers",
            [LogKey.channel: channel, LogKey.group: group.key.group, LogKey.count: String(count)])
        return NATSGroupConsumer(
            descriptor: group, stream: stream, partitions: partitions,
            fetchBatch: perPartition, fetchTimeout: configuration.fetchTimeout, logger: logger)
    }

    func ensureConsumer(
        name: String, stream: String, subject: String, group: GroupDescriptor,
        maximumAckPending: Int
    ) throws {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jsCode = jsErrCode(0)
        var status = js_GetConsumerInfo(&info, connection.jetStream, stream, name, nil, &jsCode)
        if status == NATS_OK {
            // An existing consumer continues where it stopped.
            if let info { jsConsumerInfo_Destroy(info) }
            return
        }
        guard status == NATS_NOT_FOUND || jsCode == JSConsumerNotFoundErr else {
            throw NATSError.failure(
                .setupFailed, "cannot read consumer \(name) of \(stream)", status, jsCode)
        }

        status = name.withCString { namePointer in
            subject.withCString { subjectPointer in
                var config = jsConsumerConfig()
                jsConsumerConfig_Init(&config)
                config.Durable = namePointer
                config.FilterSubject = subjectPointer
                config.AckPolicy = js_AckExplicit
                config.AckWait = configuration.ackWait.nanoseconds
                config.MaxAckPending = Int64(maximumAckPending)
                // One delivery beyond the policy's attempts: the bus dead-letters it
                // without running the handler (a worker died during the last attempt).
                config.MaxDeliver = group.maximumAttempts.map { Int64($0 + 1) } ?? -1
                switch configuration.start(for: group.key.group) {
                case .newOnly:
                    config.DeliverPolicy = js_DeliverNew
                case .allRetained:
                    config.DeliverPolicy = js_DeliverAll
                case .from(let date):
                    config.DeliverPolicy = js_DeliverByStartTime
                    config.OptStartTime = NATSDeadLetterStore.unixNanos(date)
                }
                return js_AddConsumer(&info, connection.jetStream, stream, &config, nil, &jsCode)
            }
        }
        if let info { jsConsumerInfo_Destroy(info) }
        guard status == NATS_OK else {
            throw NATSError.failure(
                .setupFailed, "cannot create consumer \(name) on \(stream)", status, jsCode)
        }
    }

    func bind(name: String, stream: String, subject: String) throws -> OpaquePointer {
        var subscription: OpaquePointer?
        var jsCode = jsErrCode(0)
        let status = name.withCString { namePointer in
            stream.withCString { streamPointer in
                var options = jsSubOptions()
                jsSubOptions_Init(&options)
                options.Stream = streamPointer
                options.Consumer = namePointer
                options.ManualAck = true
                return js_PullSubscribe(
                    &subscription, connection.jetStream, subject, namePointer, nil, &options,
                    &jsCode)
            }
        }
        guard status == NATS_OK, let subscription else {
            throw NATSError.failure(
                .setupFailed, "cannot bind to consumer \(name) of \(stream)", status, jsCode)
        }
        return subscription
    }
}
