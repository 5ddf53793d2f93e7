/// The options and positional arguments of one command invocation, with typed, range-checked access.
///
/// Options are looked up by canonical name (the first name of their `Option`). Typed accessors
/// throw `UsageError` naming the flag and what it accepts, so `--beam 0` reads
/// `error: --beam must be an integer from 1 to 1000, got '0'`.
public struct ParsedArguments: Sendable {
    /// Values per canonical option name, one group per occurrence on the command line.
    var groups: [String: [[String]]] = [:]
    public internal(set) var positionals: [String] = []
    /// The arguments as given, for a command that re-parses them under extra defaults
    /// (`translate train` layers a preset and a config file under the command line).
    public internal(set) var rawArguments: [String] = []

    public init() {}

    /// Whether the option appeared at all.
    public func has(_ name: String) -> Bool { groups[name] != nil }

    /// The value of a one-value option (the last one given), or `nil` when absent.
    public func string(_ name: String) -> String? { groups[name]?.last?.last }

    /// All values of an option, over every occurrence.
    public func strings(_ name: String) -> [String] { groups[name]?.flatMap { $0 } ?? [] }

    /// The values of a many-value option, one array per occurrence.
    public func occurrences(_ name: String) -> [[String]] { groups[name] ?? [] }

    /// An integer option, checked against an optional inclusive range.
    public func int(_ name: String, default value: Int, min: Int? = nil, max: Int? = nil) throws
        -> Int
    {
        guard let text = string(name) else { return value }
        guard let parsed = Int(text), min.map({ parsed >= $0 }) ?? true,
            max.map({ parsed <= $0 }) ?? true
        else {
            throw UsageError("\(name) must be an integer\(rangePhrase(min, max)), got '\(text)'")
        }
        return parsed
    }

    /// A real-valued option, checked against an optional inclusive range.
    public func double(_ name: String, default value: Double, min: Double? = nil, max: Double? = nil)
        throws -> Double
    {
        guard let text = string(name) else { return value }
        guard let parsed = Double(text), parsed.isFinite, min.map({ parsed >= $0 }) ?? true,
            max.map({ parsed <= $0 }) ?? true
        else {
            throw UsageError("\(name) must be a number\(rangePhrase(min, max)), got '\(text)'")
        }
        return parsed
    }

    /// An option whose value must be one of `choices`.
    public func choice(_ name: String, default value: String, from choices: [String]) throws
        -> String
    {
        guard let text = string(name) else { return value }
        guard choices.contains(text) else {
            throw UsageError(
                "\(name) must be one of \(choices.joined(separator: ", ")), got '\(text)'")
        }
        return text
    }

    /// A one-value option that must be present.
    public func required(_ name: String) throws -> String {
        guard let text = string(name) else { throw UsageError("missing required option \(name)") }
        return text
    }
}

private func rangePhrase<T: Comparable>(_ min: T?, _ max: T?) -> String {
    switch (min, max) {
    case (let lo?, let hi?): return " from \(lo) to \(hi)"
    case (let lo?, nil): return " of at least \(lo)"
    case (nil, let hi?): return " of at most \(hi)"
    case (nil, nil): return ""
    }
}
