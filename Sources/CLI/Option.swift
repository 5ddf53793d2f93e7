/// One command-line option: its spellings, how many values it takes, and its help line.
///
/// The first name is the canonical one; `ParsedArguments` looks options up by it. Other names are
/// aliases, in whatever spelling the peers use (`-b`, `-tok`, `--score-only`).
public struct Option: Sendable {
    /// How many values follow the option on the command line.
    public enum Arity: Sendable {
        /// A switch: present or absent, takes no value.
        case flag
        /// Exactly one value: `--beam 5` or `--beam=5`.
        case one
        /// One or more values up to the next option: `-i a.txt b.txt`. Repeating the option
        /// adds another group (`--train a.en a.de --train b.en b.de`).
        case many
    }

    public let names: [String]
    public let arity: Arity
    /// The placeholder shown in help, e.g. `N` in `--beam N`.
    public let valueName: String
    public let help: String
    /// The default as shown in help; `nil` shows none.
    public let defaultDescription: String?

    public var canonicalName: String { names[0] }

    public init(
        _ names: [String], arity: Arity, valueName: String = "VALUE", help: String,
        defaultDescription: String? = nil
    ) {
        precondition(!names.isEmpty && names.allSatisfy { $0.hasPrefix("-") && $0.count > 1 })
        self.names = names
        self.arity = arity
        self.valueName = valueName
        self.help = help
        self.defaultDescription = defaultDescription
    }

    /// A switch that takes no value.
    public static func flag(_ names: String..., help: String) -> Option {
        Option(names, arity: .flag, help: help)
    }

    /// An option with exactly one value.
    public static func value(
        _ names: String..., valueName: String = "VALUE", default value: String? = nil, help: String
    ) -> Option {
        Option(names, arity: .one, valueName: valueName, help: help, defaultDescription: value)
    }

    /// An option with one or more values.
    public static func values(
        _ names: String..., valueName: String = "VALUE", default value: String? = nil, help: String
    ) -> Option {
        Option(names, arity: .many, valueName: valueName, help: help, defaultDescription: value)
    }

    /// `--beam N, -b N` or `-i FILE [FILE ...]`, as help shows it.
    var synopsis: String {
        let placeholder: String
        switch arity {
        case .flag: placeholder = ""
        case .one: placeholder = " \(valueName)"
        case .many: placeholder = " \(valueName) [\(valueName) ...]"
        }
        return names.map { $0 + placeholder }.joined(separator: ", ")
    }
}
