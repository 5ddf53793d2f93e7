import Foundation
import TestSupport
import Testing

/// The built executables, run as a user runs them.
@Suite("translate and bleu as processes")
struct ToolProcessTests {
    @Test("translate --help and translate help list the commands on stdout, exit 0")
    func translateHelp() throws {
        for arguments in [["--help"], ["help"]] {
            let result = try runTool("translate", arguments)
            #expect(result.status == 0)
            #expect(result.standardOutput.hasPrefix("usage: translate <command> [options]"))
            #expect(result.standardError.isEmpty)
        }
    }

    @Test("an unknown command exits 64 with one error line and the usage on stderr")
    func unknownCommand() throws {
        let result = try runTool("translate", ["bogus"])
        #expect(result.status == 64)
        #expect(result.standardOutput.isEmpty)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.first == "error: unknown command 'bogus'")
        #expect(lines.dropFirst().first?.hasPrefix("usage: translate") == true)
    }

    @Test("bleu --help prints its usage, exit 0")
    func bleuHelp() throws {
        let result = try runTool("bleu", ["--help"])
        #expect(result.status == 0)
        #expect(result.standardOutput.hasPrefix("usage: bleu"))
    }

    @Test("CI runs the README's test command, scripts/test")
    func ciRunsScriptsTest() throws {
        let ci = try String(contentsOf: packageRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
        let commands = ci.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(commands.contains { $0.contains("scripts/test") })
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("scripts/test"))
        #expect(readme.contains("scripts/demo"))
    }
}

@Suite("README documents the commands")
struct ReadmeTests {
    /// The long flags listed in the options section of a help text.
    private func flags(inHelp help: String) -> Set<String> {
        let options = help.components(separatedBy: "\noptions:\n").dropFirst().first ?? ""
        let section = options.components(separatedBy: "\n\n").first ?? ""
        var found: Set<String> = []
        for line in section.split(separator: "\n") {
            for word in line.split(separator: " ") where word.hasPrefix("--") {
                found.insert(String(word.trimmingCharacters(in: CharacterSet(charactersIn: ","))))
            }
        }
        return found.subtracting(["--help"])
    }

    @Test("every subcommand has a section and every flag of every command appears in the README")
    func everyFlag() throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let list = try runTool("translate", ["help"]).standardOutput
        let commandSection = list.components(separatedBy: "commands:\n")[1].components(separatedBy: "\n\n")[0]
        let names = commandSection.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0 != "help" }
        #expect(names.count >= 8)
        for name in names {
            #expect(readme.contains("translate \(name)") || readme.contains("`\(name)`"), "no section for \(name)")
            let help = try runTool("translate", [name, "--help"]).standardOutput
            for flag in flags(inHelp: help) {
                #expect(readme.contains(flag), "README lacks \(flag) of translate \(name)")
            }
        }
        let bleuFlags = flags(inHelp: try runTool("bleu", ["--help"]).standardOutput)
        #expect(bleuFlags.count > 10)
        for flag in bleuFlags { #expect(readme.contains(flag), "README lacks \(flag) of bleu") }
    }
}
