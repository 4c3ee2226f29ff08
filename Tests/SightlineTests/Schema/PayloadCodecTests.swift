import Foundation
import Sightline
import Testing

@Suite struct PayloadCodecTests {
    @Test func tolerantCodec_ignoresUnknownFields() throws {
        let data = Data(#"{"id":1,"grams":5,"colour":"red"}"#.utf8)

        let parcel = try JSONPayloadCodec().decode(ParcelV2.self, from: data)

        #expect(parcel == ParcelV2(id: 1, grams: 5))
    }

    @Test func strictCodec_rejectsUnknownFieldsAtEveryLevel() throws {
        let data = Data(#"{"id":1,"label":{"text":"a","font":"serif"},"extra":true}"#.utf8)

        #expect(
            throws: UnknownFieldsError(
                typeName: "StrictParcel", paths: ["$.extra", "$.label.font"])
        ) {
            try StrictParcel.payloadCodec.decode(StrictParcel.self, from: data)
        }
    }

    @Test func strictCodec_acceptsKnownFieldsAndAbsentOptionals() throws {
        let codec = StrictParcel.payloadCodec

        let parcel = try codec.decode(StrictParcel.self, from: Data(#"{"id":4}"#.utf8))

        #expect(parcel == StrictParcel(id: 4, label: nil))
    }

    @Test func strictMessage_withUnknownField_isDeadLetteredAsUndecodable() async throws {
        let transport = InMemoryTransport()
        let bus = Bus(configuration: BusConfiguration(transport: transport, logger: .disabled))
        try await bus.subscribe(to: StrictParcel.self, group: "depot") { _, _ in }
        let envelope = Envelope(
            messageType: StrictParcel.messageType, channel: "parcels",
            payload: Data(#"{"id":1,"extra":true}"#.utf8))

        try await transport.enqueue(
            envelope, to: [GroupKey(channel: "parcels", group: "depot")], whenFull: .fail)

        #expect(await waitUntil { (try? await bus.deadLetters().count) == 1 })
        let letter = try #require(try await bus.deadLetters().first)
        #expect(letter.reason == .undecodable)
        #expect(
            letter.errorDescription
                == "test.StrictParcel version 1: the payload does not decode as StrictParcel: "
                + "StrictParcel does not decode the field(s) $.extra (versions known: 1)")
    }
}
