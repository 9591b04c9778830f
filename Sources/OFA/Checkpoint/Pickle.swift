// "Just enough pickle" to read torch.save archives and fairseq checkpoints: builds a value tree, never runs code.

final class PickleList { var items: [PickleValue] = [] }
final class PickleDictionary { var entries: [(key: PickleValue, value: PickleValue)] = [] }

/// A call the pickle asked for (REDUCE/NEWOBJ), kept as data for the caller to interpret.
final class PickleObject {
    let callable: PickleValue
    let arguments: [PickleValue]
    var state: PickleValue?

    init(callable: PickleValue, arguments: [PickleValue]) {
        self.callable = callable
        self.arguments = arguments
    }
}

indirect enum PickleValue {
    case none
    case bool(Bool)
    case integer(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dictionary(PickleDictionary)
    case global(module: String, name: String)
    case object(PickleObject)
    case persistent(PickleValue)

    var string: String? { if case .string(let text) = self { return text } else { return nil } }
    var integer: Int? { if case .integer(let value) = self { return value } else { return nil } }
    var elements: [PickleValue]? {
        switch self {
        case .tuple(let items): return items
        case .list(let list): return list.items
        default: return nil
        }
    }

    /// Entry for a string key of a dictionary.
    subscript(key: String) -> PickleValue? {
        guard case .dictionary(let dictionary) = self else { return nil }
        return dictionary.entries.first { $0.key.string == key }?.value
    }
}

struct PickleError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

struct PickleReader {
    private var cursor: ByteCursor
    private var stack: [PickleValue?] = []  // nil marks MARK
    private var memo: [Int: PickleValue] = [:]
    /// Containers changed after they were made (APPEND, SETITEM, BUILD): only these can close a cycle.
    private var mutated: [PickleValue] = []

    init(_ bytes: [UInt8]) { cursor = ByteCursor(bytes) }

    /// The pickle's value, handed to `interpret` while it is alive. A pickle can make a container hold itself
    /// through the memo; emptying the changed containers afterwards breaks such cycles, which would otherwise leak.
    static func parse<Result>(_ bytes: [UInt8], _ interpret: (PickleValue) throws -> Result) throws -> Result {
        var reader = PickleReader(bytes)
        defer { reader.breakCycles() }
        return try interpret(try reader.run())
    }

    private func breakCycles() {
        for container in mutated {
            switch container {
            case .list(let list): list.items = []
            case .dictionary(let dictionary): dictionary.entries = []
            case .object(let object): object.state = nil
            default: break
            }
        }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard let slice = cursor.take(count) else { throw PickleError(reason: "pickle ends inside an opcode") }
        return slice
    }

    private mutating func unsigned(_ width: Int) throws -> Int {
        guard let value = cursor.integer(width) else { throw PickleError(reason: "pickle ends inside an opcode") }
        guard value <= UInt64(Int.max) else { throw PickleError(reason: "pickle length too large") }
        return Int(value)
    }

    private mutating func line() throws -> String {
        var bytes: [UInt8] = []
        while true {
            let byte = try take(1).first!
            if byte == 0x0A { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func pop() throws -> PickleValue {
        guard let last = stack.popLast(), let value = last else { throw PickleError(reason: "pickle stack underflow") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = stack.lastIndex(where: { $0 == nil }) else { throw PickleError(reason: "pickle has no MARK") }
        let items = stack[(mark + 1)...].map { $0! }
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func top() throws -> PickleValue {
        guard let last = stack.last, let value = last else { throw PickleError(reason: "pickle stack underflow") }
        return value
    }

    private mutating func setItems(_ target: PickleValue, _ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw PickleError(reason: "odd SETITEMS") }
        mutated.append(target)
        let pairs = stride(from: 0, to: items.count, by: 2).map { (key: items[$0], value: items[$0 + 1]) }
        switch target {
        case .dictionary(let dictionary): dictionary.entries += pairs
        case .object(let object):
            // dict subclasses (OrderedDict reduced with extra state) keep their items as state.
            let dictionary = PickleDictionary()
            dictionary.entries = pairs
            object.state = .dictionary(dictionary)
        default: throw PickleError(reason: "SETITEMS on a non-dictionary")
        }
    }

    private func makeObject(_ callable: PickleValue, _ arguments: [PickleValue]) -> PickleValue {
        if case .global("collections", "OrderedDict") = callable { return .dictionary(PickleDictionary()) }
        if case .global("builtins", "set") = callable { return .list(PickleList()) }
        return .object(PickleObject(callable: callable, arguments: arguments))
    }

    private mutating func run() throws -> PickleValue {
        while true {
            let opcode = try take(1).first!
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x2E: return try pop()  // STOP
            case 0x28: stack.append(nil)  // MARK
            case 0x29: stack.append(.tuple([]))
            case 0x5D: stack.append(.list(PickleList()))
            case 0x7D: stack.append(.dictionary(PickleDictionary()))
            case 0x8F: stack.append(.list(PickleList()))  // EMPTY_SET, kept as a list
            case 0x74: stack.append(.tuple(try popMark()))
            case 0x85: stack.append(.tuple([try pop()]))
            case 0x86:
                let b = try pop()
                let a = try pop()
                stack.append(.tuple([a, b]))
            case 0x87:
                let c = try pop()
                let b = try pop()
                let a = try pop()
                stack.append(.tuple([a, b, c]))
            case 0x6C:
                let list = PickleList()
                list.items = try popMark()
                stack.append(.list(list))
            case 0x64:
                let dictionary = PickleValue.dictionary(PickleDictionary())
                try setItems(dictionary, try popMark())
                stack.append(dictionary)
            case 0x61:
                let item = try pop()
                guard case .list(let list) = try top() else { throw PickleError(reason: "APPEND on a non-list") }
                list.items.append(item)
                mutated.append(.list(list))
            case 0x65, 0x90:  // APPENDS, ADDITEMS
                let items = try popMark()
                guard case .list(let list) = try top() else { throw PickleError(reason: "APPENDS on a non-list") }
                list.items += items
                mutated.append(.list(list))
            case 0x91:  // FROZENSET
                let list = PickleList()
                list.items = try popMark()
                stack.append(.list(list))
            case 0x73:
                let value = try pop()
                let key = try pop()
                try setItems(try top(), [key, value])
            case 0x75:
                let items = try popMark()
                try setItems(try top(), items)
            case 0x4E: stack.append(PickleValue.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x4A: stack.append(.integer(Int(Int32(truncatingIfNeeded: try unsigned(4)))))
            case 0x4B: stack.append(.integer(try unsigned(1)))
            case 0x4D: stack.append(.integer(try unsigned(2)))
            case 0x8A, 0x8B:
                let length = try unsigned(opcode == 0x8A ? 1 : 4)
                guard length <= 8 else { throw PickleError(reason: "integer wider than 64 bits") }
                let bytes = try take(length)
                var value: UInt64 = 0
                for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
                if length > 0 && length < 8 && bytes.last! & 0x80 != 0 { value |= ~0 << (8 * UInt64(length)) }
                stack.append(.integer(Int(Int64(bitPattern: value))))
            case 0x47:
                var bits: UInt64 = 0
                for byte in try take(8) { bits = bits << 8 | UInt64(byte) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x49:
                let text = try line()
                if text == "00" || text == "01" {
                    stack.append(.bool(text == "01"))
                    break
                }
                guard let value = Int(text) else { throw PickleError(reason: "bad INT \(text)") }
                stack.append(.integer(value))
            case 0x46:
                guard let value = Double(try line()) else { throw PickleError(reason: "bad FLOAT") }
                stack.append(.float(value))
            case 0x58, 0x8C, 0x8D:
                let length = try unsigned(opcode == 0x8C ? 1 : opcode == 0x58 ? 4 : 8)
                stack.append(.string(String(decoding: try take(length), as: UTF8.self)))
            case 0x54, 0x55:
                let length = try unsigned(opcode == 0x55 ? 1 : 4)
                stack.append(.string(String(decoding: try take(length), as: UTF8.self)))
            case 0x42, 0x43, 0x8E, 0x96:
                let length = try unsigned(opcode == 0x43 ? 1 : opcode == 0x42 ? 4 : 8)
                stack.append(.bytes(Array(try take(length))))
            case 0x63:
                let module = try line()
                let name = try line()
                stack.append(.global(module: module, name: name))
            case 0x93:
                let name = try pop()
                let module = try pop()
                guard let moduleName = module.string, let globalName = name.string else {
                    throw PickleError(reason: "STACK_GLOBAL needs strings")
                }
                stack.append(.global(module: moduleName, name: globalName))
            case 0x52:
                let arguments = try pop()
                let callable = try pop()
                stack.append(makeObject(callable, arguments.elements ?? []))
            case 0x81:
                let arguments = try pop()
                let callable = try pop()
                stack.append(makeObject(callable, arguments.elements ?? []))
            case 0x92:
                _ = try pop()
                let arguments = try pop()
                let callable = try pop()
                stack.append(makeObject(callable, arguments.elements ?? []))
            case 0x62:
                let state = try pop()
                if case .object(let object) = try top() {
                    object.state = state
                    mutated.append(.object(object))
                }
            case 0x51: stack.append(.persistent(try pop()))
            case 0x50: stack.append(.persistent(.string(try line())))
            case 0x71: memo[try unsigned(1)] = try top()
            case 0x72: memo[try unsigned(4)] = try top()
            case 0x94: memo[memo.count] = try top()
            case 0x70:
                guard let index = Int(try line()) else { throw PickleError(reason: "bad PUT") }
                memo[index] = try top()
            case 0x68, 0x6A, 0x67:
                let index: Int
                if opcode == 0x67 {
                    guard let parsed = Int(try line()) else { throw PickleError(reason: "bad GET") }
                    index = parsed
                } else {
                    index = try unsigned(opcode == 0x68 ? 1 : 4)
                }
                guard let value = memo[index] else { throw PickleError(reason: "memo \(index) missing") }
                stack.append(value)
            case 0x30: _ = try pop()
            case 0x31: _ = try popMark()
            case 0x32: stack.append(try top())
            default:
                throw PickleError(reason: "unsupported pickle opcode 0x\(String(opcode, radix: 16))")
            }
        }
    }
}
