import Foundation
import Seq2Seq
import TestSupport
import Testing

@Suite("Model directory and configuration")
struct ModelDirectoryTests {
    /// The keys of a JSON object file.
    func keys(_ data: Data) throws -> Set<String> {
        Set(try #require(JSONSerialization.jsonObject(with: data) as? [String: Any]).keys)
    }

    @Test("config.json decodes and re-encodes with the same keys and values", arguments: ParityFixture.all)
    func configurationRoundTrip(fixture: ParityFixture) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.directory).appendingPathComponent("config.json"))
        let configuration = try JSONDecoder().decode(ModelConfiguration.self, from: data)
        let encoded = try JSONEncoder().encode(configuration)
        #expect(try keys(encoded) == keys(data))
        #expect(try JSONDecoder().decode(ModelConfiguration.self, from: encoded) == configuration)
        #expect(configuration.problem == nil)
    }

    @Test("save then load gives the same configuration and tensors", arguments: ParityFixture.all)
    func saveLoad(fixture: ParityFixture) throws {
        let (model, _) = try fixture.load()
        let folder = try TemporaryDirectory()
        let path = folder.url.appendingPathComponent("model").path
        try ModelDirectory.save(model, to: path)
        let again = try ModelDirectory.load(path)
        #expect(again.configuration == model.configuration)
        #expect(again.stateDictionary() == model.stateDictionary())
        let stored = try SafeTensors(contentsOf: path + "/model.safetensors")
        #expect(stored.metadata["format"] == "pt")
        #expect(!stored.names.contains("decoder.embed_tokens.weight"))
    }

    /// A copy of the luna_official folder whose weights are `edit`ed.
    func editedCopy(_ edit: (inout [String: Tensor]) -> Void) throws -> (folder: TemporaryDirectory, path: String) {
        let folder = try TemporaryDirectory()
        let path = folder.url.path
        let source = ParityFixture.all[0].directory
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: path + "/config.json")
        var tensors = try SafeTensors(contentsOf: source + "/model.safetensors").floatTensors()
        edit(&tensors)
        try SafeTensors.write(tensors, to: path + "/model.safetensors")
        return (folder, path)
    }

    @Test("official extras and equal aliases are accepted")
    func officialKeys() throws {
        let (folder, path) = try editedCopy { tensors in
            let embedding = tensors["encoder.embed_tokens.weight"]!
            tensors["decoder.embed_tokens.weight"] = embedding
            tensors["decoder.output_projection.weight"] = embedding
            tensors["encoder.version"] = Tensor(shape: [1], scalars: [3])
            tensors["encoder.projected_positions"] = Tensor(zeros: [4, 16])
        }
        _ = folder
        let model = try ModelDirectory.load(path)
        #expect(model.configuration.arch == .luna)
    }

    @Test("an alias that differs from the shared embedding is an error naming it")
    func aliasMismatch() throws {
        let (folder, path) = try editedCopy { tensors in
            var other = tensors["encoder.embed_tokens.weight"]!
            other.scalars[0] += 1
            tensors["decoder.output_projection.weight"] = other
        }
        _ = folder
        #expect(throws: ModelDirectoryError.aliasMismatch(path: path + "/model.safetensors", name: "decoder.output_projection.weight")) {
            try ModelDirectory.load(path)
        }
    }

    @Test("missing, misshapen and unexpected tensors are errors naming the file and the tensor")
    func badTensors() throws {
        let name = "encoder.layers.1.self_attn.pq_proj.weight"
        let cases: [(edit: (inout [String: Tensor]) -> Void, fragment: String)] = [
            ({ $0[name] = nil }, "missing tensor '\(name)'"),
            ({ $0[name] = Tensor(zeros: [16, 15]) }, "tensor '\(name)' has shape [16, 15], expected [16, 16]"),
            ({ $0["encoder.layers.1.self_attn.k_proj.weight"] = Tensor(zeros: [16, 16]) }, "encoder.layers.1.self_attn.k_proj.weight"),
        ]
        for (edit, fragment) in cases {
            let (folder, path) = try editedCopy(edit)
            _ = folder
            do {
                _ = try ModelDirectory.load(path)
                Issue.record("loaded despite: \(fragment)")
            } catch {
                #expect(error.description.contains(fragment), "\(error.description)")
                #expect(error.description.contains(path + "/model.safetensors"))
            }
        }
    }

    @Test("an inconsistent config.json is an error naming the file and the key")
    func badConfiguration() throws {
        let folder = try TemporaryDirectory()
        let source = ParityFixture.all[0].directory
        var text = try String(contentsOfFile: source + "/config.json", encoding: .utf8)
        text = text.replacingOccurrences(of: "\"pack_heads\": 2", with: "\"pack_heads\": 3")
        _ = try folder.write("config.json", text)
        do {
            _ = try ModelDirectory.load(folder.url.path)
            Issue.record("loaded a config with pack_heads 3 and d_model 16")
        } catch {
            #expect(error.description.contains("config.json"))
            #expect(error.description.contains("pack_heads 3 does not divide d_model 16"))
        }
        do {
            _ = try ModelDirectory.load(folder.url.appendingPathComponent("absent").path)
            Issue.record("loaded a folder that does not exist")
        } catch {
            #expect(error.description.contains("absent/config.json"))
        }
    }
}
