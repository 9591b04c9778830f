// A small independent GIF reader for the tests: walks the block structure (header, screen descriptor, global
// colour table, extensions, image descriptors, trailer) and decodes each frame's LZW data.

struct GIFStructure {
    struct Frame {
        var delay: Int?
        var disposal: Int?
        var left = 0, top = 0, width = 0, height = 0
        var localColors: Int?
        var pixels: [UInt8] = []
    }

    enum Failure: Error { case bad(String, offset: Int) }

    var version = ""
    var width = 0
    var height = 0
    var globalColors: [UInt8] = []
    /// The NETSCAPE2.0 loop count; nil when the block is absent.
    var loopCount: Int?
    var frames: [Frame] = []
    var trailerSeen = false

    init(_ bytes: [UInt8]) throws {
        var p = 0
        func byte() throws -> Int {
            guard p < bytes.count else { throw Failure.bad("unexpected end", offset: p) }
            p += 1
            return Int(bytes[p - 1])
        }
        func short() throws -> Int { try byte() | (try byte()) << 8 }
        func subBlocks() throws -> [UInt8] {
            var data: [UInt8] = []
            while true {
                let length = try byte()
                if length == 0 { return data }
                guard p + length <= bytes.count else { throw Failure.bad("sub-block past the end", offset: p) }
                data += bytes[p..<(p + length)]
                p += length
            }
        }
        guard bytes.count >= 13 else { throw Failure.bad("too short", offset: 0) }
        version = String(decoding: bytes[0..<6], as: UTF8.self)
        p = 6
        width = try short()
        height = try short()
        let packed = try byte()
        _ = try byte()  // background
        _ = try byte()  // aspect
        if packed & 0x80 != 0 {
            let count = 3 << ((packed & 7) + 1)
            globalColors = Array(bytes[p..<(p + count)])
            p += count
        }
        var pending = Frame()
        while p < bytes.count {
            switch try byte() {
            case 0x21:
                let label = try byte()
                let data = try subBlocks()
                if label == 0xF9, data.count == 4 {
                    pending.disposal = (Int(data[0]) >> 2) & 7
                    pending.delay = Int(data[1]) | Int(data[2]) << 8
                } else if label == 0xFF, data.count == 14,
                    String(decoding: data[0..<11], as: UTF8.self) == "NETSCAPE2.0"
                {
                    loopCount = Int(data[12]) | Int(data[13]) << 8
                }
            case 0x2C:
                pending.left = try short()
                pending.top = try short()
                pending.width = try short()
                pending.height = try short()
                let flags = try byte()
                if flags & 0x80 != 0 {
                    pending.localColors = 2 << (flags & 7)
                    p += 3 * pending.localColors!
                }
                let minimumCodeSize = try byte()
                pending.pixels = GIFStructure.decompress(try subBlocks(), minimumCodeSize: minimumCodeSize)
                frames.append(pending)
                pending = Frame()
            case 0x3B:
                trailerSeen = true
                return
            case let other:
                throw Failure.bad("unknown block \(other)", offset: p - 1)
            }
        }
    }

    /// GIF's variable-length LZW (codes LSB first, clear and end codes, 12-bit limit, no early change).
    static func decompress(_ data: [UInt8], minimumCodeSize: Int) -> [UInt8] {
        let clear = 1 << minimumCodeSize
        let end = clear + 1
        let initial: [[UInt8]] = (0..<clear).map { [UInt8($0)] } + [[], []]
        var dictionary = initial
        var codeSize = minimumCodeSize + 1
        var previous: [UInt8]?
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        var position = 0
        while true {
            while bits < codeSize {
                guard position < data.count else { return output }
                buffer |= Int(data[position]) << bits
                bits += 8
                position += 1
            }
            let code = buffer & ((1 << codeSize) - 1)
            buffer >>= codeSize
            bits -= codeSize
            if code == clear {
                dictionary = initial
                codeSize = minimumCodeSize + 1
                previous = nil
                continue
            }
            if code == end { return output }
            let entry: [UInt8]
            if code < dictionary.count {
                entry = dictionary[code]
            } else if let previous, code == dictionary.count {
                entry = previous + [previous[0]]
            } else {
                return output
            }
            output += entry
            if let previous, dictionary.count < 4096 { dictionary.append(previous + [entry[0]]) }
            previous = entry
            if dictionary.count == 1 << codeSize && codeSize < 12 { codeSize += 1 }
        }
    }
}
