import CNATS
import Foundation
import Sightline
import SightlineNATS
import Testing

@Suite(.serialized) struct NATSDeadLetterTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    @Test func poisonMessage_isAttemptedThreeTimesThenDeadLetteredAndTerminated() async throws {
        let node = try NATSNode(server: server)
        let attempts = Tally<Int>()
        let retry = RetryPolicy(
            maximumAttempts: 3, baseDelay: .milliseconds(40), maximumDelay: .milliseconds(40))
        try await node.bus.subscribe(
            to: PaymentTaken.self, group: "poisoned", options: SubscriptionOptions(retry: retry)
        ) { _, context in
            attempts.append(context.attempt)
            throw TestFailure()
        }

        try await node.bus.publish(
            PaymentTaken(account: "x", sequence: 1),
            options: PublishOptions(headers: ["tenant": "t-42"]))
        let lettered = await eventually { (try? await node.transport.deadLetterStore.count()) == 1 }
        try await Task.sleep(for: .milliseconds(300))
        try await node.transport.refreshLag()
        let lag = node.transport.lag(of: GroupKey(channel: PaymentTaken.channel, group: "poisoned"))
        let letters = try await node.bus.deadLetters()
        await node.stop()

        #expect(lettered)
        #expect(attempts.all == [1, 2, 3])
        #expect(letters.count == 1)
        #expect(letters.first?.reason == .attemptsExhausted)
        #expect(letters.first?.attempts == 3)
        #expect(letters.first?.group == "poisoned")
        #expect(letters.first?.envelope.headers["tenant"] == "t-42")
        #expect(letters.first?.envelope.messageType == PaymentTaken.messageType)
        #expect(lag?.waiting == 0)
    }

    @Test func poisonMessage_whenWorkerDiesInLastAttempt_isDeadLetteredByTheNextProcess()
        async throws
    {
        var configuration = NATSTestConfiguration.standard
        configuration.ackWait = .seconds(1)
        let first = try NATSNode(server: server, configuration: configuration, name: "first")
        let attempts = Tally<Int>()
        let retry = RetryPolicy(
            maximumAttempts: 2, baseDelay: .milliseconds(20), maximumDelay: .milliseconds(20))
        let options = SubscriptionOptions(retry: retry)
        try await first.bus.subscribe(to: PaymentTaken.self, group: "fragile", options: options) {
            _, context in
            attempts.append(context.attempt)
            if context.attempt == 2 {
                // The process "dies" here: its connection goes away mid-handling.
                try await Task.sleep(for: .seconds(15))
            }
            throw TestFailure()
        }
        try await first.bus.publish(PaymentTaken(account: "y", sequence: 1))
        let reachedLast = await eventually { attempts.count == 2 }
        first.connection.close()

        let second = try NATSNode(server: server, configuration: configuration, name: "second")
        try await second.bus.subscribe(to: PaymentTaken.self, group: "fragile", options: options) {
            _, context in
            attempts.append(context.attempt)
            throw TestFailure()
        }
        let lettered = await eventually {
            (try? await second.transport.deadLetterStore.count()) == 1
        }
        let letters = try await second.bus.deadLetters()
        await second.stop()

        #expect(reachedLast)
        #expect(lettered)
        #expect(attempts.all == [1, 2])
        #expect(letters.first?.reason == .attemptsExhausted)
        #expect(letters.first?.attempts == 2)
    }

    @Test func redrive_afterFix_handlesWithFreshAttemptAndEmptiesTheStore() async throws {
        let node = try NATSNode(server: server)
        let attempts = Tally<Int>()
        let fixed = Tally<Bool>()
        try await node.bus.subscribe(
            to: PaymentTaken.self, group: "billing",
            options: SubscriptionOptions(retry: .none)
        ) { _, context in
            attempts.append(context.attempt)
            if fixed.count == 0 { throw TestFailure() }
        }
        try await node.bus.subscribe(to: PaymentTaken.self, group: "audit") { _, context in
            attempts.append(100 + context.attempt)
        }

        try await node.bus.publish(PaymentTaken(account: "z", sequence: 1))
        let lettered = await eventually { (try? await node.transport.deadLetterStore.count()) == 1 }
        fixed.append(true)
        let redriven = try await node.bus.redrive(matching: DeadLetterFilter(group: "billing"))
        let handled = await eventually { attempts.count == 3 }
        try await Task.sleep(for: .milliseconds(300))
        let remaining = try await node.transport.deadLetterStore.count()
        await node.stop()

        #expect(lettered)
        #expect(redriven == 1)
        #expect(handled)
        // billing 1 (failed), audit 1 (once only: the redrive targets billing), billing 1.
        #expect(attempts.all.sorted() == [1, 1, 101])
        #expect(remaining == 0)
    }

    @Test func hostileHeaders_areDeadLetteredWithReasonsAndTheConsumerContinues() async throws {
        let node = try NATSNode(server: server)
        let handled = Tally<Int>()
        try await node.bus.subscribe(to: PaymentTaken.self, group: "inspector") { event, _ in
            handled.append(event.sequence)
        }
        let subject = "sightline.\(PaymentTaken.channel).0"
        let valid: [(String, String)] = [
            ("sightline-id", "0190b6a2-7c4e-7d1a-9a51-3f6f2f1c9e01"),
            ("sightline-type", PaymentTaken.messageType),
            ("sightline-channel", PaymentTaken.channel),
        ]
        let cases: [[(String, [UInt8])]] = [
            [],
            [("sightline-id", Array("not-a-uuid".utf8))]
                + valid.dropFirst().map { ($0.0, Array($0.1.utf8)) },
            valid.map { ($0.0, Array($0.1.utf8)) } + [
                ("x-big", Array(repeating: 0x61, count: 9000))
            ],
            valid.map { ($0.0, Array($0.1.utf8)) } + [("x-bytes", [0xFF, 0xFE, 0x41])],
            valid.map { ($0.0, Array($0.1.utf8)) } + [("sightline-attempt", Array("zero".utf8))],
            valid.map { ($0.0, Array($0.1.utf8)) } + [("sightline-type", Array("again".utf8))],
        ]
        for (index, headers) in cases.enumerated() {
            try RawPublisher.publish(
                url: server.url, subject: subject, headers: headers,
                messageID: "hostile-\(index)", payload: Data("{\"x\":1}".utf8))
        }
        try await node.bus.publish(PaymentTaken(account: "ok", sequence: 7))

        // The first case carries no Sightline header at all: it is a raw message of the
        // channel, whose type ("test.payments") this group does not handle.
        let settled = await eventually {
            let letters = try? await node.transport.deadLetterStore.count()
            return node.transport.malformedMessages == 5 && handled.count == 1 && letters == 6
        }
        let letters = try await node.bus.deadLetters(matching: DeadLetterFilter(group: "inspector"))
        await node.stop()

        #expect(settled)
        #expect(handled.all == [7])
        #expect(letters.count == 6)
        #expect(letters.filter { $0.reason == NATSTransport.malformedReason }.count == 5)
        #expect(
            letters.filter { $0.reason == .noHandler }.map(\.envelope.messageType) == [
                PaymentTaken.channel
            ])
        // The invalid UTF-8 case keeps no headers at all, so three of four keep the claimed id.
        #expect(
            letters.filter {
                $0.envelope.headers[NATSTransport.originalIDHeader] == valid[0].1
            }.count == 3)
        let errors = letters.map(\.errorDescription).joined(separator: "\n")
        #expect(errors.contains("no handler for test.payments"), "\(errors)")
        #expect(errors.contains("invalidField (sightline-id)"))
        #expect(errors.contains("oversized (x-big)"))
        #expect(errors.contains("not valid UTF-8"))
        #expect(errors.contains("invalidField (sightline-attempt)"))
        #expect(errors.contains("duplicateField (sightline-type)"))
    }

    @Test func rawMessage_withoutSightlineHeaders_isHandledByTheTypeNamedLikeItsChannel()
        async throws
    {
        let node = try NATSNode(server: server)
        let readings = Tally<Int>()
        let parents = Tally<String>()
        try await node.bus.subscribe(to: Reading.self, group: "meters") { reading, context in
            readings.append(reading.value)
            parents.append(context.envelope.traceParent ?? "")
        }
        let traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

        try RawPublisher.publish(
            url: server.url, subject: "sightline.\(Reading.channel).2",
            headers: [("traceparent", Array(traceParent.utf8))],
            messageID: "not-a-uuid", payload: Data("{\"value\":42}".utf8))
        let handled = await eventually { readings.count == 1 }
        await node.stop()

        #expect(handled)
        #expect(readings.all == [42])
        #expect(parents.all == [traceParent])
    }
}

