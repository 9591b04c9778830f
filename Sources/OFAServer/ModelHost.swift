// Holds the engine through its life: loading, warm-up, ready or failed; and the model directory's checksum.
import Crypto
import Foundation
import ImageIO
import Logging
import OFAWire

public final class ModelHost: @unchecked Sendable {
    public enum State {
        case loading
        case ready(any InferenceEngine)
        case failed(String)
    }

    /// What the warm-up forward runs: a 64×64 gradient as a PNG, and one hypothesis.
    static func warmUpImage() throws -> [UInt8] {
        var pixels: [UInt8] = []
        for y in 0..<64 {
            for x in 0..<64 { pixels += [UInt8](repeating: UInt8((x * 4 + y * 2) & 0xff), count: 3) }
        }
        return try PNGEncoder.encode(RGBImage(width: 64, height: 64, pixels: pixels))
    }
    static let warmUpHypothesis = "there is a picture"

    private let lock = NSLock()
    private var currentState = State.loading
    private var currentDescription: EngineDescription?
    private var checksum: String?

    public init() {}

    public var state: State { lock.withLock { currentState } }
    /// The engine's description, asked afresh once it is ready (a GPU's memory in use changes).
    public var description: EngineDescription? {
        let (state, loaded) = lock.withLock { (currentState, currentDescription) }
        if case .ready(let engine) = state { return engine.describe() }
        return loaded
    }
    public var modelChecksum: String? { lock.withLock { checksum } }

    public var health: (HealthState, String?) {
        switch state {
        case .loading: return (.loading, "loading the model")
        case .ready: return (.ready, nil)
        case .failed(let why): return (.failed, why)
        }
    }

    /// A ready engine that can never serve again fails for good, `why` being the reason health gives; true the
    /// first time.
    public func fail(_ why: String) -> Bool {
        lock.withLock {
            guard case .ready = currentState else { return false }
            currentState = .failed(why)
            return true
        }
    }

    /// Loads the engine and runs one forward pass; the host is ready only if both succeed.
    public func load(options: EngineOptions, loader: EngineLoader, logger: Logger) -> Bool {
        do {
            let engine = try loader(options)
            let description = engine.describe()
            lock.withLock { currentDescription = description }
            logger.info("model loaded", metadata: ["architecture": "\(description.architecture)"])
            let image = try engine.prepareImage(Self.warmUpImage(), seconds: .infinity)
            let predictions = try engine.predict(image: image, hypotheses: [Self.warmUpHypothesis], premise: nil)
            guard predictions.count == 1 else {
                throw EngineError.failed("warm-up returned \(predictions.count) predictions for 1 hypothesis")
            }
            lock.withLock { currentState = .ready(engine) }
            return true
        } catch {
            lock.withLock { currentState = .failed("\(error)") }
            logger.error("model failed to load", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// SHA-256 over the regular files of the model directory, in path order (each name, then its bytes); stays
    /// nil when a file cannot be read to its end (a digest of part of a file would look valid).
    public func computeChecksum(directory: String) {
        var hasher = SHA256()
        let manager = FileManager.default
        let files = (manager.subpaths(atPath: directory) ?? []).sorted()
        for file in files {
            let path = directory + "/" + file
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                let handle = FileHandle(forReadingAtPath: path)
            else { continue }
            hasher.update(data: Array(file.utf8) + [0])
            defer { try? handle.close() }
            do {
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
            } catch {
                return
            }
        }
        let digest = "sha256:" + hasher.finalize().hexString
        lock.withLock { checksum = digest }
    }
}
