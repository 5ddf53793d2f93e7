import Testing

@testable import CLI

/// A command shaped like the real ones: one-value, many-value, flag, and short aliases.
private let decodeLike = Command(
    name: "decode", abstract: "Decode.",
    options: [
        .value("--beam", "-b", valueName: "N", default: "5", help: "Beam size."),
        .value("--lenpen", valueName: "X", help: "Length penalty."),
        .values("--input", "-i", valueName: "FILE", help: "Inputs."),
        .value("--tokenize", "-tok", help: "Tokenizer."),
        .flag("--score-only", "-b0", help: "Score only."),
    ],
    positionals: "[REF ...]", count: 0...3
) { _ in }

@Suite("Argument parsing")
struct ArgumentParsingTests {
    @Test("--name value, --name=value and aliases give the same value")
    func spellings() throws {
        for arguments in [["--beam", "7"], ["--beam=7"], ["-b", "7"]] {
            let parsed = try decodeLike.parse(arguments)
            #expect(try parsed.int("--beam", default: 5, min: 1) == 7)
        }
        let parsed = try decodeLike.parse(["-tok", "intl"])
        #expect(parsed.string("--tokenize") == "intl")
    }

    @Test("absent options take the default; the last repeated one-value option wins")
    func defaultsAndRepeats() throws {
        #expect(try decodeLike.parse([]).int("--beam", default: 5, min: 1) == 5)
        #expect(try decodeLike.parse(["-b", "2", "--beam", "3"]).int("--beam", default: 5) == 3)
    }

    @Test("many-value options stop at the next option and group per occurrence")
    func manyValues() throws {
        let parsed = try decodeLike.parse(["-i", "a", "b", "--beam", "2", "-i", "c", "ref1"])
        #expect(parsed.occurrences("--input") == [["a", "b"], ["c", "ref1"]])
        #expect(parsed.strings("--input") == ["a", "b", "c", "ref1"])
        #expect(parsed.positionals.isEmpty)
        let separated = try decodeLike.parse(["-i", "a", "--", "-weird-ref"])
        #expect(separated.strings("--input") == ["a"])
        #expect(separated.positionals == ["-weird-ref"])
    }

    @Test("positionals, '-' for stdin, and negative numbers as values")
    func positionals() throws {
        let parsed = try decodeLike.parse(["r1", "-", "--lenpen", "-0.5", "r3"])
        #expect(parsed.positionals == ["r1", "-", "r3"])
        #expect(try parsed.double("--lenpen", default: 1) == -0.5)
    }

    @Test("flags: present or absent, and no value allowed")
    func flags() throws {
        #expect(try decodeLike.parse(["--score-only"]).has("--score-only"))
        #expect(try !decodeLike.parse([]).has("--score-only"))
        #expect(throws: UsageError("--score-only takes no value")) {
            try decodeLike.parse(["--score-only=yes"])
        }
    }

    @Test("every parse error is a UsageError that names the flag or argument")
    func parseErrors() {
        #expect(throws: UsageError("unknown option '--bogus'")) { try decodeLike.parse(["--bogus"]) }
        #expect(throws: UsageError("unknown option '--bogus'")) { try decodeLike.parse(["--bogus=1"]) }
        #expect(throws: UsageError("unknown option '-x'")) { try decodeLike.parse(["-x"]) }
        #expect(throws: UsageError("--beam needs a value (N)")) { try decodeLike.parse(["--beam"]) }
        #expect(throws: UsageError("-i needs at least one value")) {
            try decodeLike.parse(["-i", "--beam", "3"])
        }
        #expect(throws: UsageError("too many arguments: 'd' and after (at most 3)")) {
            try decodeLike.parse(["a", "b", "c", "d"])
        }
    }

    @Test("missing and unexpected positionals")
    func positionalCounts() {
        let needsOne = Command(
            name: "x", abstract: "", options: [], positionals: "REF", count: 1...1) { _ in }
        #expect(throws: UsageError("missing argument: REF")) { try needsOne.parse([]) }
        let needsNone = Command(name: "y", abstract: "", options: []) { _ in }
        #expect(throws: UsageError("unexpected argument 'z'")) { try needsNone.parse(["z"]) }
    }

    @Test("typed values are range-checked and the error names the flag and the range")
    func typedValues() throws {
        #expect(throws: UsageError("--beam must be an integer from 1 to 100, got '0'")) {
            try decodeLike.parse(["--beam", "0"]).int("--beam", default: 5, min: 1, max: 100)
        }
        #expect(throws: UsageError("--beam must be an integer of at least 1, got 'five'")) {
            try decodeLike.parse(["--beam", "five"]).int("--beam", default: 5, min: 1)
        }
        #expect(throws: UsageError("--lenpen must be a number of at most 10.0, got 'nan'")) {
            try decodeLike.parse(["--lenpen", "nan"]).double("--lenpen", default: 1, max: 10)
        }
        #expect(throws: UsageError("--tokenize must be one of 13a, intl, got 'zz'")) {
            try decodeLike.parse(["-tok", "zz"]).choice("--tokenize", default: "13a", from: ["13a", "intl"])
        }
        #expect(throws: UsageError("missing required option --lenpen")) {
            try decodeLike.parse([]).required("--lenpen")
        }
        #expect(try decodeLike.parse(["--lenpen", "1e-1"]).double("--lenpen", default: 1, min: 0) == 0.1)
    }
}

