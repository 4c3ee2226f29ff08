/// One node of a parsed YAML document, with the line it starts on (1-based).
struct YAMLNode: Sendable {
    enum Kind: Sendable {
        /// A scalar's text; `isPlain` is false for quoted or block scalars.
        case scalar(String, isPlain: Bool)
        case sequence([YAMLNode])
        /// Pairs in file order; keys may repeat (the decoder rejects that).
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    var kind: Kind
    var line: Int

    /// The kind in words, for error messages.
    var kindName: String {
        switch kind {
        case .scalar: "a scalar"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }
}
