import Foundation
import Sightline
import SightlineNATS
import Testing

@Suite(.serialized) struct NATSRequestReplyTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    @Test func request_withResponderInAnotherProcess_returnsItsReply() async throws {
        let requester = try NATSNode(server: server, name: "requester")
        let responder = try NATSNode(server: server, name: "responder")
        try await responder.bus.respond(to: PriceQuery.self) { query, _ in query.item * 10 }

        var replies: [Int] = []
        for item in 1...5 {
            replies.append(
                try await requester.bus.request(PriceQuery(item: item), timeout: .seconds(5)))
        }
        await requester.stop()
        await responder.stop()

        #expect(replies == [10, 20, 30, 40, 50])
    }

    @Test func request_withNoResponderRunning_timesOut() async throws {
        let requester = try NATSNode(server: server, name: "requester")

        let error = await #expect(throws: BusError.self) {
            _ = try await requester.bus.request(PriceQuery(item: 1), timeout: .milliseconds(300))
        }
        await requester.stop()

        #expect(error?.code == .requestTimedOut)
    }

    @Test func request_whenResponderFails_reportsRequestFailed() async throws {
        let requester = try NATSNode(server: server, name: "requester")
        let responder = try NATSNode(server: server, name: "responder")
        try await responder.bus.respond(
            to: PriceQuery.self, options: SubscriptionOptions(retry: .none)
        ) { _, _ in
            throw PermanentError(TestFailure())
        }

        let error = await #expect(throws: BusError.self) {
            _ = try await requester.bus.request(PriceQuery(item: 1), timeout: .seconds(5))
        }
        await requester.stop()
        await responder.stop()

        #expect(error?.code == .requestFailed)
    }
}
