// GPT-2 byte-level BPE as transformers' (slow) BartTokenizer applies it, which modelscope's OFATokenizer is:
// added/special tokens split out first, GPT-2 pre-split, byte mapping, rank-ordered merges, vocab lookup.
import Foundation
import Synchronization

public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case missingFile(path: String)
    case unreadableFile(path: String, reason: String)
    case malformedVocabulary(path: String, reason: String)
    case malformedMerges(path: String, line: Int, reason: String)
    /// A token the tokenizer cannot work without (`<s>`, `</s>`, `<unk>`) is not in the vocabulary.
    case missingSpecialToken(String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "tokenizer file \(path) does not exist"
        case .unreadableFile(let path, let reason): return "cannot read \(path): \(reason)"
        case .malformedVocabulary(let path, let reason): return "malformed vocabulary \(path): \(reason)"
        case .malformedMerges(let path, let line, let reason): return "malformed merges \(path) line \(line): \(reason)"
        case .missingSpecialToken(let token): return "the vocabulary has no \(token)"
        }
    }
}

public final class BPETokenizer: Sendable {
    /// The tokens modelscope's OFA preprocessor adds after loading: `<code_0…8191>`, then `<bin_0…999>`.
    public static let ofaExtraTokens: [String] = (0..<8192).map { "<code_\($0)>" } + (0..<1000).map { "<bin_\($0)>" }

    public let bosID: Int
    public let eosID: Int
    public let padID: Int?
    public let unknownID: Int
    /// Vocabulary size including the extra tokens.
    public let count: Int

    /// Merge ranks keyed by the two symbol ids (left << 32 | right), with the merged symbol.
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// Symbol id (0–255 are single bytes) to vocabulary id.
    private let symbolToID: [Int32]
    /// Tokens split out before BPE (specials in the vocabulary and the extra tokens) with their ids.
    private let addedTokens: [String: Int]
    /// Added tokens that take the whitespace to their left (BartTokenizer's `<mask>`: lstrip=True).
    private let leftStripping: Set<String>
    private let addedTokenLengths: ClosedRange<Int>
    private let addedTokenStarts: Set<Unicode.Scalar>
    private let cache = Mutex<[[UInt8]: [Int]]>([:])
    private let cacheCapacity: Int

    /// Loads `vocab.json` and `merges.txt` from a model directory.
    public convenience init(
        directory: URL, extraTokens: [String] = BPETokenizer.ofaExtraTokens, cacheCapacity: Int = 65536
    ) throws {
        try self.init(
            vocabulary: directory.appendingPathComponent("vocab.json"),
            merges: directory.appendingPathComponent("merges.txt"),
            extraTokens: extraTokens, cacheCapacity: cacheCapacity)
    }

