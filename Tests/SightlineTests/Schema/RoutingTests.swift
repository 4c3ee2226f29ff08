import Foundation
import Sightline
import SightlineTestKit
import Testing

@Suite struct RoutingTests {
    let exporter = InMemorySpanExporter()
    let tracer: Tracer
    let bus: Bus

    init() {
        tracer = Tracer(
            configuration: TracingConfiguration(), exporter: exporter, logger: .disabled)
        bus = Bus(configuration: BusConfiguration(logger: .disabled, tracer: tracer))
    }

    private func finishedSpans() async -> [SpanData] {
        _ = await bus.shutdown(deadline: .seconds(10))
        await tracer.forceFlush(deadline: .now + .seconds(10))
        return exporter.spans
    }

    @Test func filter_byHeaderAndVersion_routesOnlyMatchingMessages() async throws {
        let europe = Collected<Int>()
        let filter = SubscriptionFilter(
            versions: 2...2, headers: [.equals("region", "eu"), .isAbsent("test")])
        try await bus.subscribe(to: ParcelV2.self, group: "eu", filter: filter) { parcel, _ in
            await europe.append(parcel.id)
        }
        let all = Collected<Int>()
        try await bus.subscribe(to: ParcelV2.self, group: "all") { parcel, _ in
            await all.append(parcel.id)
        }

        try await bus.publish(ParcelV2(id: 1, grams: 1), options: .init(headers: ["region": "eu"]))
        try await bus.publish(ParcelV2(id: 2, grams: 1), options: .init(headers: ["region": "us"]))
        try await bus.publish(
            ParcelV2(id: 3, grams: 1), options: .init(headers: ["region": "eu", "test": "1"]))
        try await bus.publish(ParcelV2(id: 4, grams: 1))

        #expect(await waitUntil { await all.values.count == 4 })
        #expect(await europe.values == [1])
    }

    @Test func filter_byMessageType_refusesOtherTypes() {
        let filter = SubscriptionFilter(messageTypes: ["test.Parcel"])

        #expect(filter.matches(Envelope(messageType: "test.Parcel", channel: "p", payload: Data())))
        #expect(!filter.matches(Envelope(messageType: "test.Other", channel: "p", payload: Data())))
    }

    @Test func translate_publishesTheCanonicalMessageInsideATransformSpan() async throws {
        let handled = Collected<ParcelV2>()
        try await bus.subscribe(to: ParcelV2.self, group: "depot") { parcel, _ in
            await handled.append(parcel)
        }
        try await bus.translate(LegacyShipment.self, into: ParcelV2.self) { legacy in
            ParcelV2(id: Int(legacy.number) ?? 0, grams: 0)
        }

        try await bus.publish(LegacyShipment(number: "42"))

        #expect(await waitUntil { await handled.values.count == 1 })
        #expect(await handled.values == [ParcelV2(id: 42, grams: 0)])
        let spans = await finishedSpans()
        let transform = try #require(
            spans.first { $0.name == "translate legacy.Shipment to test.Parcel" })
        let publish = try #require(spans.first { $0.name == "publish parcels" })
        #expect(publish.parentSpanID == transform.context.spanID)
        #expect(transform.attributes["sightline.transform.to"] == .string("test.Parcel"))
    }

    @Test func processingSpan_recordsReceivedAndHandledVersionsAndTheUpcast() async throws {
        try await bus.subscribe(
            to: ParcelV2.self, group: "depot",
            upcasting: [Upcaster(from: ParcelV1.self) { ParcelV2(id: $0.id, grams: $0.weight) }]
        ) { _, _ in }

        try await bus.publish(ParcelV1(id: 1, weight: 5))
        let spans = await finishedSpans()

        let span = try #require(spans.first { $0.name == "process parcels" })
        #expect(span.attributes["sightline.schema.version.received"] == .int(1))
        #expect(span.attributes["sightline.schema.version.handled"] == .int(2))
        #expect(span.events.map(\.name) == ["sightline.schema.upcast"])
    }
}
