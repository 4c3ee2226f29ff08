// Name rules follow the Prometheus data model: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*,
// label names [a-zA-Z_][a-zA-Z0-9_]*, and label names starting with "__" are reserved.
extension MetricsRegistry {
    static func validate(
        name: String, labelNames: [String], type: MetricType
    ) throws(MetricsRegistrationError) {
        guard isValidMetricName(name) else {
            throw MetricsRegistrationError(
                code: .invalidMetricName, metricName: name,
                message: "the name must match [a-zA-Z_:][a-zA-Z0-9_:]*")
        }
        if type == .counter && (!name.hasSuffix("_total") || name == "_total") {
            throw MetricsRegistrationError(
                code: .missingTotalSuffix, metricName: name,
                message: "a counter's name must end in _total")
        }

        var seen: Set<String> = []
        for label in labelNames {
            guard isValidLabelName(label), !label.hasPrefix("__") else {
                throw MetricsRegistrationError(
                    code: .invalidLabelName, metricName: name,
                    message: "label name \"\(label)\" must match [a-zA-Z_][a-zA-Z0-9_]* "
                        + "and not start with __")
            }
            guard seen.insert(label).inserted else {
                throw MetricsRegistrationError(
                    code: .duplicateLabelName, metricName: name,
                    message: "label name \"\(label)\" appears twice")
            }
            if type == .histogram && label == "le" {
                throw MetricsRegistrationError(
                    code: .reservedLabelName, metricName: name,
                    message: "a histogram cannot have the label le")
            }
        }
    }

    static func validate(buckets: [Double], name: String) throws(MetricsRegistrationError) {
        for (index, bound) in buckets.enumerated() {
            let ascending = index == 0 || buckets[index - 1] < bound
            guard bound.isFinite, ascending else {
                throw MetricsRegistrationError(
                    code: .invalidBuckets, metricName: name,
                    message: "bucket \(index) (\(bound)) is not finite or not above the one "
                        + "before")
            }
        }
    }

    static func isValidMetricName(_ name: String) -> Bool {
        isValid(name) { byte, first in
            isLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                || (!first && isDigit(byte))
        }
    }

    static func isValidLabelName(_ name: String) -> Bool {
        isValid(name) { byte, first in
            isLetter(byte) || byte == UInt8(ascii: "_") || (!first && isDigit(byte))
        }
    }

    private static func isValid(_ name: String, _ allowed: (UInt8, Bool) -> Bool) -> Bool {
        guard !name.isEmpty else { return false }

        for (index, byte) in name.utf8.enumerated() where !allowed(byte, index == 0) {
            return false
        }
        return true
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