/// A message type named like its channel, as raw messages of that channel are typed.
struct Reading: Event {
    static let messageType = "test.readings"
    var value: Int
}

/// Publishes messages with arbitrary header bytes straight through cnats, as a foreign or
/// hostile producer would.
enum RawPublisher {
    static func publish(
        url: String, subject: String, headers: [(String, [UInt8])], messageID: String,
        payload: Data
    ) throws {
        var connection: OpaquePointer?
        guard natsConnection_ConnectTo(&connection, url) == NATS_OK, let connection else {
            throw NATSError(.connectionFailed, url)
        }
        defer { natsConnection_Destroy(connection) }
        var context: OpaquePointer?
        guard natsConnection_JetStream(&context, connection, nil) == NATS_OK, let context else {
            throw NATSError(.connectionFailed, "jetstream")
        }
        defer { jsCtx_Destroy(context) }

        var message: OpaquePointer?
        _ = payload.withUnsafeBytes { bytes in
            natsMsg_Create(
                &message, subject, nil, bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count))
        }
        guard let message else { throw NATSError(.publishFailed, "create") }
        defer { natsMsg_Destroy(message) }
        for (name, value) in headers {
            let cValue = value.map { CChar(bitPattern: $0) } + [0]
            _ = natsMsgHeader_Add(message, name, cValue)
        }
        _ = natsMsgHeader_Set(message, "Nats-Msg-Id", messageID)
        var ack: UnsafeMutablePointer<jsPubAck>?
        let status = js_PublishMsg(&ack, context, message, nil, nil)
        if let ack { jsPubAck_Destroy(ack) }
        guard status == NATS_OK else { throw NATSError(.publishFailed, subject) }
    }
}
