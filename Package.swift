// swift-tools-version: 6.2
// The translation toolkit: SentencePiece tokenization, a Luna encoder-decoder on OpenBLAS,
// beam search, and a sacreBLEU-exact scorer. See shared/design/architecture.md for the map.
import Foundation
import PackageDescription

/// Swift code is compiled for the building machine's vector units when it has AVX2 and FMA (x86-64
/// "haswell" level, which every recent Intel and AMD server has): our SIMD8 kernels then run on 256-bit
/// registers instead of pairs of SSE2 ones, 2-3x faster, with the same results (Swift never contracts
/// a*b+c into an FMA by itself). Like a -march=native build of Marian, the binary then needs such a CPU;
/// TRANSLATE_PORTABLE=1 builds for baseline x86-64 instead.
let hostVectorFlags: [SwiftSetting] = {
    #if arch(x86_64) && os(Linux)
        guard ProcessInfo.processInfo.environment["TRANSLATE_PORTABLE"] == nil,
            let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let haswell: Set = ["avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "abm", "popcnt"]
        return haswell.isSubset(of: flags) ? [.unsafeFlags(["-target-cpu", "haswell"])] : []
    #else
        return []
    #endif
}()

let package = Package(
    name: "Translate",
    products: [
        .executable(name: "translate", targets: ["translate"]),
        .executable(name: "bleu", targets: ["bleu"]),
        .library(name: "BLEU", targets: ["BLEU"]),
        .library(name: "Seq2Seq", targets: ["Seq2Seq"]),
        .library(name: "Tokenize", targets: ["Tokenize"]),
    ],
    targets: [
        // MARK: - C libraries

        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CICU", path: "Sources/CICU", pkgConfig: "icu-uc icu-i18n",
            providers: [.apt(["libicu-dev"])]),
        // The only C++ in the package: an extern "C" API over libsentencepiece.
        .target(
            name: "CSentencePiece", path: "Sources/CSentencePiece",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [
                .linkedLibrary("sentencepiece"), .linkedLibrary("sentencepiece_train"),
                .linkedLibrary("stdc++"),
            ]),

        // MARK: - Modules

        .target(name: "Tokenize", dependencies: ["CSentencePiece", "CICU"], swiftSettings: hostVectorFlags),
        .target(name: "Seq2Seq", dependencies: ["CBLAS"], swiftSettings: hostVectorFlags),
        .target(name: "BLEU", path: "Sources/bleu/Metric", swiftSettings: hostVectorFlags),
        // The command-line framework shared by `translate` and `bleu`.
        .target(name: "CLI"),
        .executableTarget(
            name: "translate", dependencies: ["CLI", "Tokenize", "Seq2Seq", "BLEU"],
            path: "Sources/Translate", swiftSettings: hostVectorFlags),
        .executableTarget(
            name: "bleu", dependencies: ["CLI", "BLEU"], path: "Sources/bleu/Tool", swiftSettings: hostVectorFlags),

        // MARK: - Tests

        // Helpers shared by the test targets: tolerant comparisons, running the built tools.
        .target(name: "TestSupport", dependencies: ["Seq2Seq"], path: "Sources/TestSupport", swiftSettings: hostVectorFlags),
        .testTarget(name: "CLITests", dependencies: ["CLI", "TestSupport", "translate", "bleu"]),
        .testTarget(name: "BLEUTests", dependencies: ["BLEU", "TestSupport", "bleu"], exclude: ["Fixtures"]),
        .testTarget(name: "TokenizeTests", dependencies: ["Tokenize", "TestSupport"]),
        .testTarget(name: "Seq2SeqTests", dependencies: ["Seq2Seq", "TestSupport"], swiftSettings: hostVectorFlags),
        .testTarget(name: "TranslateTests", dependencies: ["TestSupport", "Seq2Seq", "translate"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
