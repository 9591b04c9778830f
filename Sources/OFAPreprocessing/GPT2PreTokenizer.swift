// GPT-2's pre-split regex, by hand over Unicode scalars, with the Python `regex` module's classes:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (\p{L} = Lu Ll Lt Lm Lo, \p{N} = Nd Nl No, \s = Unicode White_Space — unlike `re`, not U+001C…U+001F).

enum GPT2PreTokenizer {
    enum ScalarClass { case letter, number, space, other }

    static func classify(_ scalar: Unicode.Scalar) -> ScalarClass {
        let v = scalar.value
        if v < 0x80 {
            switch v {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .space
            default: return .other
            }
        }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The pieces `regex.findall` returns, as ranges into `scalars`.
    static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let n = scalars.count
        let classes = scalars.map(classify)
        var pieces: [Range<Int>] = []
        var i = 0
        while i < n {
            if let length = contractionLength(scalars, at: i) {
                pieces.append(i..<(i + length))
                i += length
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional plain space, then a run of one class.
            let runStart = scalars[i] == " " && i + 1 < n && classes[i + 1] != .space ? i + 1 : i
            let runClass = classes[runStart]
            if runClass != .space {
                var j = runStart + 1
                while j < n && classes[j] == runClass { j += 1 }
                pieces.append(i..<j)
                i = j
                continue
            }
            // `\s+(?!\S)` then `\s+`: a whitespace run leaves its last character to a following non-space.
            var j = i + 1
            while j < n && classes[j] == .space { j += 1 }
            if j < n && j - 1 > i { j -= 1 }
            pieces.append(i..<j)
            i = j
        }
        return pieces
    }

    private static func contractionLength(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        guard s[i] == "'", i + 1 < s.count else { return nil }
        switch s[i + 1] {
        case "s", "t", "m", "d": return 2
        case "r", "v":
            return i + 2 < s.count && s[i + 2] == "e" ? 3 : nil
        case "l":
            return i + 2 < s.count && s[i + 2] == "l" ? 3 : nil
        default: return nil
        }
    }
}
