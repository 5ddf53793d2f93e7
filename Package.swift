// swift-tools-version: 6.2
// The translation toolkit: SentencePiece tokenization, a Luna encoder-decoder on OpenBLAS,
// beam search, and a sacreBLEU-exact scorer. See shared/design/architecture.md for the map.
import PackageDescription

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

        .target(name: "Tokenize", dependencies: ["CSentencePiece", "CICU"]),
        .target(name: "Seq2Seq", dependencies: ["CBLAS"]),
        .target(name: "BLEU", path: "Sources/bleu/Metric"),
        // The command-line framework shared by `translate` and `bleu`.
        .target(name: "CLI"),
        .executableTarget(
            name: "translate", dependencies: ["CLI", "Tokenize", "Seq2Seq", "BLEU"],
            path: "Sources/Translate"),
        .executableTarget(name: "bleu", dependencies: ["CLI", "BLEU"], path: "Sources/bleu/Tool"),

        // MARK: - Tests

        // Helpers shared by the test targets: tolerant comparisons, running the built tools.
        .target(name: "TestSupport", dependencies: ["Seq2Seq"], path: "Sources/TestSupport"),
        .testTarget(name: "CLITests", dependencies: ["CLI", "TestSupport", "translate", "bleu"]),
        .testTarget(name: "BLEUTests", dependencies: ["BLEU", "TestSupport", "bleu"], exclude: ["Fixtures"]),
        .testTarget(name: "TokenizeTests", dependencies: ["Tokenize", "TestSupport"]),
        .testTarget(name: "Seq2SeqTests", dependencies: ["Seq2Seq", "TestSupport"]),
        .testTarget(name: "TranslateTests", dependencies: ["TestSupport", "Seq2Seq", "translate"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
