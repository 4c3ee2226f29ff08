import Sightline

/// Turns a policy file's node tree into a ``BackPressurePolicy``, checking keys, types and
/// ranges, and remembering each field's line so that range errors found later by the
/// policy's own validation can point at it.
struct PolicyDecoder {
    let file: String
    private(set) var lines: [String: Int] = [:]

    init(file: String) {
        self.file = file
    }

    mutating func decode(_ root: YAMLNode) throws(PolicyFileError) -> BackPressurePolicy {
        var policy = BackPressurePolicy()
        let fields = try mapping(
            root, at: "",
            allowed: [
                "version", "tick", "stale_after_ticks", "default_lag_target", "max_delay",
                "cohorts", "probe_share", "thresholds", "rate", "memory", "channels", "producers",
            ])

        for (key, node) in fields {
            switch key {
            case "version":
                let version = try integer(node, at: key)
                guard version == 1 else {
                    throw error(node, key, "only version 1 is known (got \(version))")
                }
            case "tick": policy.tick = try duration(node, at: key)
            case "stale_after_ticks": policy.staleAfterTicks = try integer(node, at: key)
            case "default_lag_target": policy.defaultLagTarget = try duration(node, at: key)
            case "max_delay": policy.maxDelay = try duration(node, at: key)
            case "cohorts": policy.cohorts = try integer(node, at: key)
            case "probe_share": policy.probeShare = try number(node, at: key)
            case "thresholds": policy.thresholds = try thresholds(node)
            case "rate": policy.rate = try rate(node)
            case "memory": policy.memory = try memory(node)
            case "channels": policy.channels = try channels(node)
            default: policy.producers = try producers(node)
            }
        }
        return policy
    }

    /// The line of `field`, or of its nearest parent that has one.
    func line(of field: String) -> Int? {
        var path = field
        while true {
            if let line = lines[path] { return line }
            guard let dot = path.lastIndex(of: ".") else { return lines[""] }
            path = String(path[..<dot])
        }
    }

    // MARK: Sections

    private mutating func thresholds(_ node: YAMLNode) throws(PolicyFileError)
        -> BackPressurePolicy.Thresholds
    {
        var levels = BackPressurePolicy.Thresholds()
        let fields = try mapping(
            node, at: "thresholds",
            allowed: [
                "throttle_start", "throttle_stop", "shed_start", "shed_stop", "minimum_dwell",
            ]
        )
        for (key, value) in fields {
            let path = "thresholds.\(key)"
            switch key {
            case "throttle_start": levels.throttleStart = try number(value, at: path)
            case "throttle_stop": levels.throttleStop = try number(value, at: path)
            case "shed_start": levels.shedStart = try number(value, at: path)
            case "shed_stop": levels.shedStop = try number(value, at: path)
            default: levels.minimumDwell = try duration(value, at: path)
            }
        }
        return levels
    }

    private mutating func rate(_ node: YAMLNode) throws(PolicyFileError)
        -> BackPressurePolicy.RateControl
    {
        var control = BackPressurePolicy.RateControl()
        let fields = try mapping(
            node, at: "rate",
            allowed: [
                "mode", "gain", "integral_time", "max_increase_per_tick", "max_decrease_per_tick",
                "increase_share", "calm_ticks_before_increase", "smoothing", "trend_ticks",
            ])
        for (key, value) in fields {
            let path = "rate.\(key)"
            switch key {
            case "mode":
                let text = try scalar(value, at: path)
                guard let mode = BackPressurePolicy.RateControl.Mode(rawValue: text) else {
                    throw error(value, path, "expected pi or aimd, got '\(text)'")
                }
                control.mode = mode
            case "gain": control.gain = try number(value, at: path)
            case "integral_time": control.integralTime = try duration(value, at: path)
            case "max_increase_per_tick": control.maxIncreasePerTick = try number(value, at: path)
            case "max_decrease_per_tick": control.maxDecreasePerTick = try number(value, at: path)
            case "increase_share": control.increaseShare = try number(value, at: path)
            case "calm_ticks_before_increase":
                control.calmTicksBeforeIncrease = try integer(value, at: path)
            case "smoothing": control.smoothing = try number(value, at: path)
            default: control.trendTicks = try integer(value, at: path)
            }
        }
        return control
    }

    private mutating func memory(_ node: YAMLNode) throws(PolicyFileError)
        -> BackPressurePolicy.MemoryLimits
    {
        var limits = BackPressurePolicy.MemoryLimits()
        let fields = try mapping(node, at: "memory", allowed: ["soft_limit", "hard_limit"])
        for (key, value) in fields {
            let path = "memory.\(key)"
            let text = try scalar(value, at: path)
            guard let bytes = PolicyValueParsing.size(text) else {
                throw error(
                    value, path, "expected a size such as 64MiB, 500KB or 1048576, got '\(text)'")
            }
            if key == "soft_limit" {
                limits.softLimitBytes = bytes
            } else {
                limits.hardLimitBytes = bytes
            }
        }
        return limits
    }

