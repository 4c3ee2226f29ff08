import Foundation
import Sightline
import Testing

@Suite struct UpcasterTests {
    let bus = Bus(configuration: BusConfiguration(logger: .disabled))

    static let chain: [Upcaster<ParcelV3>] = [
        Upcaster(from: ParcelV1.self, to: ParcelV2.self) { v1 in
            ParcelV2(id: v1.id, grams: v1.weight * 1000)
        },
        Upcaster(fromVersion: 2) { document in
            var document = document
            document["carrier"] = "post"
            return document
        },
    ]

    @Test func subscribe_whenVersion1Arrives_runsTypedThenJSONStepsBeforeTheHandler()
        async throws
    {
        let handled = Collected<ParcelV3>()
        try await bus.subscribe(to: ParcelV3.self, group: "depot", upcasting: Self.chain) {
            parcel, _ in
            await handled.append(parcel)
        }

        try await bus.publish(ParcelV1(id: 1, weight: 2))
        try await bus.publish(ParcelV2(id: 2, grams: 500))
        try await bus.publish(ParcelV3(id: 3, grams: 7, carrier: "courier"))

        #expect(await waitUntil { await handled.values.count == 3 })
        let byID = Dictionary(uniqueKeysWithValues: await handled.values.map { ($0.id, $0) })
        #expect(byID[1] == ParcelV3(id: 1, grams: 2000, carrier: "post"))
        #expect(byID[2] == ParcelV3(id: 2, grams: 500, carrier: "post"))
        #expect(byID[3] == ParcelV3(id: 3, grams: 7, carrier: "courier"))
        #expect(try await bus.deadLetters().isEmpty)
    }

    @Test func subscribe_whenChainHasAGap_throwsInvalidOptions() async throws {
        let gap: [Upcaster<ParcelV3>] = [
            Upcaster(from: ParcelV1.self, to: ParcelV2.self) { ParcelV2(id: $0.id, grams: 0) }
        ]

        await #expect(throws: BusError.self) {
            try await bus.subscribe(to: ParcelV3.self, group: "depot", upcasting: gap) { _, _ in }
        }
    }

    @Test func subscribe_whenUpcasterThrows_deadLettersAsUndecodable() async throws {
        struct NoWeight: Error {}
        let failing: [Upcaster<ParcelV2>] = [
            Upcaster(from: ParcelV1.self) { _ in throw NoWeight() }
        ]
        try await bus.subscribe(to: ParcelV2.self, group: "depot", upcasting: failing) { _, _ in }

        try await bus.publish(ParcelV1(id: 1, weight: 2))

        #expect(await waitUntil { (try? await self.bus.deadLetters().count) == 1 })
        let letter = try #require(try await bus.deadLetters().first)
        #expect(letter.reason == .undecodable)
        #expect(letter.attempts == 1)
        #expect(
            letter.errorDescription
                == "test.Parcel version 1: upcasting from version 1 (ParcelV1) failed: NoWeight() "
                + "(versions known: 1, 2)")
    }

    @Test func publishAlongside_givesEachGroupTheNewestVersionItHandles() async throws {
        let modern = Collected<Int>()
        let legacy = Collected<Int>()
        try await bus.subscribe(to: ParcelV2.self, group: "modern", upcasting: []) { parcel, _ in
            await modern.append(parcel.grams)
        }
        try await bus.subscribe(to: ParcelV1.self, group: "legacy") { parcel, _ in
            await legacy.append(parcel.weight)
        }

        try await bus.publish(ParcelV2(id: 1, grams: 3000), alongside: ParcelV1(id: 1, weight: 3))

        #expect(await waitUntil { await modern.values.count == 1 })
        #expect(await waitUntil { await legacy.values.count == 1 })
        #expect(await modern.values == [3000])
        #expect(await legacy.values == [3])
        #expect(try await bus.deadLetters().isEmpty)
    }
}