    public init(vocabulary vocabularyURL: URL, merges mergesURL: URL, extraTokens: [String], cacheCapacity: Int) throws
    {
        let vocabulary = try Self.readVocabulary(vocabularyURL)
        let mergeLines = try Self.readMerges(mergesURL)

        // Symbols: 0–255 single bytes, then every multi-byte string that a merge uses or makes.
        var symbolIDs: [String: Int32] = [:]
        var symbolStrings: [String] = (0..<256).map { ByteLevel.string([UInt8($0)]) }
        for (index, string) in symbolStrings.enumerated() { symbolIDs[string] = Int32(index) }
        func symbol(_ string: String) -> Int32 {
            if let id = symbolIDs[string] { return id }
            let id = Int32(symbolStrings.count)
            symbolIDs[string] = id
            symbolStrings.append(string)
            return id
        }
        var merges: [UInt64: (rank: Int32, merged: Int32)] = [:]
        for (rank, pair) in mergeLines.enumerated() {
            let left = symbol(pair.0)
            let right = symbol(pair.1)
            let merged = symbol(pair.0 + pair.1)
            // A pair listed twice keeps its later rank, as dict(zip(merges, range(n))) does.
            merges[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] = (Int32(rank), merged)
        }

        guard let unknownID = vocabulary["<unk>"] else { throw TokenizerError.missingSpecialToken("<unk>") }
        guard let bosID = vocabulary["<s>"] else { throw TokenizerError.missingSpecialToken("<s>") }
        guard let eosID = vocabulary["</s>"] else { throw TokenizerError.missingSpecialToken("</s>") }
        self.unknownID = unknownID
        self.bosID = bosID
        self.eosID = eosID
        self.padID = vocabulary["<pad>"]
        self.symbolToID = symbolStrings.map { Int32(vocabulary[$0] ?? unknownID) }
        self.merges = merges

        let added = BPETokenizer.addedTokenIDs(vocabulary: vocabulary, extraTokens: extraTokens)
        self.count = max(vocabulary.count, (added.values.max() ?? -1) + 1)
        self.addedTokens = added
        self.leftStripping = added["<mask>"] != nil ? ["<mask>"] : []
        let lengths = added.keys.map { $0.unicodeScalars.count }
        self.addedTokenLengths = (lengths.min() ?? 1)...(lengths.max() ?? 1)
        self.addedTokenStarts = Set(added.keys.compactMap { $0.unicodeScalars.first })
        self.cacheCapacity = cacheCapacity
    }