    private mutating func channels(_ node: YAMLNode) throws(PolicyFileError)
        -> [String: BackPressurePolicy.Channel]
    {
        var channels: [String: BackPressurePolicy.Channel] = [:]
        for (name, value) in try mapping(node, at: "channels", allowed: nil) {
            let path = "channels.\(name)"
            let fields = try mapping(value, at: path, allowed: ["lag_target"])
            guard let target = fields.first else {
                throw error(value, path, "a channel needs lag_target")
            }
            channels[name] = .init(lagTarget: try duration(target.1, at: "\(path).lag_target"))
        }
        return channels
    }

    private mutating func producers(_ node: YAMLNode) throws(PolicyFileError)
        -> [String: BackPressurePolicy.Producer]
    {
        var producers: [String: BackPressurePolicy.Producer] = [:]
        for (name, value) in try mapping(node, at: "producers", allowed: nil) {
            let path = "producers.\(name)"
            var producer = BackPressurePolicy.Producer()
            let fields = try mapping(
                value, at: path, allowed: ["priority", "tolerates_delay", "max_delay"])
            for (key, field) in fields {
                let fieldPath = "\(path).\(key)"
                switch key {
                case "priority":
                    let text = try scalar(field, at: fieldPath)
                    guard let priority = PolicyValueParsing.priority(text) else {
                        throw error(
                            field, fieldPath,
                            "expected critical, high, normal or low, got '\(text)'")
                    }
                    producer.priority = priority
                case "tolerates_delay": producer.toleratesDelay = try boolean(field, at: fieldPath)
                default: producer.maxDelay = try duration(field, at: fieldPath)
                }
            }
            producers[name] = producer
        }
        return producers
    }

    // MARK: Typed scalars

    /// The mapping's pairs in file order, after checking that keys are plain, known (when
    /// `allowed` is given) and not repeated.
    private mutating func mapping(_ node: YAMLNode, at path: String, allowed: [String]?)
        throws(PolicyFileError) -> [(String, YAMLNode)]
    {
        lines[path] = node.line
        guard case .mapping(let pairs) = node.kind else {
            throw error(node, path.isEmpty ? "" : path, "expected a mapping, got \(node.kindName)")
        }
        var seen: Set<String> = []
        var fields: [(String, YAMLNode)] = []
        for (keyNode, value) in pairs {
            guard case .scalar(let key, _) = keyNode.kind, !key.isEmpty else {
                throw error(keyNode, path, "keys must be plain names, got \(keyNode.kindName)")
            }
            let fieldPath = path.isEmpty ? key : "\(path).\(key)"
            if let allowed, !allowed.contains(key) {
                throw error(
                    keyNode, fieldPath,
                    "unknown key; expected one of \(allowed.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else {
                throw error(keyNode, fieldPath, "appears twice")
            }
            lines[fieldPath] = keyNode.line
            fields.append((key, value))
        }
        return fields
    }

    private func scalar(_ node: YAMLNode, at path: String) throws(PolicyFileError) -> String {
        guard case .scalar(let text, _) = node.kind else {
            throw error(node, path, "expected a single value, got \(node.kindName)")
        }
        return text
    }

    private func duration(_ node: YAMLNode, at path: String) throws(PolicyFileError) -> Duration {
        let text = try scalar(node, at: path)
        guard let value = PolicyValueParsing.duration(text) else {
            throw error(node, path, "expected a duration such as 250ms or 1.5s, got '\(text)'")
        }
        return value
    }

    private func number(_ node: YAMLNode, at path: String) throws(PolicyFileError) -> Double {
        let text = try scalar(node, at: path)
        guard let value = PolicyValueParsing.number(text) else {
            throw error(node, path, "expected a number, got '\(text)'")
        }
        return value
    }

    private func integer(_ node: YAMLNode, at path: String) throws(PolicyFileError) -> Int {
        let text = try scalar(node, at: path)
        guard let value = PolicyValueParsing.integer(text) else {
            throw error(node, path, "expected a whole number, got '\(text)'")
        }
        return value
    }

    private func boolean(_ node: YAMLNode, at path: String) throws(PolicyFileError) -> Bool {
        let text = try scalar(node, at: path)
        guard let value = PolicyValueParsing.boolean(text) else {
            throw error(node, path, "expected true or false, got '\(text)'")
        }
        return value
    }

    private func error(_ node: YAMLNode, _ path: String, _ reason: String) -> PolicyFileError {
        PolicyFileError(file: file, line: node.line, field: path, reason: reason)
    }
}
