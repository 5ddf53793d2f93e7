/// Splits a command line into options and positional arguments according to a command's options.
///
/// Accepted spellings: `--name value`, `--name=value`, any alias exactly as declared (`-b 5`,
/// `-tok intl`), values that start with a dash when an option needs one (`--smooth-value -1`),
/// and `--` to end option parsing. A many-value option takes every following argument up to the
/// next one that looks like an option.
struct ArgumentParser {
    let options: [Option]
    private let byName: [String: Option]

    init(options: [Option]) {
        self.options = options
        var byName: [String: Option] = [:]
        for option in options {
            for name in option.names {
                precondition(byName[name] == nil, "option \(name) declared twice")
                byName[name] = option
            }
        }
        self.byName = byName
    }

    func parse(_ arguments: [String]) throws -> ParsedArguments {
        var parsed = ParsedArguments()
        parsed.rawArguments = arguments
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                parsed.positionals += arguments[index...]
                break
            }
            guard looksLikeOption(argument) else {
                parsed.positionals.append(argument)
                continue
            }
            var name = argument
            var inlineValue: String? = nil
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            guard let option = byName[name] else {
                throw UsageError("unknown option '\(name)'")
            }
            let key = option.canonicalName
            switch option.arity {
            case .flag:
                if inlineValue != nil { throw UsageError("\(name) takes no value") }
                parsed.groups[key, default: []].append([])
            case .one:
                if let value = inlineValue {
                    parsed.groups[key, default: []].append([value])
                } else if index < arguments.count {
                    parsed.groups[key, default: []].append([arguments[index]])
                    index += 1
                } else {
                    throw UsageError("\(name) needs a value (\(option.valueName))")
                }
            case .many:
                var values: [String] = inlineValue.map { [$0] } ?? []
                while index < arguments.count, !looksLikeOption(arguments[index]),
                    arguments[index] != "--"
                {
                    values.append(arguments[index])
                    index += 1
                }
                if values.isEmpty { throw UsageError("\(name) needs at least one value") }
                parsed.groups[key, default: []].append(values)
            }
        }
        return parsed
    }

    /// `-x`, `--name`, `-tok`: yes. `-` (stdin), `-1.5` (a number), plain words: no.
    private func looksLikeOption(_ argument: String) -> Bool {
        guard argument.hasPrefix("-"), argument.count > 1 else { return false }
        if byName[argument] != nil { return true }
        return Double(argument) == nil
    }
}