    /// Token ids of `text` without bos/eos; at most `maxLength` (the first ones) when given.
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        encodeWithSpans(text, maxLength: maxLength).ids
    }

    /// Token ids as `encode` gives them, with the Unicode-scalar range of `text` each token came from (the whole
    /// pre-tokenizer piece or added token it is part of).
    public func encodeWithSpans(_ text: String, maxLength: Int? = nil) -> (ids: [Int], spans: [Range<Int>]) {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        var spans: [Range<Int>] = []
        for segment in segments(scalars) {
            switch segment {
            case .added(let id, let range):
                ids.append(id)
                spans.append(range)
            case .text(let range):
                let piece = Array(scalars[range])
                for split in GPT2PreTokenizer.split(piece) {
                    let tokens = bpe(Array(piece[split]))
                    ids.append(contentsOf: tokens)
                    let span = (range.lowerBound + split.lowerBound)..<(range.lowerBound + split.upperBound)
                    spans.append(contentsOf: repeatElement(span, count: tokens.count))
                }
            }
            if let maxLength, ids.count >= maxLength { break }
        }
        if let maxLength, ids.count > maxLength {
            ids.removeLast(ids.count - maxLength)
            spans.removeLast(spans.count - maxLength)
        }
        return (ids, spans)
    }

    private enum Segment {
        case text(Range<Int>)
        case added(Int, Range<Int>)
    }

    /// Splits out added tokens, leftmost first and longest at a position (transformers' Trie.split gives the same
    /// cuts for this token set: every token is `<…>` with no inner `<` or `>`, so matches never overlap), then
    /// applies the lstrip of `<mask>` to the text before it. Empty text segments are dropped.
    private func segments(_ s: [Unicode.Scalar]) -> [Segment] {
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        scan: while i < s.count {
            if addedTokenStarts.contains(s[i]) {
                for length in addedTokenLengths.reversed() where i + length <= s.count {
                    let candidate = String(String.UnicodeScalarView(s[i..<(i + length)]))
                    guard let id = addedTokens[candidate] else { continue }
                    var textEnd = i
                    if leftStripping.contains(candidate) {
                        while textEnd > textStart && PythonText.isSpace(s[textEnd - 1]) { textEnd -= 1 }
                    }
                    if textEnd > textStart { segments.append(.text(textStart..<textEnd)) }
                    segments.append(.added(id, i..<(i + length)))
                    i += length
                    textStart = i
                    continue scan
                }
            }
            i += 1
        }
        if s.count > textStart { segments.append(.text(textStart..<s.count)) }
        return segments
    }

    /// The ids of one pre-split piece, through a bounded cache shared by all callers.
    private func bpe(_ piece: [Unicode.Scalar]) -> [Int] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(piece.count)
        for scalar in piece { UTF8.encode(scalar) { bytes.append($0) } }
        if let hit = cache.withLock({ $0[bytes] }) { return hit }
        let ids = merge(bytes).map { Int(symbolToID[Int($0)]) }
        cache.withLock { table in
            if table.count >= cacheCapacity { table.removeAll(keepingCapacity: true) }
            table[bytes] = ids
        }
        return ids
    }

    /// BartTokenizer.bpe: repeatedly merge every occurrence (left to right) of the lowest-ranked adjacent pair.
    private func merge(_ bytes: [UInt8]) -> [Int32] {
        var word = bytes.map { Int32($0) }
        while word.count > 1 {
            var best: (rank: Int32, left: Int32, right: Int32, merged: Int32)?
            for k in 0..<(word.count - 1) {
                if let m = merges[UInt64(UInt32(word[k])) << 32 | UInt64(UInt32(word[k + 1]))],
                    best == nil || m.rank < best!.rank
                {
                    best = (m.rank, word[k], word[k + 1], m.merged)
                }
            }
            guard let best else { break }
            var next: [Int32] = []
            next.reserveCapacity(word.count)
            var k = 0
            while k < word.count {
                if k + 1 < word.count && word[k] == best.left && word[k + 1] == best.right {
                    next.append(best.merged)
                    k += 2
                } else {
                    next.append(word[k])
                    k += 1
                }
            }
            word = next
        }
        return word
    }

    // MARK: loading

    private static func contents(of url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TokenizerError.missingFile(path: url.path) }
        do { return try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "\(error)")
        }
    }

    /// Ids of the special and added tokens, as transformers assigns them: specials and tokens already in the
    /// vocabulary keep their ids, the others follow the vocabulary in order.
    static func addedTokenIDs(vocabulary: [String: Int], extraTokens: [String]) -> [String: Int] {
        var added: [String: Int] = [:]
        for special in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] where vocabulary[special] != nil {
            added[special] = vocabulary[special]
        }
        var nextID = vocabulary.count
        for token in extraTokens where added[token] == nil {
            if let existing = vocabulary[token] {
                added[token] = existing
            } else {
                added[token] = nextID
                nextID += 1
            }
        }
        return added
    }

    static func readVocabulary(_ url: URL) throws -> [String: Int] {
        let data = try contents(of: url)
        let vocabulary: [String: Int]
        do { vocabulary = try JSONDecoder().decode([String: Int].self, from: data) } catch {
            throw TokenizerError.malformedVocabulary(path: url.path, reason: "not a JSON object of token → integer id")
        }
        if let negative = vocabulary.first(where: { $0.value < 0 }) {
            throw TokenizerError.malformedVocabulary(
                path: url.path, reason: "negative id for \(negative.key.debugDescription)")
        }
        return vocabulary
    }

    /// BartTokenizer: `read().split("\n")[1:-1]` (the first line is the `#version` header, the last is what
    /// follows the final newline), each line split on whitespace into a pair.
    static func readMerges(_ url: URL) throws -> [(String, String)] {
        let data = try contents(of: url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.malformedMerges(path: url.path, line: 0, reason: "not UTF-8")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2 else { return [] }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(lines.count)
        for (offset, line) in lines[1..<(lines.count - 1)].enumerated() {
            let fields = line.unicodeScalars.split(whereSeparator: { PythonText.isSpace($0) })
            guard fields.count == 2 else {
                throw TokenizerError.malformedMerges(
                    path: url.path, line: offset + 2, reason: "expected two symbols, found \(fields.count)")
            }
            pairs.append((String(String.UnicodeScalarView(fields[0])), String(String.UnicodeScalarView(fields[1]))))
        }
        return pairs
    }
}
