import CYAML

/// Parses YAML text with libyaml's document loader into ``YAMLNode``s.
///
/// libyaml runs entirely in memory here: no file or network access, no blocking.
enum YAMLDocumentLoader {
    /// A syntax error libyaml reported, with its 1-based line.
    struct SyntaxError: Error {
        var line: Int
        var problem: String
    }

    /// The first document's root node; nil for an empty stream.
    ///
    /// - Throws: ``SyntaxError`` for malformed YAML or a second document.
    static func load(_ text: String) throws(SyntaxError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw SyntaxError(line: 1, problem: "libyaml could not start a parser")
        }
        defer { yaml_parser_delete(&parser) }

        // libyaml reads from the buffer during `yaml_parser_load`, so it must outlive that.
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(SyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)

            let root = try loadDocument(&parser)
            guard root != nil else { return nil }
            if let extra = try loadDocument(&parser) {
                throw SyntaxError(
                    line: extra.line, problem: "a policy file holds one YAML document, found more")
            }
            return root
        }
    }

    private static func loadDocument(_ parser: inout yaml_parser_t) throws(SyntaxError)
        -> YAMLNode?
    {
        var document = yaml_document_t()
        guard yaml_parser_load(&parser, &document) == 1 else {
            let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
            let context = parser.context.map { String(cString: $0) + ": " } ?? ""
            throw SyntaxError(line: Int(parser.problem_mark.line) + 1, problem: context + problem)
        }
        defer { yaml_document_delete(&document) }

        guard let root = yaml_document_get_root_node(&document) else { return nil }
        return convert(root, in: &document, depth: 0)
    }

    /// Copies a libyaml node tree into Swift values. Aliases resolve to the same node
    /// index, so depth is bounded to stop an alias cycle.
    private static func convert(
        _ node: UnsafeMutablePointer<yaml_node_t>, in document: inout yaml_document_t, depth: Int
    ) -> YAMLNode {
        let line = Int(node.pointee.start_mark.line) + 1
        guard depth < 64 else { return YAMLNode(kind: .scalar("", isPlain: false), line: line) }

        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let scalar = node.pointee.data.scalar
            let text = String(
                decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length),
                as: UTF8.self)
            return YAMLNode(
                kind: .scalar(text, isPlain: scalar.style == YAML_PLAIN_SCALAR_STYLE), line: line)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var item = node.pointee.data.sequence.items.start
            while let current = item, current != node.pointee.data.sequence.items.top {
                if let child = yaml_document_get_node(&document, current.pointee) {
                    items.append(convert(child, in: &document, depth: depth + 1))
                }
                item = current + 1
            }
            return YAMLNode(kind: .sequence(items), line: line)
        default:
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var pair = node.pointee.data.mapping.pairs.start
            while let current = pair, current != node.pointee.data.mapping.pairs.top {
                if let key = yaml_document_get_node(&document, current.pointee.key),
                    let value = yaml_document_get_node(&document, current.pointee.value)
                {
                    pairs.append(
                        (
                            convert(key, in: &document, depth: depth + 1),
                            convert(value, in: &document, depth: depth + 1)
                        ))
                }
                pair = current + 1
            }
            return YAMLNode(kind: .mapping(pairs), line: line)
        }
    }
}
