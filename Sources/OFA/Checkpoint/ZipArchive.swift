// Reads the central directory of a ZIP file (PyTorch's torch.save format) to locate stored entries' data.
// ZIPFoundation streams entries through closures; loading needs each stored entry's file offset to read
// tensors straight into their final buffers, so this small reader does only that (ZIP64 included).

struct ZipArchive {
    struct Entry {
        let name: String
        let dataOffset: Int
        let size: Int
        let compressed: Bool
    }

    let entries: [String: Entry]

    init(reader: FileReader) throws {
        let path = reader.path
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }
        let tailLength = min(reader.size, 22 + 65_535)
        let tail = try reader.bytes(offset: reader.size - tailLength, count: tailLength)
        guard let endIndex = ZipArchive.lastSignature(0x0605_4b50, in: tail, minimumRemaining: 22) else {
            throw corrupt("no ZIP end-of-central-directory record")
        }
        var end = ByteCursor(tail, position: endIndex + 10)
        var count = Int(end.integer(2)!)
        var directorySize = Int(end.integer(4)!)
        var directoryOffset = Int(end.integer(4)!)
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            let locatorStart = reader.size - tailLength + endIndex - 20
            guard locatorStart >= 0 else { throw corrupt("ZIP64 locator missing") }
            var locator = ByteCursor(try reader.bytes(offset: locatorStart, count: 20))
            guard locator.integer(4) == 0x0706_4b50 else { throw corrupt("ZIP64 locator missing") }
            _ = locator.integer(4)
            guard let recordOffset = Int(exactly: locator.integer(8)!) else {
                throw corrupt("ZIP64 end record missing")
            }
            var record = ByteCursor(try reader.bytes(offset: recordOffset, count: 56))
            guard record.integer(4) == 0x0606_4b50 else { throw corrupt("ZIP64 end record missing") }
            _ = record.take(20)
            _ = record.integer(8)
            guard let entryCount = Int(exactly: record.integer(8)!), let size = Int(exactly: record.integer(8)!),
                let offset = Int(exactly: record.integer(8)!)
            else { throw corrupt("central directory outside the file") }
            count = entryCount
            directorySize = size
            directoryOffset = offset
        }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= reader.size,
            directorySize <= reader.size - directoryOffset
        else {
            throw corrupt("central directory outside the file")
        }
        var directory = ByteCursor(try reader.bytes(offset: directoryOffset, count: directorySize))
        var entries: [String: Entry] = [:]
        for _ in 0..<count {
            guard directory.integer(4) == 0x0201_4b50, directory.take(6) != nil,
                let method = directory.integer(2), directory.take(8) != nil,
                var compressedSize = directory.integer(4), var size = directory.integer(4),
                let nameLength = directory.integer(2), let extraLength = directory.integer(2),
                let commentLength = directory.integer(2), directory.take(8) != nil,
                var localOffset = directory.integer(4),
                let nameBytes = directory.take(Int(nameLength)), let extra = directory.take(Int(extraLength)),
                directory.take(Int(commentLength)) != nil
            else { throw corrupt("malformed central directory entry") }
            var extraCursor = ByteCursor(Array(extra))
            while extraCursor.remaining >= 4 {
                let tag = extraCursor.integer(2)!
                let length = Int(extraCursor.integer(2)!)
                guard let field = extraCursor.take(length) else { break }
                guard tag == 0x0001 else { continue }
                var zip64 = ByteCursor(Array(field))
                if size == 0xFFFF_FFFF { size = zip64.integer(8) ?? size }
                if compressedSize == 0xFFFF_FFFF { compressedSize = zip64.integer(8) ?? compressedSize }
                if localOffset == 0xFFFF_FFFF { localOffset = zip64.integer(8) ?? localOffset }
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard let localStart = Int(exactly: localOffset), let storedSize = Int(exactly: compressedSize),
                let entrySize = Int(exactly: size), localStart <= reader.size - 30
            else { throw corrupt("entry \(name) outside the file") }
            var local = ByteCursor(try reader.bytes(offset: localStart, count: 30))
            guard local.integer(4) == 0x0403_4b50 else { throw corrupt("entry \(name) has no local header") }
            _ = local.take(22)
            let localName = Int(local.integer(2)!)
            let localExtra = Int(local.integer(2)!)
            let dataOffset = localStart + 30 + localName + localExtra
            guard storedSize <= reader.size - dataOffset else {
                throw corrupt("entry \(name) extends beyond the end of the file")
            }
            entries[name] = Entry(name: name, dataOffset: dataOffset, size: entrySize, compressed: method != 0)
        }
        self.entries = entries
    }

    static func lastSignature(_ signature: UInt32, in bytes: [UInt8], minimumRemaining: Int) -> Int? {
        guard bytes.count >= minimumRemaining else { return nil }
        for index in stride(from: bytes.count - minimumRemaining, through: 0, by: -1) {
            var cursor = ByteCursor(bytes, position: index)
            if cursor.integer(4) == UInt64(signature) { return index }
        }
        return nil
    }
}
