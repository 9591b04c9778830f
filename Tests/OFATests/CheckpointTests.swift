// Loading is strict: every expected tensor must be present with its shape, nothing unexplained may be left over,
// and broken files are errors that name the problem, never crashes.
import FixtureSupport
import Foundation
import XCTest

@testable import OFA

final class CheckpointTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ofa-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// A copy of tiny-a's directory whose weights file is replaced by `weights` under `name`.
    func modelDirectory(weights: Data, name: String) throws -> String {
        let source = URL(fileURLWithPath: try Fixtures.model("tiny-a"))
        for file in ["config.json", "configuration.json", "answer2label.json", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(file),
                to: scratch.appendingPathComponent(file))
        }
        try weights.write(to: scratch.appendingPathComponent(name))
        return scratch.path
    }

    /// tiny-a's safetensors file with its header edited (tensor data left in place).
    func editedSafetensors(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        let path = try Fixtures.model("tiny-a-safetensors") + "/model.safetensors"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
        edit(&header)
        let json = try JSONSerialization.data(withJSONObject: header)
        // Offsets are relative to the data section, so the header may change length.
        let prefix = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) }
        return prefix + json + data.suffix(from: 8 + length)
    }

    func load(_ directory: String) throws -> OFAModel {
        try OFAModel(directory: directory, backend: ParityTests.backend)
    }

    func assertLoadFails(_ directory: String, with expected: CheckpointError, line: UInt = #line) {
        XCTAssertThrowsError(try load(directory), line: line) { error in
            XCTAssertEqual(error as? CheckpointError, expected, line: line)
        }
    }

    func testAMissingTensorIsAnErrorThatNamesIt() throws {
        let weights = try editedSafetensors { $0["encoder.layers.1.fc2.bias"] = nil }
        assertLoadFails(
            try modelDirectory(weights: weights, name: "model.safetensors"),
            with: .missingTensor("encoder.layers.1.fc2.bias"))
    }

    func testATensorOfTheWrongShapeIsAnErrorThatNamesBothShapes() throws {
        let weights = try editedSafetensors { header in
            var entry = header["encoder.image_proj.weight"] as! [String: Any]
            entry["shape"] = [1024, 32]
            header["encoder.image_proj.weight"] = entry
        }
        assertLoadFails(
            try modelDirectory(weights: weights, name: "model.safetensors"),
            with: .wrongShape(name: "encoder.image_proj.weight", expected: [32, 1024], found: [1024, 32]))
    }

    func testAnUnexpectedTensorIsAnErrorButIgnoredBuffersAreNot() throws {
        let weights = try editedSafetensors { header in
            header["encoder.surprise.weight"] = header["encoder.layer_norm.weight"]
            header["encoder.embed_images.bn1.num_batches_tracked"] = header["encoder.layer_norm.weight"]
        }
        assertLoadFails(
            try modelDirectory(weights: weights, name: "model.safetensors"),
            with: .unexpectedTensors(["encoder.surprise.weight"]))
    }

    func testTheTiedEmbeddingMayAppearUnderAnyOfItsNames() throws {
        let weights = try editedSafetensors { header in
            let table =
                header["encoder.embed_tokens.weight"] ?? header["decoder.embed_tokens.weight"]
                ?? header["decoder.output_projection.weight"]
            header["encoder.embed_tokens.weight"] = nil
            header["decoder.embed_tokens.weight"] = nil
            header["decoder.output_projection.weight"] = table
        }
        XCTAssertNoThrow(try load(try modelDirectory(weights: weights, name: "model.safetensors")))
    }

    func testATruncatedTorchArchiveIsReportedAsCorrupt() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.model("tiny-a") + "/pytorch_model.bin"))
        for keep in [0, 7, 100, data.count / 2, data.count - 30] {
            let directory = scratch.appendingPathComponent("cut-\(keep)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            scratch = directory
            let path = try modelDirectory(weights: data.prefix(keep), name: "pytorch_model.bin")
            XCTAssertThrowsError(try load(path), "kept \(keep) bytes") { error in
                guard case .corrupt = error as? CheckpointError else {
                    return XCTFail("kept \(keep) bytes: \(error)")
                }
            }
            scratch = directory.deletingLastPathComponent()
        }
    }

    /// Seeded: OFAD_FUZZ_SEED=<seed> reruns the rounds a failure reports.
    func testGarbledBytesAnywhereNeverCrashTheLoader() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.model("tiny-a") + "/pytorch_model.bin"))
        var generator = SeededGenerator(environment: "OFAD_FUZZ_SEED", fallback: 20_240_901)
        print("garbled-bytes rounds: seed \(generator.seed) (OFAD_FUZZ_SEED)")
        // Garble the metadata regions (pickle and zip directory), where bad bytes change the structure.
        let tail = original.count - 4096
        for round in 0..<40 {
            var data = original
            let start =
                round % 2 == 0
                ? Int.random(in: 0..<2048, using: &generator)
                : Int.random(in: tail..<(original.count - 8), using: &generator)
            for offset in start..<min(start + 8, data.count) {
                data[offset] = UInt8.random(in: 0...255, using: &generator)
            }
            let directory = scratch.appendingPathComponent("garbled-\(round)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let previous = scratch
            scratch = directory
            let path = try modelDirectory(weights: data, name: "pytorch_model.bin")
            scratch = previous
            do { _ = try load(path) } catch is CheckpointError {} catch is ConfigurationError {} catch {
                XCTFail("seed \(generator.seed), round \(round), bytes \(start)..<\(start + 8): \(error)")
            }
        }
    }

    func testATensorMayBeAViewAtAnOffsetIntoAStorageSharedWithOtherTensors() throws {
        var writer = TorchArchiveWriter()
        let shared = try writer.addStorage(floats: (0..<10).map(Float.init), as: .float16)
        let single = try writer.addStorage(floats: [-1, -2], as: .float32)
        let archive = try writer.archive(
            .orderedDictionary([
                ("whole", .tensor(storage: shared, offset: 0, shape: [10])),
                ("middle", .tensor(storage: shared, offset: 3, shape: [2, 2])),
                ("end", .tensor(storage: shared, offset: 9, shape: [1])),
                ("scalar", .tensor(storage: shared, offset: 5, shape: [])),
                ("own", .tensor(storage: single, offset: 0, shape: [2])),
            ]))
        let path = scratch.appendingPathComponent("views.bin").path
        try Data(archive).write(to: URL(fileURLWithPath: path))
        let tensors = try TensorFile.read(path: path)
        XCTAssertEqual(tensors["whole"]?.floats, (0..<10).map(Float.init))
        XCTAssertEqual(tensors["middle"]?.floats, [3, 4, 5, 6])
        XCTAssertEqual(tensors["middle"]?.shape, [2, 2])
        XCTAssertEqual(tensors["end"]?.floats, [9])
        XCTAssertEqual(tensors["scalar"]?.floats, [5])
        XCTAssertEqual(tensors["scalar"]?.shape, [])
        XCTAssertEqual(tensors["own"]?.floats, [-1, -2])
    }

    func testAViewReachingPastTheEndOfItsStorageIsReportedAsCorrupt() throws {
        var writer = TorchArchiveWriter()
        let shared = try writer.addStorage(floats: (0..<10).map(Float.init), as: .float16)
        let late = PickleItem.tensor(storage: shared, offset: 8, shape: [3])
        let archive = try writer.archive(.orderedDictionary([("late", late)]))
        let path = scratch.appendingPathComponent("late.bin").path
        try Data(archive).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try TensorFile.read(path: path)) { error in
            let expected = CheckpointError.corrupt(path: path, reason: "tensor late: extends beyond its storage")
            XCTAssertEqual(error as? CheckpointError, expected)
        }
    }

    func testTheCommittedTinyAStoresItsConvolutionsAsViewsOfOneStorage() throws {
        let file = try TorchArchive.read(path: try Fixtures.model("tiny-a") + "/pytorch_model.bin")
        let convolutions = file.tensors.filter {
            $0.key.hasPrefix("encoder.embed_images.") && $0.value.shape.count == 4
        }
        XCTAssertGreaterThan(convolutions.count, 20)
        let starts = convolutions.values.map(\.offset).sorted()
        let end = convolutions.values.map { $0.offset + $0.byteCount }.max()!
        let largest = convolutions.values.map(\.byteCount).max()!
        XCTAssertLessThan(end - starts[0], 2 * largest, "one storage holds them all")
        XCTAssertEqual(Set(starts).count, starts.count, "each at its own offset")
    }

    func testAFileThatIsNotACheckpointIsRejected() throws {
        let path = try modelDirectory(weights: Data("hello, I am text".utf8), name: "pytorch_model.bin")
        XCTAssertThrowsError(try load(path)) { error in
            XCTAssertEqual(
                error as? CheckpointError,
                .corrupt(
                    path: path + "/pytorch_model.bin",
                    reason: "not a PyTorch zip archive"))
        }
    }

    func testADirectoryWithoutWeightsSaysWhatItLookedFor() throws {
        let path = try modelDirectory(weights: Data(), name: "README.md")
        assertLoadFails(path, with: .noWeights(directory: path))
    }

    func testFairseqNamesAndTheModelPrefixMapOntoModelscopeNames() {
        XCTAssertEqual(CheckpointKeys.normalize("model.encoder.layers.3.fc1.weight"), "encoder.layers.3.fc1.weight")
        XCTAssertEqual(
            CheckpointKeys.normalize("encoder.layers.0.attn_ln.weight"),
            "encoder.layers.0.self_attn_mid_layer_norm.weight")
        XCTAssertEqual(
            CheckpointKeys.normalize("decoder.layers.11.encoder_attn.k_proj.bias"),
            "decoder.layers.11.cross_attn.k_proj.bias")
        XCTAssertEqual(
            CheckpointKeys.normalize("decoder.layers.2.encoder_attn_layer_norm.bias"),
            "decoder.layers.2.cross_attn_layer_norm.bias")
        XCTAssertEqual(
            CheckpointKeys.normalize("decoder.layers.2.self_attn_ln.bias"),
            "decoder.layers.2.self_attn_mid_layer_norm.bias")
        XCTAssertEqual(
            CheckpointKeys.normalize("decoder.layers.2.cross_attn_ln.bias"),
            "decoder.layers.2.cross_attn_mid_layer_norm.bias")
        XCTAssertEqual(
            CheckpointKeys.normalize("decoder.layers.2.ffn_layernorm.weight"),
            "decoder.layers.2.ffn_layer_norm.weight")
        XCTAssertEqual(
            CheckpointKeys.normalize("encoder.embed_images.layer1.0.conv1.weight"),
            "encoder.embed_images.layer1.0.conv1.weight")
    }
}
