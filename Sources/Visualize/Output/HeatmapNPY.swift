// A map's raw values as a .npy file, through OFAWire's one .npy codec.
import OFAWire

extension Heatmap {
    /// The map as a rows × columns float32 .npy file.
    public func npy() -> [UInt8] {
        NPYFile.encode(NPYArray(shape: [grid.rows, grid.columns], values: values))
    }
}
