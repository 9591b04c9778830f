// GPT-2 bytes_to_unicode: every byte as a printable character (bytes 33–126, 161–172, 174–255 map to themselves,
// the other 68 to U+0100… in increasing byte order; space becomes "Ġ").

enum ByteLevel {
    static let characters: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                table[byte] = Character(Unicode.Scalar(UInt32(byte))!)
            } else {
                table[byte] = Character(Unicode.Scalar(next)!)
                next += 1
            }
        }
        return table
    }()

    /// Character to byte, for reading merges and vocabulary entries.
    static let bytes: [Character: UInt8] = {
        var map: [Character: UInt8] = [:]
        for (byte, character) in characters.enumerated() { map[character] = UInt8(byte) }
        return map
    }()

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        String(bytes.map { characters[Int($0)] })
    }
}
