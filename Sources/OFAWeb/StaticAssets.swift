// The page's own files, compiled into the binary (Assets/, embedded by SwiftPM): nothing is loaded from elsewhere,
// and the Content-Security-Policy makes the browser refuse anything that is not from this server.
import NIOHTTP1

struct StaticAsset: Sendable {
    var contentType: String
    var bytes: [UInt8]

    var response: WebResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Cache-Control", value: "no-cache")
        return WebResponse(contentType: contentType, body: bytes, headers: headers)
    }
}

enum StaticAssets {
    /// Only this server's own files, scripts and styles; images also as data:/blob: URLs (the rendered maps).
    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let byPath: [String: StaticAsset] = [
        "/": StaticAsset(contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html),
        "/index.html": StaticAsset(contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html),
        "/assets/app.js": StaticAsset(contentType: "text/javascript; charset=utf-8", bytes: PackageResources.app_js),
        "/assets/app.css": StaticAsset(contentType: "text/css; charset=utf-8", bytes: PackageResources.app_css),
        "/favicon.svg": StaticAsset(contentType: "image/svg+xml", bytes: PackageResources.favicon_svg),
    ]

    static func asset(at path: String) -> StaticAsset? { byPath[path] }
}
