import Foundation
import Seq2Seq
import TestSupport
import Testing

private let fixtureRoot = sharedRoot.appendingPathComponent("fixtures/luna-parity")

@Suite("SafeTensors: format, round trip, fixtures")
struct SafeTensorsTests {
    @Test("the header is an 8-byte little-endian length, 8-byte aligned JSON, then raw data")
    func layout() throws {
        let tensors = ["b": Tensor(shape: [2], scalars: [1.5, -2]), "a.weight": Tensor(shape: [1, 3], scalars: [1, 2, 3])]
        let data = SafeTensors.encode(tensors, metadata: ["format": "pt"])
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + length) % 8 == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: data[8..<(8 + length)]) as? [String: Any])
        let entry = try #require(header["a.weight"] as? [String: Any])
        #expect(entry["dtype"] as? String == "F32")
        #expect(entry["shape"] as? [Int] == [1, 3])
        #expect(entry["data_offsets"] as? [Int] == [0, 12])
        #expect((header["__metadata__"] as? [String: String]) == ["format": "pt"])
        // 1.5 as little-endian F32 is 00 00 C0 3F, stored after a.weight's 12 bytes.
        #expect(Array(data[(8 + length + 12)..<(8 + length + 16)]) == [0x00, 0x00, 0xC0, 0x3F])
        let read = try SafeTensors(data: data)
        #expect(read.names == ["a.weight", "b"])
        #expect(try read.floatTensors() == tensors)
        #expect(read.metadata == ["format": "pt"])
    }

    @Test("F16 and BF16 entries read as Float, bit patterns decoded as IEEE 754 and bfloat16 define them")
    func halfPrecision() throws {
        // Hand-assembled file: F16 [1, -2, 65504 (largest), 2^-24 (smallest subnormal), 1/3 rounded, +inf]
        // and BF16 [1, -pi truncated to 3.140625].
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555, 0x7C00]
        let bf16: [UInt16] = [0x3F80, 0xC049]
        let json = #"{"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(json.utf8))
        for bits in f16 + bf16 { withUnsafeBytes(of: bits.littleEndian) { data.append(contentsOf: $0) } }
        let file = try SafeTensors(data: data)
        let h = try file.tensor("h")
        #expect(h.shape == [2, 3])
        #expect(h.scalars == [1, -2, 65504, 0x1p-24, 0.333251953125, .infinity])
        #expect(try file.tensor("b").scalars == [1, -3.140625])
        #expect(Set(try file.floatTensors().keys) == ["h", "b"])

        // Writing F16 rounds to nearest, ties to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
        let written = SafeTensors.encode(["x": Tensor(shape: [4], scalars: [1 + 0x1p-11, 1 + 0x1p-10 + 0x1p-11, 70000, -0.5])], storage: .float16)
        let length = written.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let raw = Array(written[(8 + length)...])
        let bits = stride(from: 0, to: raw.count, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
        #expect(bits == [0x3C00, 0x3C02, 0x7C00, 0xB800])
        #expect(try SafeTensors(data: written).entries["x"]?.dtype == "F16")
    }

    @Test("malformed files are rejected with a reason")
    func corrupt() throws {
        let good = SafeTensors.encode(["x": Tensor(shape: [4], scalars: [1, 2, 3, 4])])
        #expect(throws: Seq2SeqError.self) { try SafeTensors(data: good.prefix(5)) }
        #expect(throws: Seq2SeqError.self) { try SafeTensors(data: good.prefix(good.count - 4)) }
        var badLength = good
        badLength[0] = 0xFF
        badLength[3] = 0x7F
        #expect(throws: Seq2SeqError.self) { try SafeTensors(data: badLength) }
        var badJSON = good
        badJSON[8] = UInt8(ascii: "[")
        #expect(throws: Seq2SeqError.self) { try SafeTensors(data: badJSON) }
        let error = #expect(throws: Seq2SeqError.self) { _ = try SafeTensors(contentsOf: "/nonexistent/x.safetensors") }
        #expect(error?.description.hasPrefix("/nonexistent/x.safetensors: cannot read") == true)
    }

    @Test("reads the parity fixtures' weights (F32) and inputs (I64)")
    func fixtures() throws {
        let model = try SafeTensors(contentsOf: fixtureRoot.appendingPathComponent("luna_official/model.safetensors").path)
        #expect(model.metadata["format"] == "pt")
        #expect(try model.tensor("encoder.embed_tokens.weight").shape == [40, 16])
        #expect(try model.tensor("encoder.layers.0.self_attn.pq_proj.weight").shape == [16, 16])
        #expect(try model.tensor("encoder.projected_embeddings").shape == [4, 16])
        #expect(try model.tensor("decoder.layers.1.fc1.weight").shape == [32, 16])
        let expected = try SafeTensors(contentsOf: fixtureRoot.appendingPathComponent("luna_official/expected.safetensors").path)
        #expect(try expected.integers("input.src_lengths") == ([3], [7, 3, 5]))
        #expect(expected.metadata["label_smoothing"] == "0.1")
        #expect(throws: Seq2SeqError.unsupportedType(name: "input.src_lengths", dtype: "I64")) { try expected.tensor("input.src_lengths") }
    }

    @Test("label-smoothed cross-entropy reproduces the fixtures' loss from their log-probabilities", arguments: [
        "luna_official", "transformer_postln",
    ])
    func fixtureLoss(_ name: String) throws {
        let expected = try SafeTensors(contentsOf: fixtureRoot.appendingPathComponent("\(name)/expected.safetensors").path)
        let lprobs = try expected.tensor("decoder.lprobs")  // [B, T, V], already normalised: log-softmax is the identity
        let targets = try expected.integers("input.target").values
        let (loss, nll, count) = labelSmoothedCrossEntropy(logits: Variable(lprobs), targets: targets, labelSmoothing: 0.1, ignoring: 0)
        let expectedLoss = try expected.tensor("loss.sum").scalars[0]
        let expectedNLL = try expected.tensor("loss.nll_sum").scalars[0]
        #expect(abs(loss.value.scalar - expectedLoss) <= 1e-5 * abs(expectedLoss))
        #expect(abs(Float(nll) - expectedNLL) <= 1e-5 * abs(expectedNLL))
        let expectedCount = try expected.integers("loss.ntokens").values[0]
        #expect(count == expectedCount)
    }
}
