// One image, decoded, resized, normalised and through the backbone: reusable across hypotheses and requests.
import OFA

public struct PreparedImageFeatures: Sendable {
    /// Patch embeddings and position rows, as the engine takes them.
    public let features: ImageFeatures
    /// Size of the upright image before resizing (what a heatmap overlays).
    public let originalWidth: Int
    public let originalHeight: Int
    /// Patch grid (rows × columns) of the resized image.
    public var grid: PatchGrid { features.grid }
    /// Side of the square image the backbone saw (patch_image_size).
    public let patchImageSize: Int
    /// Seconds spent decoding + resizing + normalising, and in the backbone.
    public let preprocessSeconds: Double
    public let backboneSeconds: Double
    /// The model that made the features; only it can use them.
    let model: OFAModel

    /// Bytes the feature tensors hold (what keeping them costs).
    public var byteCount: Int { features.byteCount }
}
