// modelscope OfaBasePreprocessor.pre_caption (same as OFA data/ofa_dataset.py), with exact Python semantics.

public enum CaptionCleaner {
    private static let leadingPunctuation: Set<Unicode.Scalar> = [",", ".", "!", "?", "*", "#", ":", ";", "~"]

    /// lower → lstrip(',.!?*#:;~') → '-' and '/' to ' ', '<person>' to 'person' → `\s{2,}` to ' ' →
    /// rstrip('\n') → strip(' ') → keep the first `maxWords` of `split(' ')`.
    public static func preCaption(_ text: String, maxWords: Int?) -> String {
        var s = PythonText.lower(Array(text.unicodeScalars))
        s.removeFirst(s.prefix(while: { leadingPunctuation.contains($0) }).count)
        s = s.map { $0 == "-" || $0 == "/" ? " " : $0 }
        s = PythonText.replace(s, Array("<person>".unicodeScalars), Array("person".unicodeScalars))
        s = collapseWhitespaceRuns(s)
        while s.last == "\n" { s.removeLast() }
        let start = s.firstIndex(where: { $0 != " " }) ?? s.count
        let end = (s.lastIndex(where: { $0 != " " }) ?? -1) + 1
        s = start < end ? Array(s[start..<end]) : []
        if let maxWords {
            let words = s.split(separator: " ", omittingEmptySubsequences: false)
            if words.count > maxWords { s = Array(words.prefix(max(maxWords, 0)).joined(separator: [" "])) }
        }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: s)
        return String(result)
    }

    /// `re.sub(r'\s{2,}', ' ', s)`: every run of two or more whitespace characters becomes one space.
    private static func collapseWhitespaceRuns(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard PythonText.isSpace(s[i]) else {
                out.append(s[i])
                i += 1
                continue
            }
            var j = i + 1
            while j < s.count && PythonText.isSpace(s[j]) { j += 1 }
            if j - i >= 2 { out.append(" ") } else { out.append(s[i]) }
            i = j
        }
        return out
    }
}
