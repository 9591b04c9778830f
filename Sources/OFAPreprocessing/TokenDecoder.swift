// Token id to text, for labelling attention rows and columns: vocab.json spellings decoded from GPT-2's
// byte-level characters back to UTF-8, and the added tokens at the ids BPETokenizer gives them.
import Foundation

public struct TokenDecoder: Sendable {
    /// Vocabulary spelling by id (e.g. "Ġdoes"); nil where no token has the id.
    private let spellings: [String?]
    /// Ids written as they are: specials and added tokens, which are not byte-level spellings.
    private let verbatim: Set<Int>

    /// Reads `vocab.json` from a model directory; `extraTokens` as given to BPETokenizer.
    public init(directory: URL, extraTokens: [String] = BPETokenizer.ofaExtraTokens) throws {
        try self.init(vocabulary: directory.appendingPathComponent("vocab.json"), extraTokens: extraTokens)
    }

    public init(vocabulary url: URL, extraTokens: [String]) throws {
        let vocabulary = try BPETokenizer.readVocabulary(url)
        let added = BPETokenizer.addedTokenIDs(vocabulary: vocabulary, extraTokens: extraTokens)
        var verbatim = Set<Int>()
        let largest = max(vocabulary.values.max() ?? -1, added.values.max() ?? -1)
        var spellings = [String?](repeating: nil, count: largest + 1)
        for (token, id) in vocabulary { spellings[id] = token }
        for (token, id) in added {
            spellings[id] = token
            verbatim.insert(id)
        }
        self.spellings = spellings
        self.verbatim = verbatim
    }

    /// Number of ids covered (the largest id + 1).
    public var count: Int { spellings.count }

    /// How vocab.json spells `id` ("Ġ" for a space), or the added token; nil for an unknown id.
    public func spelling(of id: Int) -> String? {
        id >= 0 && id < spellings.count ? spellings[id] : nil
    }

    /// The bytes `id` stands for (UTF-8 of special and added tokens); nil for an unknown id. Joining the bytes
    /// of a sequence gives its text even where a character spans several tokens.
    public func bytes(of id: Int) -> [UInt8]? {
        guard let spelling = spelling(of: id) else { return nil }
        if verbatim.contains(id) { return Array(spelling.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(spelling.unicodeScalars.count)
        for scalar in spelling.unicodeScalars {
            guard let byte = ByteLevel.bytes[Character(scalar)] else { return Array(spelling.utf8) }
            bytes.append(byte)
        }
        return bytes
    }

    /// The text of `id` alone: its bytes as UTF-8, where a piece holding part of a character shows U+FFFD;
    /// nil for an unknown id.
    public func text(of id: Int) -> String? {
        bytes(of: id).map { String(decoding: $0, as: UTF8.self) }
    }
}
