import COTLPProto
import CSightlineGzip
import Sightline

typealias ProtoRequest = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
typealias ProtoResourceSpans = Opentelemetry__Proto__Trace__V1__ResourceSpans
typealias ProtoScopeSpans = Opentelemetry__Proto__Trace__V1__ScopeSpans
typealias ProtoSpan = Opentelemetry__Proto__Trace__V1__Span
typealias ProtoEvent = Opentelemetry__Proto__Trace__V1__Span__Event
typealias ProtoLink = Opentelemetry__Proto__Trace__V1__Span__Link
typealias ProtoStatus = Opentelemetry__Proto__Trace__V1__Status
typealias ProtoResource = Opentelemetry__Proto__Resource__V1__Resource
typealias ProtoScope = Opentelemetry__Proto__Common__V1__InstrumentationScope
typealias ProtoKeyValue = Opentelemetry__Proto__Common__V1__KeyValue
typealias ProtoAnyValue = Opentelemetry__Proto__Common__V1__AnyValue
typealias ProtoArrayValue = Opentelemetry__Proto__Common__V1__ArrayValue

/// Turns finished spans into the bytes of an OTLP `ExportTraceServiceRequest`.
///
/// All spans go under one `ResourceSpans` (the given resource) and one `ScopeSpans` (the
/// resource's scope name and version), in the order given. Attributes are written in their
/// dictionary's order (OTLP gives attribute order no meaning; sorting the keys of every span
/// showed in the profile), so encoding one input twice gives the same bytes. Span `flags`
/// carry the W3C trace flags in bits 0-7; link `flags` also set bit 8 ("is-remote is
/// known") and bit 9 when the linked context is remote, as OTLP 1.1 defines.
public struct OTLPTraceEncoder: Sendable {
    private let arenas = ArenaPool()

    public init() {}

    /// The protobuf encoding of one export request. Thread-safe; the same input always
    /// gives the same bytes.
    public func encode(_ spans: [SpanData], resource: TracingResource) -> [UInt8] {
        arenas.withArena { arena in
            var builder = MessageBuilder(arena: arena)
            let request = builder.request(spans, resource: resource)

            let size = ProtoCalls.packedSize(request)
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = ProtoCalls.pack(request, into: buffer.baseAddress)
            }
        }
    }

    /// `bytes` as one gzip member (what the exporter sends with `Content-Encoding: gzip`);
    /// nil if zlib fails.
    public static func gzip(_ bytes: [UInt8]) -> [UInt8]? {
        let capacity = sightline_gzip_bound(bytes.count)
        let output = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            count = bytes.withUnsafeBufferPointer { source in
                sightline_gzip(source.baseAddress, source.count, buffer.baseAddress, capacity)
            }
        }
        return output.isEmpty ? nil : output
    }
}

/// Builds the C structs of one request inside an arena.
private struct MessageBuilder {
    let arena: EncodingArena

    // Bit 8 of the span and link flags: whether bit 9 (is-remote) is meaningful.
    private static let hasIsRemote: UInt32 = 0x100
    private static let isRemote: UInt32 = 0x200

    mutating func request(_ spans: [SpanData], resource: TracingResource)
        -> UnsafeMutablePointer<ProtoRequest>
    {
        let request = arena.make(ProtoRequest.self)
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(request)

        let resourceSpans = arena.make(ProtoResourceSpans.self)
        opentelemetry__proto__trace__v1__resource_spans__init(resourceSpans)
        resourceSpans.pointee.resource = protoResource(resource.attributes)

        let scopeSpans = arena.make(ProtoScopeSpans.self)
        opentelemetry__proto__trace__v1__scope_spans__init(scopeSpans)
        scopeSpans.pointee.scope = scope(name: resource.scopeName, version: resource.scopeVersion)

        let spanPointers = arena.pointers(to: ProtoSpan.self, count: spans.count)
        for (index, span) in spans.enumerated() {
            spanPointers[index] = protoSpan(span)
        }
        scopeSpans.pointee.n_spans = spans.count
        scopeSpans.pointee.spans = spanPointers

        let scopeList = arena.pointers(to: ProtoScopeSpans.self, count: 1)
        scopeList[0] = scopeSpans
        resourceSpans.pointee.n_scope_spans = 1
        resourceSpans.pointee.scope_spans = scopeList

        let resourceList = arena.pointers(to: ProtoResourceSpans.self, count: 1)
        resourceList[0] = resourceSpans
        request.pointee.n_resource_spans = 1
        request.pointee.resource_spans = resourceList
        return request
    }

