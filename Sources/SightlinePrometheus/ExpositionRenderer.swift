import Foundation
import Sightline

/// Renders metric family snapshots as Prometheus text 0.0.4 or OpenMetrics 1.0 into bytes.
///
/// Rules followed:
/// - Label values escape backslash, double quote and newline (both formats). HELP text
///   escapes backslash and newline, and in OpenMetrics also double quote.
/// - Values: `NaN`, `+Inf`, `-Inf`; integral values below 2^53 without a fraction
///   (OpenMetrics `le` values keep one, as `1.0`); others in shortest round-trip form.
/// - OpenMetrics: counter families are typed under the name without `_total` and their
///   samples keep it; histogram bucket lines carry the bucket's exemplar as
///   `# {trace_id="…",span_id="…"} value [timestamp]`; the output ends with `# EOF`.
///   `# UNIT` lines are not written (they are optional).
/// - Prometheus text carries no exemplars (the format has none).
// Not yet: OpenMetrics `# UNIT` lines, `_created` samples and exemplars on counters are not
// written; all three are optional in OpenMetrics 1.0.
public struct ExpositionRenderer: Sendable {
    public var format: ExpositionFormat

    public init(format: ExpositionFormat) {
        self.format = format
    }

    /// The exposition of `families`, in the order given.
    public func render(_ families: [MetricFamilySnapshot]) -> [UInt8] {
        var output = ExpositionBuffer(format: format)
        output.bytes.reserveCapacity(families.count * 256)

        for family in families {
            output.writeFamily(family)
        }
        if format == .openMetrics {
            output.append("# EOF\n")
        }
        return output.bytes
    }

    /// The exposition as a string, for tests and logs.
    public func renderString(_ families: [MetricFamilySnapshot]) -> String {
        String(decoding: render(families), as: UTF8.self)
    }
}

/// The byte buffer being written and the writing steps.
struct ExpositionBuffer {
    let format: ExpositionFormat
    var bytes: [UInt8] = []

    init(format: ExpositionFormat) {
        self.format = format
    }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    mutating func writeFamily(_ family: MetricFamilySnapshot) {
        let openMetrics = format == .openMetrics
        var familyName = family.name
        if openMetrics && family.type == .counter && familyName.hasSuffix("_total") {
            familyName.removeLast("_total".utf8.count)
        }

        append("# HELP ")
        append(familyName)
        append(UInt8(ascii: " "))
        writeEscaped(family.help, quotes: openMetrics)
        append("\n# TYPE ")
        append(familyName)
        append(UInt8(ascii: " "))
        append(family.type.rawValue)
        append(UInt8(ascii: "\n"))

        for series in family.series {
            switch series.value {
            case .scalar(let value):
                // Counter names are registered with `_total`, which is the sample name.
                let sampleName = family.type == .counter ? family.name : familyName
                writeSample(
                    sampleName, family.labelNames, series.labelValues, nil, value: value)
            case .histogram(let histogram):
                writeHistogram(familyName, family.labelNames, series.labelValues, histogram)
            }
        }
    }

    private mutating func writeHistogram(
        _ name: String, _ labelNames: [String], _ labelValues: [String],
        _ histogram: HistogramSnapshot
    ) {
        let bucketName = name + "_bucket"
        for (index, cumulative) in histogram.cumulativeCounts.enumerated() {
            let bound =
                index < histogram.upperBounds.count ? histogram.upperBounds[index] : .infinity
            writeSample(
                bucketName, labelNames, labelValues, ("le", bound), value: Double(cumulative))

            if format == .openMetrics, index < histogram.exemplars.count,
                let exemplar = histogram.exemplars[index]
            {
                bytes.removeLast()
                writeExemplar(exemplar)
                append(UInt8(ascii: "\n"))
            }
        }
        writeSample(name + "_sum", labelNames, labelValues, nil, value: histogram.sum)
        writeSample(
            name + "_count", labelNames, labelValues, nil, value: Double(histogram.count))
    }

    private mutating func writeSample(
        _ name: String, _ labelNames: [String], _ labelValues: [String],
        _ bucket: (name: String, bound: Double)?, value: Double
    ) {
        append(name)
        if !labelNames.isEmpty || bucket != nil {
            append(UInt8(ascii: "{"))
            var first = true
            for (labelName, labelValue) in zip(labelNames, labelValues) {
                if !first { append(UInt8(ascii: ",")) }
                first = false
                writeLabel(labelName, labelValue)
            }
            if let bucket {
                if !first { append(UInt8(ascii: ",")) }
                append(bucket.name)
                append("=\"")
                writeNumber(bucket.bound, keepFraction: format == .openMetrics)
                append(UInt8(ascii: "\""))
            }
            append(UInt8(ascii: "}"))
        }
        append(UInt8(ascii: " "))
        writeNumber(value, keepFraction: false)
        append(UInt8(ascii: "\n"))
    }

    private mutating func writeExemplar(_ exemplar: Exemplar) {
        append(" # {")
        writeLabel("trace_id", exemplar.traceID.hex)
        append(UInt8(ascii: ","))
        writeLabel("span_id", exemplar.spanID.hex)
        append("} ")
        writeNumber(exemplar.value, keepFraction: false)
        if let timestamp = exemplar.timestamp {
            append(UInt8(ascii: " "))
            writeNumber(timestamp.timeIntervalSince1970, keepFraction: false)
        }
    }

    private mutating func writeLabel(_ name: String, _ value: String) {
        append(name)
        append("=\"")
        writeEscaped(value, quotes: true)
        append(UInt8(ascii: "\""))
    }

    private mutating func writeEscaped(_ text: String, quotes: Bool) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"):
                append("\\\\")
            case UInt8(ascii: "\n"):
                append("\\n")
            case UInt8(ascii: "\"") where quotes:
                append("\\\"")
            default:
                append(byte)
            }
        }
    }

    /// Writes a sample value or bound in the forms both formats parse.
    mutating func writeNumber(_ value: Double, keepFraction: Bool) {
        if value.isNaN {
            append("NaN")
        } else if value == .infinity {
            append("+Inf")
        } else if value == -.infinity {
            append("-Inf")
        } else if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            writeInteger(Int64(value))
            if keepFraction { append(".0") }
        } else {
            append(value.description)
        }
    }

    private mutating func writeInteger(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }

        let start = bytes.count
        var magnitude = value.magnitude
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }
}
