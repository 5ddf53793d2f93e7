/// One command: its name, options, positional arguments, and the work it does.
///
/// A tool with subcommands (`translate train`, `translate decode`) holds several; a tool with one
/// job (`bleu`) holds just one. `run` receives the parsed arguments and throws `UsageError` for a
/// bad command line or `RuntimeError` for failed work; the `Tool` turns either into one line on
/// stderr and the matching exit status.
public struct Command: Sendable {
    public let name: String
    /// One line, shown in the tool's command list and at the top of the command's help.
    public let abstract: String
    /// Paragraphs shown after the options in `--help`.
    public let discussion: String?
    public let options: [Option]
    /// The positional arguments as shown in the usage line, e.g. `REF [REF ...]`.
    public let positionalSynopsis: String
    /// How many positional arguments the command accepts.
    public let positionalCount: ClosedRange<Int>
    public let run: @Sendable (ParsedArguments) throws -> Void

    public init(
        name: String, abstract: String, discussion: String? = nil, options: [Option],
        positionals positionalSynopsis: String = "", count positionalCount: ClosedRange<Int> = 0...0,
        run: @escaping @Sendable (ParsedArguments) throws -> Void
    ) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.positionalSynopsis = positionalSynopsis
        self.positionalCount = positionalCount
        self.run = run
    }

    /// Parses `arguments` (everything after the command name) against this command's options.
    public func parse(_ arguments: [String]) throws -> ParsedArguments {
        let parsed = try ArgumentParser(options: options).parse(arguments)
        let count = parsed.positionals.count
        if count > positionalCount.upperBound {
            let extra = parsed.positionals[positionalCount.upperBound]
            throw UsageError(
                positionalCount.upperBound == 0
                    ? "unexpected argument '\(extra)'"
                    : "too many arguments: '\(extra)' and after (at most \(positionalCount.upperBound))")
        }
        if count < positionalCount.lowerBound {
            throw UsageError("missing argument: \(positionalSynopsis)")
        }
        return parsed
    }

    /// The usage line: `usage: translate decode [options] [FILE]`.
    func usage(toolPath: String) -> String {
        var line = "usage: \(toolPath) [options]"
        if !positionalSynopsis.isEmpty { line += " " + positionalSynopsis }
        return line
    }

    /// The full `--help` text.
    func help(toolPath: String) -> String {
        var text = usage(toolPath: toolPath) + "\n\n" + abstract + "\n\noptions:\n"
        let rows = options.map { option -> (String, String) in
            var help = option.help
            if let value = option.defaultDescription { help += " (default: \(value))" }
            return (option.synopsis, help)
        } + [("-h, --help", "Show this help and exit.")]
        text += formatRows(rows)
        if let discussion { text += "\n" + discussion + "\n" }
        return text
    }
}

/// Two columns, the second aligned, each row on its own line (long first columns get their own line).
func formatRows(_ rows: [(String, String)]) -> String {
    let width = min(rows.map(\.0.count).max() ?? 0, 30)
    var text = ""
    for (left, right) in rows {
        if left.count > width {
            text += "  \(left)\n  \(String(repeating: " ", count: width))  \(right)\n"
        } else {
            text += "  \(left)\(String(repeating: " ", count: width - left.count))  \(right)\n"
        }
    }
    return text
}
