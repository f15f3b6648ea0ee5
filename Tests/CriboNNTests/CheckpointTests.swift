// SPDX-License-Identifier: Apache-2.0
// Backbone checkpoints: timm's exact key set and shapes, strict loading with errors that name the key, round
// trips, architecture inference for files without metadata, and a timm state_dict embedded by cribo equal to
// timm's own forward.

import CriboNN
import CriboTensor
import CriboTestSupport
import Foundation
import Testing

@Suite struct CheckpointTests {}

func scratchPath(_ name: String) -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cribo-nn-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.appendingPathComponent(name).path
}

extension CheckpointTests {
    @Test func exportedKeysAreExactlyTimmsVitSmall() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: goldenDirectory + "/timm_vit_small_keys.json"))
        let timm = try #require(try JSONSerialization.jsonObject(with: data) as? [[Any]])
        let expected = Dictionary(uniqueKeysWithValues: timm.map { ($0[0] as! String, ($0[1] as! [Any]).map { ($0 as! NSNumber).intValue }) })
        let ours = Dictionary(uniqueKeysWithValues: VisionTransformer.parameterSlots(for: .vitSmall()).map { ($0.key, $0.shape) })
        #expect(ours == expected, "cribo's vit_small keys/shapes differ from timm's state_dict")
    }

    @Test func roundTripAndStrictLoading() throws {
        let cfg = ViTConfiguration(imageSize: 32, patchSize: 8, embeddingDimension: 16, depth: 2, headCount: 2)
        let vit = VisionTransformer(configuration: cfg)
        let arena = ParameterArena(slots: VisionTransformer.parameterSlots(for: cfg))
        arena.initialize(seed: 1)
        let path = scratchPath("roundtrip.safetensors")
        try BackboneCheckpoint.save(vit, parameters: arena, to: path)
        let (loaded, parameters) = try BackboneCheckpoint.load(path: path)
        #expect(loaded.configuration == cfg)
        #expect(parameters.storage.scalars == arena.storage.scalars)

        // Variants of the file: a missing key, an extra key, a wrong shape — each an error naming the key.
        let file = try TensorFile(path: path)
        func variant(_ name: String, _ edit: (inout [String: Tensor]) -> Void) throws -> String {
            var tensors = Dictionary(uniqueKeysWithValues: try file.names.map { ($0, try file.tensor($0)) })
            edit(&tensors)
            var writer = TensorFileWriter(metadata: file.metadata)
            for (key, tensor) in tensors { writer.add(key, tensor) }
            let variantPath = scratchPath(name + ".safetensors")
            try writer.write(to: variantPath)
            do {
                _ = try BackboneCheckpoint.load(path: variantPath)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(try variant("missing") { $0["blocks.1.mlp.fc2.bias"] = nil }.contains("missing tensor 'blocks.1.mlp.fc2.bias'"))
        #expect(try variant("extra") { $0["head.weight"] = Tensor(zeros: [2]) }.contains("unexpected tensors: head.weight"))
        #expect(try variant("shape") { $0["norm.weight"] = Tensor(zeros: [17]) }.contains("'norm.weight' has shape [17], expected [16]"))
    }

    @Test func timmStateDictEmbedsLikeTimmForward() throws {
        // The golden's backbone.* tensors are a timm VisionTransformer state_dict, saved without cribo metadata.
        let g = try golden("vit_tiny_model.safetensors")
        var writer = TensorFileWriter()
        for name in g.names where name.hasPrefix("backbone.") { writer.add(String(name.dropFirst(9)), try g.tensor(name)) }
        let checkpoint = scratchPath("timm_tiny.safetensors")
        try writer.write(to: checkpoint)
        var inputs = TensorFileWriter()
        inputs.add("images", try g.tensor("images"))
        let input = scratchPath("timm_images.safetensors"), output = scratchPath("timm_tokens.safetensors")
        try inputs.write(to: input)
        #expect(throws: TensorFileError.self, "width 32 is no preset: the head count is required") {
            try BackboneEmbedding.run(checkpointPath: checkpoint, inputPath: input, outputPath: output)
        }
        let (cfg, count) = try BackboneEmbedding.run(checkpointPath: checkpoint, inputPath: input, outputPath: output, headCount: 4, batchSize: 3)
        #expect(cfg == ViTConfiguration(imageSize: 32, patchSize: 8, embeddingDimension: 32, depth: 2, headCount: 4))
        #expect(count == 4)
        let result = try TensorFile(path: output)
        expectClose(try result.tensor("tokens"), try g.tensor("tokens"), atol: 1e-5, rtol: forwardRelative, "embedded tokens vs timm")
        expectClose(try result.tensor("cls"), try g.tensor("cls"), atol: 1e-5, rtol: forwardRelative, "embedded cls vs timm")
    }
}
