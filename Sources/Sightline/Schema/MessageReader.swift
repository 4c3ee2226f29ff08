import Foundation

/// Turns a delivered envelope into the handled message type: checks the version, decodes
/// with the type's codec, and runs the upcaster chain for older versions.
struct MessageReader<M: Message>: Sendable {
    /// What one read did.
    struct Reading {
        var message: M
        /// The upcast steps applied, oldest first: (from, to).
        var steps: [(from: Int, to: Int)]
    }

    private let upcasters: [Int: Upcaster<M>]
    /// The handled version and every version an upcaster path starts from, ascending.
    let knownVersions: [Int]

    /// Checks that the upcasters form chains that all end at `M.schemaVersion`.
    ///
    /// - Throws: ``BusError`` `invalidOptions` naming the faulty step.
    init(upcasters: [Upcaster<M>] = []) throws {
        let target = M.schemaVersion
        var byVersion: [Int: Upcaster<M>] = [:]
        for upcaster in upcasters {
            let step = "\(M.messageType) upcaster \(upcaster.fromVersion)→\(upcaster.toVersion)"
            guard upcaster.fromVersion >= 1, upcaster.fromVersion < upcaster.toVersion,
                upcaster.toVersion <= target
            else {
                throw BusError(
                    .invalidOptions,
                    "\(step): steps must go from an older version up to at most \(target)")
            }
            guard byVersion[upcaster.fromVersion] == nil else {
                throw BusError(
                    .invalidOptions, "\(step): two upcasters start at \(upcaster.fromVersion)")
            }
            byVersion[upcaster.fromVersion] = upcaster
        }
        for start in byVersion.keys {
            var version = start
            while version != target {
                guard let next = byVersion[version] else {
                    throw BusError(
                        .invalidOptions,
                        "\(M.messageType): no upcaster from version \(version), so version "
                            + "\(start) cannot reach \(target)")
                }
                version = next.toVersion
            }
        }
        self.upcasters = byVersion
        self.knownVersions = (Array(byVersion.keys) + [target]).sorted()
    }

    func read(_ envelope: Envelope) throws(MessageContractError) -> Reading {
        let received = envelope.schemaVersion
        let target = M.schemaVersion
        func failure(_ code: MessageContractError.Code, _ message: String) -> MessageContractError {
            MessageContractError(
                code, messageType: M.messageType, receivedVersion: received,
                knownVersions: knownVersions, message: message)
        }

        guard received >= 1 else {
            throw failure(.invalidVersion, "the schema version is missing or not positive")
        }
        guard received <= target else {
            throw failure(
                .unknownVersion,
                "newer than version \(target), which this consumer (\(M.self)) handles")
        }
        if received == target {
            if let message = envelope.body.value as? M {
                return Reading(message: message, steps: [])
            }
            let codec = M.payloadCodec
            guard codec.accepts(contentType: envelope.contentType) else {
                let mismatch = ContentTypeMismatch(
                    contentType: envelope.contentType, expected: codec.contentType)
                throw failure(.undecodable, "\(mismatch)")
            }
            do {
                let payload = try envelope.body.encoded()
                return Reading(message: try codec.decode(M.self, from: payload), steps: [])
            } catch {
                throw failure(
                    .undecodable,
                    "the payload does not decode as \(M.self): \(Self.explain(error))")
            }
        }

        guard var step = upcasters[received] else {
            throw failure(.unknownVersion, "no upcaster reads version \(received)")
        }
        var steps: [(from: Int, to: Int)] = []
        do {
            var stage = try step.read(try envelope.body.encoded(), envelope.contentType)
            while true {
                stage = try step.apply(stage)
                steps.append((step.fromVersion, step.toVersion))
                guard step.toVersion != target, let next = upcasters[step.toVersion] else { break }
                step = next
            }
            return Reading(message: try stage.value(as: M.self), steps: steps)
        } catch {
            let at = steps.last?.to ?? received
            throw failure(
                .undecodable,
                "upcasting from version \(at) (\(step.origin)) failed: \(Self.explain(error))")
        }
    }

    /// A short account of a decoding error: what was wrong and at which field.
    static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            return "$"
                + keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }
                .joined()
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "required field \(path(context, key)) is missing"
        case .valueNotFound(let type, let context):
            return "\(path(context)) is null where \(type) is required"
        case .typeMismatch(let type, let context):
            return "\(path(context)) is not of type \(type)"
        case .dataCorrupted(let context):
            let cause = context.underlyingError.map { ": \($0)" } ?? ""
            return "\(path(context)): \(context.debugDescription)\(cause)"
        @unknown default:
            return "\(error)"
        }
    }
}
