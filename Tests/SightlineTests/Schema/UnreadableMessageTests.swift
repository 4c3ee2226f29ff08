import Foundation
import Sightline
import Testing

@Suite struct UnreadableMessageTests {
    let transport = InMemoryTransport()
    let bus: Bus

    init() {
        bus = Bus(configuration: BusConfiguration(transport: transport, logger: .disabled))
    }

    private func deliver(version: Int, payload: String, contentType: String = "application/json")
        async throws -> DeadLetter?
    {
        try await bus.subscribe(
            to: ParcelV2.self, group: "depot",
            upcasting: [Upcaster(from: ParcelV1.self) { ParcelV2(id: $0.id, grams: $0.weight) }]
        ) { _, _ in }
        let envelope = Envelope(
            messageType: ParcelV2.messageType, schemaVersion: version, channel: "parcels",
            contentType: contentType, payload: Data(payload.utf8))
        try await transport.enqueue(
            envelope, to: [GroupKey(channel: "parcels", group: "depot")], whenFull: .fail)
        _ = await waitUntil { (try? await self.bus.deadLetters().count) == 1 }
        return try await bus.deadLetters().first
    }

    @Test func futureVersion_isDeadLetteredAsUnknownVersion() async throws {
        let letter = try #require(try await deliver(version: 3, payload: #"{"id":1}"#))

        #expect(letter.reason == .unknownVersion)
        #expect(letter.attempts == 1)
        #expect(
            letter.errorDescription
                == "test.Parcel version 3: newer than version 2, which this consumer (ParcelV2) "
                + "handles (versions known: 1, 2)")
    }

    @Test func versionZero_isDeadLetteredAsInvalidVersion() async throws {
        let letter = try #require(try await deliver(version: 0, payload: #"{"id":1}"#))

        #expect(letter.reason == .invalidVersion)
        #expect(
            letter.errorDescription
                == "test.Parcel version 0: the schema version is missing or not positive "
                + "(versions known: 1, 2)")
    }

    @Test func missingField_isDeadLetteredAsUndecodableNamingTheField() async throws {
        let letter = try #require(try await deliver(version: 2, payload: #"{"id":1}"#))

        #expect(letter.reason == .undecodable)
        #expect(
            letter.errorDescription
                == "test.Parcel version 2: the payload does not decode as ParcelV2: required "
                + "field $.grams is missing (versions known: 1, 2)")
    }

    @Test func olderVersionThatDoesNotDecode_isDeadLetteredAsUndecodable() async throws {
        let letter = try #require(
            try await deliver(version: 1, payload: #"{"id":1,"weight":"heavy"}"#))

        #expect(letter.reason == .undecodable)
        #expect(
            letter.errorDescription.hasPrefix("test.Parcel version 1: upcasting from version 1"))
        #expect(letter.errorDescription.contains("$.weight is not of type Int"))
    }

    @Test func foreignContentType_isDeadLetteredAsUndecodable() async throws {
        let letter = try #require(
            try await deliver(
                version: 2, payload: "id=1", contentType: "application/x-www-form-urlencoded"))

        #expect(letter.reason == .undecodable)
        #expect(
            letter.errorDescription
                == "test.Parcel version 2: content type 'application/x-www-form-urlencoded' is "
                + "not application/json (versions known: 1, 2)")
    }
}