@Suite("Help and dispatch")
struct DispatchTests {
    private func tool(_ run: @escaping @Sendable (ParsedArguments) throws -> Void) -> Tool {
        Tool(
            name: "demo", abstract: "A demo tool.",
            commands: [
                Command(
                    name: "go", abstract: "Go somewhere.",
                    options: [.value("--speed", "-s", default: "1", help: "How fast.")], run: run)
            ])
    }

    /// Runs `tool` quietly and returns its status with what it wrote to stdout and stderr.
    private func run(_ tool: Tool, _ arguments: [String]) -> (Int32, String, String) {
        var out = "", err = ""
        let status = tool.run(arguments, output: { out += $0 }, errors: { err += $0 })
        return (status, out, err)
    }

    @Test("exit statuses: success 0, usage errors 64, runtime errors 1")
    func exitStatuses() {
        let ok = tool { _ in }
        #expect(run(ok, ["go"]).0 == 0)
        #expect(run(ok, ["go", "--speed"]).0 == 64)
        #expect(run(ok, ["bogus"]) == (64, "", "error: unknown command 'bogus'\nusage: demo <command> [options]\nRun 'demo help' for the commands.\n"))
        #expect(run(ok, ["help", "bogus"]).0 == 64)
        #expect(run(ok, ["--version"]).0 == 0)
        #expect(run(tool { _ in throw RuntimeError("disk full") }, ["go"]) == (1, "", "error: disk full\n"))
        #expect(run(tool { _ in throw UsageError("bad") }, ["go"]).0 == 64)
        #expect(run(tool { args in _ = try args.int("--speed", default: 1, min: 1) }, ["go", "-s", "0"]).0 == 64)
    }

    @Test("--help wins over a bad command line, and help lists every option with its default")
    func help() {
        let failing = tool { _ in Issue.record("run must not be called for --help") }
        #expect(run(failing, ["go", "--bogus", "--help"]).0 == 0)
        #expect(run(failing, ["help", "go"]).0 == 0)
        let command = failing.commands[0]
        let text = command.help(toolPath: "demo go")
        #expect(text.hasPrefix("usage: demo go [options]\n\nGo somewhere.\n"))
        #expect(text.contains("--speed VALUE, -s VALUE  How fast. (default: 1)"))
        #expect(text.contains("-h, --help"))
        let list = failing.help()
        #expect(list.contains("  go    Go somewhere."))
    }

    @Test("a single-command tool takes its options directly")
    func singleCommand() {
        let single = Tool(
            single: Command(
                name: "bleu", abstract: "Score.", options: [.flag("--lowercase", "-lc", help: "Lower.")],
                positionals: "REF", count: 1...1) { args in
                    guard args.has("--lowercase") else { throw RuntimeError("expected -lc") }
                })
        #expect(run(single, ["ref.txt", "-lc"]).0 == 0)
        #expect(run(single, ["ref.txt"]).0 == 1)
        #expect(run(single, []).0 == 64)
        #expect(run(single, ["--help"]).0 == 0)
    }
}