    private func protoResource(_ attributes: SpanAttributes) -> UnsafeMutablePointer<ProtoResource>
    {
        let resource = arena.make(ProtoResource.self)
        opentelemetry__proto__resource__v1__resource__init(resource)
        (resource.pointee.n_attributes, resource.pointee.attributes) = keyValues(attributes)
        return resource
    }

    private func scope(name: String, version: String) -> UnsafeMutablePointer<ProtoScope> {
        let scope = arena.make(ProtoScope.self)
        opentelemetry__proto__common__v1__instrumentation_scope__init(scope)
        if !name.isEmpty { scope.pointee.name = arena.cString(name) }
        if !version.isEmpty { scope.pointee.version = arena.cString(version) }
        return scope
    }

    private func protoSpan(_ span: SpanData) -> UnsafeMutablePointer<ProtoSpan> {
        let proto = arena.make(ProtoSpan.self)
        opentelemetry__proto__trace__v1__span__init(proto)

        proto.pointee.trace_id = traceIDBytes(span.context.traceID)
        proto.pointee.span_id = spanIDBytes(span.context.spanID)
        if !span.context.traceState.isEmpty {
            proto.pointee.trace_state = arena.cString(span.context.traceState)
        }
        if let parent = span.parentSpanID, parent.isValid {
            proto.pointee.parent_span_id = spanIDBytes(parent)
        }
        // Whether the parent was remote is not part of SpanData, so bits 8-9 stay clear
        // ("unknown"), which OTLP allows.
        proto.pointee.flags = UInt32(span.context.flags.rawValue)
        proto.pointee.name = arena.cString(span.name)
        proto.pointee.kind = Opentelemetry__Proto__Trace__V1__Span__SpanKind(
            rawValue: UInt32(span.kind.rawValue))
        proto.pointee.start_time_unix_nano = span.startTimeUnixNano
        proto.pointee.end_time_unix_nano = span.endTimeUnixNano
        (proto.pointee.n_attributes, proto.pointee.attributes) = keyValues(span.attributes)

        if !span.events.isEmpty {
            let events = arena.pointers(to: ProtoEvent.self, count: span.events.count)
            for (index, event) in span.events.enumerated() {
                events[index] = protoEvent(event)
            }
            proto.pointee.n_events = span.events.count
            proto.pointee.events = events
        }

        if !span.links.isEmpty {
            let links = arena.pointers(to: ProtoLink.self, count: span.links.count)
            for (index, link) in span.links.enumerated() {
                links[index] = protoLink(link)
            }
            proto.pointee.n_links = span.links.count
            proto.pointee.links = links
        }

        proto.pointee.status = protoStatus(span.status)
        return proto
    }

    private func protoEvent(_ event: SpanEvent) -> UnsafeMutablePointer<ProtoEvent> {
        let proto = arena.make(ProtoEvent.self)
        opentelemetry__proto__trace__v1__span__event__init(proto)
        proto.pointee.time_unix_nano = event.timeUnixNano
        proto.pointee.name = arena.cString(event.name)
        (proto.pointee.n_attributes, proto.pointee.attributes) = keyValues(event.attributes)
        return proto
    }

