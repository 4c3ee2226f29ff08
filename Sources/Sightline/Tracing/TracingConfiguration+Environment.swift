import Foundation

extension TracingConfiguration {
    /// The defaults with the OpenTelemetry environment variables of `environment` applied.
    ///
    /// A pure function of its arguments: it reads no process state. An unset or empty
    /// variable keeps its default. An invalid value also keeps the default, and is logged as
    /// a warning whose message and metadata name the variable (`sightline.setting`), the
    /// value (`sightline.value`) and why it was refused (`sightline.reason`). Header values
    /// are never logged, as they often hold credentials.
    ///
    /// Variables read: `OTEL_SDK_DISABLED`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
    /// `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_MAX_QUEUE_SIZE`,
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`,
    /// `OTEL_BSP_EXPORT_TIMEOUT`, `OTEL_EXPORTER_OTLP_{,TRACES_}ENDPOINT`, `…HEADERS`,
    /// `…COMPRESSION`, `…TIMEOUT` (the `TRACES_` form wins when both are set), and
    /// Sightline's own `SIGHTLINE_BSP_MAX_QUEUE_WAIT`.
    public static func fromEnvironment(
        _ environment: [String: String], logger: Logger
    ) -> TracingConfiguration {
        var reader = EnvironmentReader(environment: environment, logger: logger)
        var configuration = TracingConfiguration()

        if let disabled = reader.bool("OTEL_SDK_DISABLED") { configuration.isEnabled = !disabled }
        if let name = reader.string("OTEL_SERVICE_NAME") { configuration.serviceName = name }
        if let attributes = reader.resourceAttributes("OTEL_RESOURCE_ATTRIBUTES") {
            configuration.resourceAttributes = attributes
        }

        if let sampler = reader.sampler("OTEL_TRACES_SAMPLER") { configuration.sampler = sampler }
        if let ratio = reader.ratio("OTEL_TRACES_SAMPLER_ARG", for: configuration.sampler) {
            configuration.samplerRatio = ratio
        }

        if let size = reader.positiveInteger("OTEL_BSP_MAX_QUEUE_SIZE") {
            configuration.maxQueueSize = size
        }
        configuration.maxExportBatchSize = min(
            configuration.maxExportBatchSize, configuration.maxQueueSize)
        if let size = reader.positiveInteger("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            if size <= configuration.maxQueueSize {
                configuration.maxExportBatchSize = size
            } else {
                reader.refuse(
                    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", String(size),
                    because: "it exceeds the maximum queue size "
                        + "\(configuration.maxQueueSize)")
            }
        }
        if let delay = reader.milliseconds("OTEL_BSP_SCHEDULE_DELAY") {
            configuration.scheduleDelay = delay
        }
        if let timeout = reader.milliseconds("OTEL_BSP_EXPORT_TIMEOUT") {
            configuration.exportTimeout = timeout
        }
        if let wait = reader.milliseconds("SIGHTLINE_BSP_MAX_QUEUE_WAIT", allowingZero: true) {
            configuration.maxQueueWait = wait
        }

        configuration.otlp = reader.otlpSettings()
        return configuration
    }
}

/// Reads and validates single variables, logging each refusal.
private struct EnvironmentReader {
    let environment: [String: String]
    let logger: Logger

    /// The trimmed value, or nil when unset or empty.
    func string(_ name: String) -> String? {
        guard let raw = environment[name] else { return nil }
        let value = raw.trimmingCharacters(in: .whitespaces)
        return value.isEmpty ? nil : value
    }

    func refuse(_ name: String, _ value: String, because reason: String) {
        logger.warning(
            "ignoring \(name)=\(value): \(reason); using the default",
            [LogKey.setting: name, LogKey.value: value, LogKey.reason: reason])
    }

    mutating func bool(_ name: String) -> Bool? {
        guard let value = string(name) else { return nil }
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default:
            refuse(name, value, because: "expected true or false")
            return nil
        }
    }

    mutating func positiveInteger(_ name: String) -> Int? {
        guard let value = string(name) else { return nil }
        guard value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(value),
            number > 0
        else {
            refuse(name, value, because: "expected a positive whole number")
            return nil
        }
        return number
    }

    mutating func milliseconds(_ name: String, allowingZero: Bool = false) -> Duration? {
        guard let value = string(name) else { return nil }
        guard value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int64(value),
            number > 0 || (allowingZero && number == 0)
        else {
            let expected = allowingZero ? "zero or a positive" : "a positive"
            refuse(name, value, because: "expected \(expected) whole number of milliseconds")
            return nil
        }
        return .milliseconds(number)
    }

    mutating func sampler(_ name: String) -> SamplerKind? {
        guard let value = string(name) else { return nil }
        guard let kind = SamplerKind(rawValue: value.lowercased()) else {
            let known = SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")
            refuse(name, value, because: "unknown or unsupported sampler (known: \(known))")
            return nil
        }
        return kind
    }

    mutating func ratio(_ name: String, for sampler: SamplerKind) -> Double? {
        guard let value = string(name) else { return nil }
        guard sampler.usesRatio else {
            logger.debug(
                "\(name) ignored: sampler \(sampler.rawValue) takes no argument",
                [LogKey.setting: name, LogKey.value: value])
            return nil
        }
        guard let ratio = Double(value), ratio >= 0, ratio <= 1 else {
            refuse(name, value, because: "expected a number from 0 to 1")
            return nil
        }
        return ratio
    }

    /// `key=value,key=value` with percent-decoded keys and values. Any malformed member
    /// discards the whole variable, as the OpenTelemetry resource specification asks.
    mutating func resourceAttributes(_ name: String) -> [String: String]? {
        guard let value = string(name) else { return nil }

        var attributes: [String: String] = [:]
        for member in value.split(separator: ",", omittingEmptySubsequences: true) {
            let trimmed = member.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                refuse(name, value, because: "member '\(trimmed)' has no '='")
                return nil
            }
            let rawKey = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let rawValue = trimmed[trimmed.index(after: equals)...]
                .trimmingCharacters(in: .whitespaces)
            guard let key = PercentDecoding.decode(rawKey), !key.isEmpty,
                let decoded = PercentDecoding.decode(rawValue)
            else {
                refuse(
                    name, value,
                    because: "member '\(trimmed)' has an empty key or bad percent-encoding")
                return nil
            }
            attributes[key] = decoded
        }
        return attributes
    }

    /// The signal-specific variable when set, else the general one.
    func otlpVariable(_ suffix: String) -> (name: String, value: String)? {
        for name in ["OTEL_EXPORTER_OTLP_TRACES_\(suffix)", "OTEL_EXPORTER_OTLP_\(suffix)"] {
            if let value = string(name) { return (name, value) }
        }
        return nil
    }

    mutating func otlpSettings() -> TracingConfiguration.OTLPSettings {
        var settings = TracingConfiguration.OTLPSettings()

        if let value = string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            if isHTTPURL(value) {
                settings.endpoint = value
            } else {
                refuse(
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", value,
                    because: "expected an http or https URL")
            }
        }
        if settings.endpoint == nil, let value = string("OTEL_EXPORTER_OTLP_ENDPOINT") {
            if isHTTPURL(value) {
                // The base URL gets the signal path; a trailing slash must not double it.
                let base = value.hasSuffix("/") ? String(value.dropLast()) : value
                settings.endpoint = base + "/v1/traces"
            } else {
                refuse(
                    "OTEL_EXPORTER_OTLP_ENDPOINT", value, because: "expected an http or https URL")
            }
        }

        if let (name, value) = otlpVariable("HEADERS") {
            settings.headers = headers(name, value)
        }

        if let (name, value) = otlpVariable("COMPRESSION") {
            switch value.lowercased() {
            case "gzip": settings.compression = .gzip
            case "none": settings.compression = .none
            default: refuse(name, value, because: "expected gzip or none")
            }
        }

        if let (name, _) = otlpVariable("TIMEOUT"), let timeout = milliseconds(name) {
            settings.timeout = timeout
        }
        return settings
    }

    private func isHTTPURL(_ value: String) -> Bool {
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(),
            let host = url.host, !host.isEmpty
        else { return false }
        return scheme == "http" || scheme == "https"
    }

    /// `name=value` pairs separated by commas; each bad pair is skipped with a warning that
    /// names the header but not its value.
    private func headers(_ name: String, _ value: String) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for (position, pair) in value.split(separator: ",").enumerated() {
            let trimmed = pair.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }

            let parts = trimmed.split(separator: "=", maxSplits: 1)
            let rawKey = parts.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            let headerName = PercentDecoding.decode(rawKey) ?? ""
            let headerValue =
                parts.count == 2
                ? PercentDecoding.decode(parts[1].trimmingCharacters(in: .whitespaces)) : nil

            guard parts.count == 2, isHTTPToken(headerName), let headerValue,
                !headerValue.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" })
            else {
                let reason =
                    "header #\(position + 1) ('\(headerName)') is not name=value with a valid "
                    + "name and percent-encoded value; skipped"
                logger.warning(
                    "ignoring part of \(name): \(reason)",
                    [LogKey.setting: name, LogKey.value: "<redacted>", LogKey.reason: reason])
                continue
            }
            result.append((headerName, headerValue))
        }
        return result
    }

    /// RFC 9110 §5.6.2 `token`.
    private func isHTTPToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    return true
                default:
                    return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
                }
            }
    }
}

/// `%XY` decoding as used by the OpenTelemetry environment variables (W3C Baggage style).
enum PercentDecoding {
    /// The decoded text, or nil when a `%` is not followed by two hex digits or the bytes
    /// are not UTF-8.
    static func decode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue),
                let low = iterator.next().flatMap(hexValue)
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
