import Foundation

/// The version every tool of the package reports, and that signatures name.
public let toolkitVersion = "0.1.0"

/// A command-line tool: dispatches to its commands, prints help, and maps errors to exit statuses.
///
/// - `tool help`, `tool --help`: the command list. `tool help CMD`, `tool CMD --help`: that command's
///   flags. Help goes to stdout with status 0.
/// - An unknown command or a bad flag: `error: ...` and the usage on stderr, status 64.
/// - A `RuntimeError` (or any other error) from the work: one `error: ...` line, status 1.
public struct Tool: Sendable {
    public let name: String
    public let abstract: String
    public let commands: [Command]
    /// The command run when the first argument is not a command name (`translate < in.txt`).
    public let defaultCommand: String?
    /// Set for a tool that is a single command (`bleu`): no subcommand names at all.
    fileprivate let isSingleCommand: Bool

    /// A tool with subcommands.
    public init(name: String, abstract: String, commands: [Command], defaultCommand: String? = nil) {
        precondition(defaultCommand.map { d in commands.contains { $0.name == d } } ?? true)
        self.name = name
        self.abstract = abstract
        self.commands = commands
        self.defaultCommand = defaultCommand
        self.isSingleCommand = false
    }

    /// A tool that is one command, like `bleu`.
    public init(single command: Command) {
        self.name = command.name
        self.abstract = command.abstract
        self.commands = [command]
        self.defaultCommand = command.name
        self.isSingleCommand = true
    }

    /// Runs the tool on the process's arguments and exits with its status.
    public func main() -> Never {
        exit(run(Array(CommandLine.arguments.dropFirst())))
    }

    /// Runs the tool on `arguments` (without the program name) and returns the exit status.
    ///
    /// Help and usage text go through `output` and `errors` (stdout and stderr by default; tests
    /// pass their own). What the command itself prints is up to the command.
    public func run(
        _ arguments: [String], output: (String) -> Void = writeStandardOutput,
        errors: (String) -> Void = writeStandardError
    ) -> Int32 {
        withoutActuallyEscaping(output) { output in
            withoutActuallyEscaping(errors) { errors in
                Dispatcher(tool: self, output: output, errors: errors).run(arguments)
            }
        }
    }
}

/// One run of a tool, with where its help and error text go.
private struct Dispatcher {
    let tool: Tool
    let output: (String) -> Void
    let errors: (String) -> Void

    var name: String { tool.name }
    var commands: [Command] { tool.commands }
    var defaultCommand: String? { tool.defaultCommand }
    var isSingleCommand: Bool { tool.isSingleCommand }
    func usage() -> String { tool.usage() }
    func help() -> String { tool.help() }

    func run(_ arguments: [String]) -> Int32 {
        if isSingleCommand { return run(commands[0], path: name, arguments) }
        guard let first = arguments.first else {
            if let defaultCommand, let command = command(named: defaultCommand) {
                return run(command, path: name, [])
            }
            errors(usage() + "\n")
            return ExitStatus.usage
        }
        switch first {
        case "help", "--help", "-h":
            if arguments.count > 1, first == "help" {
                guard let command = command(named: arguments[1]) else {
                    return usageFailure("unknown command '\(arguments[1])'", usage: usage())
                }
                output(command.help(toolPath: "\(name) \(command.name)"))
                return ExitStatus.success
            }
            output(help())
            return ExitStatus.success
        case "--version":
            output("\(name) \(toolkitVersion)\n")
            return ExitStatus.success
        default:
            if let command = command(named: first) {
                return run(command, path: "\(name) \(command.name)", Array(arguments.dropFirst()))
            }
            if first.hasPrefix("-"), let defaultCommand, let command = command(named: defaultCommand) {
                return run(command, path: name, arguments)
            }
            return usageFailure("unknown command '\(first)'", usage: usage())
        }
    }

    private func command(named name: String) -> Command? {
        commands.first { $0.name == name }
    }

    private func run(_ command: Command, path: String, _ arguments: [String]) -> Int32 {
        let beforeSeparator = arguments.prefix { $0 != "--" }
        if beforeSeparator.contains("--help") || beforeSeparator.contains("-h") {
            output(command.help(toolPath: path))
            return ExitStatus.success
        }
        if isSingleCommand, beforeSeparator.contains("--version") {
            output("\(name) \(toolkitVersion)\n")
            return ExitStatus.success
        }
        do {
            try command.run(command.parse(arguments))
            return ExitStatus.success
        } catch let error as UsageError {
            return usageFailure(
                error.message, usage: command.usage(toolPath: path) + "\nRun '\(path) --help' for the flags.")
        } catch let request as ExitRequest {
            return request.status
        } catch let error as RuntimeError {
            errors("error: \(error.message)\n")
            return ExitStatus.failure
        } catch {
            errors("error: \(error)\n")
            return ExitStatus.failure
        }
    }

    private func usageFailure(_ message: String, usage: String) -> Int32 {
        errors("error: \(message)\n\(usage)\n")
        return ExitStatus.usage
    }
}

extension Tool {
    /// The short usage shown after a command-line error.
    func usage() -> String {
        "usage: \(name) <command> [options]\nRun '\(name) help' for the commands."
    }

    /// `tool help`: the command list.
    func help() -> String {
        var text = "usage: \(name) <command> [options]\n\n\(abstract)\n\ncommands:\n"
        text += formatRows(commands.map { ($0.name, $0.abstract) } + [("help", "Show a command's flags.")])
        text += "\nRun '\(name) <command> --help' for a command's flags."
        if let defaultCommand { text += " With no command, '\(name)' runs '\(defaultCommand)'." }
        return text + "\n"
    }
}