    private func protoLink(_ link: SpanLinkData) -> UnsafeMutablePointer<ProtoLink> {
        let proto = arena.make(ProtoLink.self)
        opentelemetry__proto__trace__v1__span__link__init(proto)
        proto.pointee.trace_id = traceIDBytes(link.context.traceID)
        proto.pointee.span_id = spanIDBytes(link.context.spanID)
        if !link.context.traceState.isEmpty {
            proto.pointee.trace_state = arena.cString(link.context.traceState)
        }
        var flags = UInt32(link.context.flags.rawValue) | Self.hasIsRemote
        if link.context.isRemote { flags |= Self.isRemote }
        proto.pointee.flags = flags
        (proto.pointee.n_attributes, proto.pointee.attributes) = keyValues(link.attributes)
        return proto
    }

    /// Nil for `.unset`: an absent status decodes as code UNSET and saves bytes.
    private func protoStatus(_ status: SpanStatus) -> UnsafeMutablePointer<ProtoStatus>? {
        let code: UInt32
        var description = ""
        switch status {
        case .unset: return nil
        case .ok: code = 1
        case .error(let text):
            code = 2
            description = text
        }

        let proto = arena.make(ProtoStatus.self)
        opentelemetry__proto__trace__v1__status__init(proto)
        proto.pointee.code = Opentelemetry__Proto__Trace__V1__Status__StatusCode(rawValue: code)
        if !description.isEmpty { proto.pointee.message = arena.cString(description) }
        return proto
    }

    private func keyValues(_ attributes: SpanAttributes)
        -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<ProtoKeyValue>?>?)
    {
        guard !attributes.isEmpty else { return (0, nil) }

        let list = arena.pointers(to: ProtoKeyValue.self, count: attributes.count)
        for (index, (key, value)) in attributes.enumerated() {
            let pair = arena.make(ProtoKeyValue.self)
            opentelemetry__proto__common__v1__key_value__init(pair)
            pair.pointee.key = arena.cString(key)
            pair.pointee.value = anyValue(value)
            list[index] = pair
        }
        return (attributes.count, list)
    }

    private func anyValue(_ value: AttributeValue) -> UnsafeMutablePointer<ProtoAnyValue> {
        let proto = arena.make(ProtoAnyValue.self)
        opentelemetry__proto__common__v1__any_value__init(proto)

        switch value {
        case .string(let text):
            proto.pointee.value_case =
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
            proto.pointee.string_value = arena.cString(text)
        case .int(let number):
            proto.pointee.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
            proto.pointee.int_value = number
        case .double(let number):
            proto.pointee.value_case =
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
            proto.pointee.double_value = number
        case .bool(let flag):
            proto.pointee.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
            proto.pointee.bool_value = flag ? 1 : 0
        case .stringArray(let texts):
            let array = arena.make(ProtoArrayValue.self)
            opentelemetry__proto__common__v1__array_value__init(array)
            let values = arena.pointers(to: ProtoAnyValue.self, count: texts.count)
            for (index, text) in texts.enumerated() {
                values[index] = anyValue(.string(text))
            }
            array.pointee.n_values = texts.count
            array.pointee.values = values
            proto.pointee.value_case =
                OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
            proto.pointee.array_value = array
        }
        return proto
    }

    private func traceIDBytes(_ id: TraceID) -> ProtobufCBinaryData {
        let bytes = arena.bytes(count: 16)
        let raw = UnsafeMutableRawPointer(bytes)
        raw.storeBytes(of: id.high.bigEndian, toByteOffset: 0, as: UInt64.self)
        raw.storeBytes(of: id.low.bigEndian, toByteOffset: 8, as: UInt64.self)
        return ProtobufCBinaryData(len: 16, data: bytes)
    }

    private func spanIDBytes(_ id: SpanID) -> ProtobufCBinaryData {
        let bytes = arena.bytes(count: 8)
        UnsafeMutableRawPointer(bytes).storeBytes(of: id.value.bigEndian, as: UInt64.self)
        return ProtobufCBinaryData(len: 8, data: bytes)
    }
}
