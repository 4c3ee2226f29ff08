import Foundation
import Sightline

struct ParcelV1: Event, Equatable {
    static let messageType = "test.Parcel"
    static let channel = "parcels"
    static let schemaVersion = 1

    var id: Int
    var weight: Int
}

struct ParcelV2: Event, Equatable {
    static let messageType = "test.Parcel"
    static let channel = "parcels"
    static let schemaVersion = 2

    var id: Int
    var grams: Int
}

struct ParcelV3: Event, Equatable {
    static let messageType = "test.Parcel"
    static let channel = "parcels"
    static let schemaVersion = 3

    var id: Int
    var grams: Int
    var carrier: String
}

struct StrictParcel: Event, Equatable {
    static let messageType = "test.StrictParcel"
    static let channel = "parcels"
    static let payloadCodec: any PayloadCodec = JSONPayloadCodec(unknownFields: .reject)

    var id: Int
    var label: Label?

    struct Label: Codable, Equatable {
        var text: String
    }
}

struct LegacyShipment: Event {
    static let messageType = "legacy.Shipment"
    static let channel = "legacy"

    var number: String
}

/// Collects handled values across handler tasks.
actor Collected<Value: Sendable> {
    private(set) var values: [Value] = []

    func append(_ value: Value) { values.append(value) }
}

func waitUntil(_ condition: @Sendable () async -> Bool) async -> Bool {
    for _ in 0..<200_000 {
        if await condition() { return true }
        await Task.yield()
    }
    return await condition()
}
