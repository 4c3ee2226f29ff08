import COTLPProto

typealias ProtoResponse = Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse

/// Short names for the generated protobuf-c functions whose full names do not fit the line
/// width where they are used.
enum ProtoCalls {
    static func packedSize(_ request: UnsafePointer<ProtoRequest>) -> Int {
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
            request)
    }

    /// Writes the request into `output`, which holds at least `packedSize` bytes.
    static func pack(
        _ request: UnsafePointer<ProtoRequest>, into output: UnsafeMutablePointer<UInt8>?
    )
        -> Int
    {
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
            request, output)
    }

    /// Nil when the bytes are not a valid response. Free the result with ``free(_:)``.
    static func unpackResponse(_ bytes: UnsafeBufferPointer<UInt8>)
        -> UnsafeMutablePointer<ProtoResponse>?
    {
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
            nil, bytes.count, bytes.baseAddress)
    }

    static func free(_ response: UnsafeMutablePointer<ProtoResponse>) {
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
            response, nil)
    }
}
