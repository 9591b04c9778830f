// Colormaps as matplotlib draws them: 256-entry lookup tables, cmap(x, bytes=True) — index = ⌊x·256⌋ with 1.0 → 255,
// values below 0 / above 1 take the end colours, NaN takes the first colour (matplotlib would draw it transparent).
// jet and gray are built from matplotlib's segment data (LinearSegmentedColormap, N = 256); viridis and inferno
// are its listed tables (ColormapTables.swift).

public struct Colormap: Sendable, Equatable {
    public let name: String
    /// 256 colours × RGB.
    public let table: [UInt8]

    public static let jet = Colormap(
        name: "jet",
        red: [(0, 0, 0), (0.35, 0, 0), (0.66, 1, 1), (0.89, 1, 1), (1, 0.5, 0.5)],
        green: [(0, 0, 0), (0.125, 0, 0), (0.375, 1, 1), (0.64, 1, 1), (0.91, 0, 0), (1, 0, 0)],
        blue: [(0, 0.5, 0.5), (0.11, 1, 1), (0.34, 1, 1), (0.65, 0, 0), (1, 0, 0)])
    public static let gray = Colormap(
        name: "gray", red: [(0, 0, 0), (1, 1, 1)], green: [(0, 0, 0), (1, 1, 1)], blue: [(0, 0, 0), (1, 1, 1)])
    public static let viridis = Colormap(name: "viridis", table: ColormapTables.viridis)
    public static let inferno = Colormap(name: "inferno", table: ColormapTables.inferno)

    public static let all: [Colormap] = [.jet, .viridis, .inferno, .gray]

    public static func named(_ name: String) -> Colormap? { all.first { $0.name == name.lowercased() } }

    public init(name: String, table: [UInt8]) {
        precondition(table.count == 256 * 3, "a colormap table has 256 RGB entries")
        self.name = name
        self.table = table
    }

    /// matplotlib's _create_lookup_table for (x, y0, y1) segments at N = 256, then (lut·255) truncated to bytes.
    init(
        name: String, red: [(Double, Double, Double)], green: [(Double, Double, Double)],
        blue: [(Double, Double, Double)]
    ) {
        let channels = [red, green, blue].map { Colormap.lookupTable($0) }
        var table = [UInt8](repeating: 0, count: 256 * 3)
        for i in 0..<256 {
            for c in 0..<3 { table[i * 3 + c] = UInt8(channels[c][i] * 255) }
        }
        self.init(name: name, table: table)
    }

    static func lookupTable(_ segments: [(Double, Double, Double)]) -> [Double] {
        let n = 256
        let x = segments.map { $0.0 * Double(n - 1) }
        let step = 1.0 / Double(n - 1)
        var lut = [segments[0].2]
        for i in 1..<(n - 1) {
            let position = Double(n - 1) * (Double(i) * step)  // numpy: (N−1)·linspace(0, 1, N)
            let k = x.firstIndex { $0 >= position }!  // searchsorted, side='left'
            let distance = (position - x[k - 1]) / (x[k] - x[k - 1])
            lut.append(distance * (segments[k].1 - segments[k - 1].2) + segments[k - 1].2)
        }
        lut.append(segments[segments.count - 1].1)
        return lut.map { Swift.min(Swift.max($0, 0), 1) }
    }

    /// The table index for a value in [0, 1], as matplotlib computes it for float32 input.
    @inline(__always)
    public static func index(_ value: Float) -> Int {
        guard !value.isNaN else { return 0 }
        let scaled = value * 256
        if scaled < 0 { return 0 }
        if scaled >= 256 { return 255 }
        return Int(scaled)
    }

    public func color(_ value: Float) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let i = Colormap.index(value) * 3
        return (table[i], table[i + 1], table[i + 2])
    }
}
