import Foundation
import Sightline
import SightlineTestKit
import Testing

@Suite struct BusDispatchTests {
    let clock = ManualClock()
    let bus: Bus

    init() {
        bus = Bus(configuration: BusConfiguration(clock: clock, logger: .disabled, randomSeed: 7))
    }

    @Test func publish_withThreeGroups_eachGroupGetsEveryEvent() async throws {
        let recorders = [Recorder<String>(), Recorder<String>(), Recorder<String>()]
        for (index, name) in ["billing", "shipping", "analytics"].enumerated() {
            let recorder = recorders[index]
            try await bus.subscribe(to: OrderPlaced.self, group: name) { event, context in
                await recorder.append("\(context.group):\(event.orderID)")
            }
        }

        for orderID in 1...5 {
            try await bus.publish(OrderPlaced(orderID: orderID, customer: "c", amount: 1))
        }
        let report = await bus.shutdown(deadline: .seconds(5))

        #expect(report.drained)
        #expect(await recorders[0].values == (1...5).map { "billing:\($0)" })
        #expect(await recorders[1].count == 5)
        #expect(await recorders[2].count == 5)
    }

    @Test func publish_withCompetingHandlersInOneGroup_handlesEachEventOnce() async throws {
        let recorder = Recorder<Int>()
        try await bus.subscribe(
            to: OrderPlaced.self, group: "workers",
            options: SubscriptionOptions(concurrency: 4)
        ) { event, _ in
            await recorder.append(event.orderID)
        }

        for orderID in 1...40 {
            try await bus.publish(OrderPlaced(orderID: orderID, customer: "c\(orderID)", amount: 1))
        }
        _ = await bus.shutdown(deadline: .seconds(5))

        #expect(await recorder.values.sorted() == Array(1...40))
    }

    @Test func publish_withNoSubscribers_succeeds() async throws {
        try await bus.publish(OrderPlaced(orderID: 1, customer: "c", amount: 1))
        #expect(bus.lagReports().isEmpty)
    }

    @Test func send_withOneHandler_handlesExactlyOnce() async throws {
        let recorder = Recorder<Int>()
        try await bus.handle(ChargeCard.self) { command, _ in
            await recorder.append(command.orderID)
        }

        try await bus.send(ChargeCard(orderID: 42))
        _ = await bus.shutdown(deadline: .seconds(5))

        #expect(await recorder.values == [42])
    }

    @Test func send_withNoHandler_throwsNoHandlerAtOnce() async throws {
        let error = await #expect(throws: BusError.self) {
            try await self.bus.send(Unhandled())
        }
        #expect(error?.code == .noHandler)
        #expect(error?.message.contains("test.Unhandled") == true)
    }

    @Test func handle_registeredTwice_throwsDuplicateHandler() async throws {
        try await bus.handle(ChargeCard.self) { _, _ in }

        let error = await #expect(throws: BusError.self) {
            try await self.bus.handle(ChargeCard.self, group: "other") { _, _ in }
        }
        #expect(error?.code == .duplicateHandler)
    }

    @Test func request_withHandler_returnsReply() async throws {
        try await bus.respond(to: GetQuote.self) { request, _ in
            Quote(item: request.item, price: 9.5)
        }

        let quote = try await bus.request(GetQuote(item: "cd"), timeout: .seconds(5))

        #expect(quote == Quote(item: "cd", price: 9.5))
    }

    @Test func request_withSlowHandler_timesOutOnTheInjectedClock() async throws {
        try await bus.respond(to: GetQuote.self) { request, _ in
            try await Task.sleep(for: .seconds(3600))
            return Quote(item: request.item, price: 1)
        }

        let reply = Task {
            try await self.bus.request(GetQuote(item: "cd"), timeout: .milliseconds(250))
        }
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .milliseconds(250))

        let error = await #expect(throws: BusError.self) { _ = try await reply.value }
        #expect(error?.code == .requestTimedOut)
    }

    @Test func inlineSubscription_returnsAfterHandlerAndPassesItsError() async throws {
        let recorder = Recorder<Int>()
        try await bus.subscribe(
            to: OrderPlaced.self, group: "inline",
            options: SubscriptionOptions(dispatch: .inline, retry: .none)
        ) { event, _ in
            await recorder.append(event.orderID)
            if event.orderID == 2 { throw TransientError() }
        }

        try await bus.publish(OrderPlaced(orderID: 1, customer: "c", amount: 1))
        #expect(await recorder.values == [1])

        let error = await #expect(throws: BusError.self) {
            try await self.bus.publish(OrderPlaced(orderID: 2, customer: "c", amount: 1))
        }
        #expect(error?.code == .handlerFailed)
        #expect(await recorder.values == [1, 2])
    }

    @Test func handler_publishingFollowUp_setsCausationAndCorrelation() async throws {
        let seen = Recorder<Envelope>()
        try await bus.handle(ChargeCard.self) { _, context in
            await seen.append(context.envelope)
        }
        try await bus.subscribe(to: OrderPlaced.self, group: "billing") { event, _ in
            try await self.bus.send(ChargeCard(orderID: event.orderID))
        }

        try await bus.publish(
            OrderPlaced(orderID: 7, customer: "c", amount: 1),
            options: PublishOptions(headers: ["tenant": "acme"]))
        #expect(await eventually { await seen.count == 1 })
        _ = await bus.shutdown(deadline: .seconds(5))

        let command = try #require(await seen.values.first)
        #expect(command.causationID != nil)
        #expect(command.correlationID == command.causationID)
        #expect(command.messageType == "test.ChargeCard")
    }
}
