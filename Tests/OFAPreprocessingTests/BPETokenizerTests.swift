// BPETokenizer against transformers' BartTokenizer (+ OFA's <code_*>/<bin_*> tokens) on the real and a tiny vocab.
import FixtureSupport
import Foundation
import Testing

@testable import OFAPreprocessing

let fullTokenizer = try! BPETokenizer(directory: Fixtures.url("tokenizer/full-vocab"))
private let tinyTokenizer = try! BPETokenizer(directory: Fixtures.url("tokenizer/tiny-vocab"))
private let bpeCases = try! Fixtures.json("tokenizer/bpe-cases.json")["cases"] as! [[String: Any]]

@Suite("Byte-level BPE matches transformers' BartTokenizer")
struct BPETokenizerTests {
    @Test("every golden string gives transformers' ids on the real OFA vocabulary")
    func fullVocabulary() {
        #expect(bpeCases.count >= 500)
        for c in bpeCases {
            let text = c["text"] as! String
            #expect(fullTokenizer.encode(text) == c["full"] as! [Int], "\(text.debugDescription)")
            if let truncated = c["full_max20"] as? [Int] {
                #expect(fullTokenizer.encode(text, maxLength: 20) == truncated, "\(text.debugDescription)")
            }
        }
    }

    @Test("every golden string gives transformers' ids on the tiny vocabulary, unknown bytes included")
    func tinyVocabulary() {
        for c in bpeCases {
            let text = c["text"] as! String
            #expect(tinyTokenizer.encode(text) == c["tiny"] as! [Int], "\(text.debugDescription)")
        }
    }

    @Test("the answer words and the tutorial prompt have the documented ids")
    func knownIDs() {
        #expect(fullTokenizer.encode(" yes") == [4420])
        #expect(fullTokenizer.encode(" no") == [117])
        #expect(fullTokenizer.encode(" maybe") == [2085])
        #expect(fullTokenizer.encode(" what does the image describe?") == [99, 473, 5, 2274, 6190, 116])
        #expect(fullTokenizer.count == 59457)
        #expect((fullTokenizer.bosID, fullTokenizer.eosID, fullTokenizer.unknownID) == (0, 2, 3))
    }

    @Test("the pre-splitter's letter, number and space classes are the Python regex module's")
    func scalarClasses() throws {
        let classes = try Fixtures.json("tokenizer/regex-classes.json")
        var expected: [UInt32: GPT2PreTokenizer.ScalarClass] = [:]
        for (key, cls) in [("letter", GPT2PreTokenizer.ScalarClass.letter), ("number", .number), ("space", .space)] {
            for range in classes[key] as! [[Int]] {
                for v in range[0]...range[1] { expected[UInt32(v)] = cls }
            }
        }
        var mismatches: [String] = []
        for v in UInt32(0)..<0x110000 {
            guard let scalar = Unicode.Scalar(v) else { continue }
            let want = expected[v] ?? .other
            let got = GPT2PreTokenizer.classify(scalar)
            if got != want { mismatches.append(String(v, radix: 16)) }
        }
        // Code points assigned after the Unicode version of either side may differ; everything else must not.
        let assignedInBoth = mismatches.filter { hex in
            let scalar = Unicode.Scalar(UInt32(hex, radix: 16)!)!
            return scalar.properties.age.map { $0.major <= 14 } ?? false
        }
        #expect(assignedInBoth.isEmpty, "differ: \(assignedInBoth.prefix(20))")
    }

    @Test("concurrent callers share the cache and get the same ids")
    func concurrentEncoding() async {
        let texts = bpeCases.prefix(200).map { $0["text"] as! String }
        let expected = texts.map { fullTokenizer.encode($0) }
        let tokenizer = try! BPETokenizer(directory: Fixtures.url("tokenizer/full-vocab"), cacheCapacity: 64)
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask { texts.map { tokenizer.encode($0) } == expected }
            }
            for await same in group { #expect(same) }
        }
    }
}

@Suite("Tokenizer files are checked when loaded")
struct TokenizerLoadingTests {
    private func directory(vocab: String?, merges: String?) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ofa-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        if let vocab {
            try vocab.write(to: url.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8)
        }
        if let merges {
            try merges.write(to: url.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        }
        return url
    }

    @Test("a missing vocab.json or merges.txt is named in the error")
    func missingFiles() throws {
        let noVocab = try directory(vocab: nil, merges: "#version: 0.2\n")
        #expect(throws: TokenizerError.missingFile(path: noVocab.appendingPathComponent("vocab.json").path)) {
            try BPETokenizer(directory: noVocab)
        }
        let noMerges = try directory(vocab: #"{"<s>":0,"</s>":2,"<unk>":3}"#, merges: nil)
        #expect(throws: TokenizerError.missingFile(path: noMerges.appendingPathComponent("merges.txt").path)) {
            try BPETokenizer(directory: noMerges)
        }
    }

    @Test("malformed JSON, non-integer ids, bad merge lines and missing specials are rejected")
    func malformedFiles() throws {
        let merges = "#version: 0.2\nĠ t\n"
        for vocab in ["not json", "[1, 2]", #"{"a": "x"}"#, #"{"a": 1.5}"#] {
            let url = try directory(vocab: vocab, merges: merges)
            do {
                _ = try BPETokenizer(directory: url)
                Issue.record("accepted \(vocab)")
            } catch let error as TokenizerError {
                guard case .malformedVocabulary = error else {
                    Issue.record("\(error)")
                    continue
                }
            }
        }
        let badMerges = try directory(vocab: #"{"<s>":0,"</s>":2,"<unk>":3}"#, merges: "#version: 0.2\na b c\n")
        #expect(throws: TokenizerError.self) { try BPETokenizer(directory: badMerges) }
        let noUnknown = try directory(vocab: #"{"<s>":0,"</s>":2}"#, merges: merges)
        #expect(throws: TokenizerError.missingSpecialToken("<unk>")) { try BPETokenizer(directory: noUnknown) }
    }
}
