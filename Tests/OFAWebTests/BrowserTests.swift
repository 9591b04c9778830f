// The page in real headless Chromium (Debian's chromium + chromium-driver) against ofa-web and the real ofad on
// tiny-a: upload, ask, and check that what the page shows is what the daemon answers, and that "Stop waiting"
// withdraws the question from ofad.
// OFA_WEB_SCREENSHOT=DIR writes the screenshots (desktop and phone width) there.
import Foundation
import OFAWire
import XCTest

final class BrowserTests: XCTestCase {
    func testAnUploadedImageGetsTheDaemonsAnswerAndAHeatmap() throws {
        let browser = try WebDriver(width: 1280, height: 1560)
        let stack = try LiveStack()
        let imagePath = LiveStack.image("scene-160x120.png")
        let hypothesis = "two birds sit on a branch"

        try browser.open("http://127.0.0.1:\(stack.port)/")
        XCTAssertTrue(
            browser.waitFor("document.getElementById('daemon-text').textContent.includes('ready')"),
            "the corner shows the daemon ready")
        XCTAssertEqual(
            try browser.script("return document.getElementById('daemon-text').textContent") as? String,
            "tiny-a · cpu · ready")

        try browser.type(imagePath, into: "#image-input")
        XCTAssertTrue(
            browser.waitFor(
                "!document.getElementById('preview').hidden && document.getElementById('preview').naturalWidth === 160"),
            "the chosen image is previewed")
        try browser.type(hypothesis, into: "#hypothesis")

        let before = try stack.daemon().call(Method.status, as: StatusResult.self)
        // Two clicks in a row: the second must not send a second question.
        try browser.script("const b = document.getElementById('submit'); b.click(); b.click();")
        XCTAssertTrue(
            browser.waitFor(
                "!document.getElementById('result').hidden && document.getElementById('answer').textContent"),
            "the answer appears")
        XCTAssertTrue(browser.waitFor("!document.getElementById('submit').disabled"), "the form is usable again")
        let after = try stack.daemon().call(Method.status, as: StatusResult.self)

        // The probabilities on the page are the daemon's own.
        let image = try Data(contentsOf: URL(fileURLWithPath: imagePath))
        let expected = try stack.daemon().call(
            Method.predict, PredictParams(image: ImageInput(bytes: Array(image)), hypotheses: [hypothesis]),
            as: PredictResult.self
        ).predictions[0]
        let bars = try XCTUnwrap(
            try browser.script(
                """
                return [...document.querySelectorAll('#bars .bar')].map(b => [b.dataset.answer, b.dataset.value,
                  b.querySelector('.value').textContent, b.querySelector('.fill').style.width]);
                """) as? [[String]])
        XCTAssertEqual(bars.count, 3)
        for bar in bars {
            let probability = try XCTUnwrap(expected.probabilities[bar[0]], bar[0])
            XCTAssertEqual(Double(bar[1]) ?? -1, Double(probability), accuracy: 1e-6, "\(bar[0]) value")
            XCTAssertEqual(bar[2], String(format: "%.1f%%", Double(probability) * 100), "\(bar[0]) shown")
            XCTAssertEqual(bar[3], String(format: "%.2f%%", Double(probability) * 100), "\(bar[0]) bar width")
        }
        let answer = try browser.script("return document.getElementById('answer').dataset.label") as? String
        XCTAssertEqual(answer, expected.label)

        // The heatmap from the daemon is on screen.
        let heatmapShown = browser.waitFor(
            """
            (() => { const i = document.getElementById('heatmap'); const c = document.getElementById('heatmap-canvas');
              return (!i.hidden && i.complete && i.naturalWidth > 0 && i.src.startsWith('data:image/png'))
                  || (!c.hidden && c.width > 0); })()
            """)
        XCTAssertTrue(heatmapShown, "a heatmap is displayed")
        let fromDaemon = try browser.script("return !document.getElementById('heatmap').hidden") as? Bool
        if try stack.daemonRenders() {
            XCTAssertEqual(fromDaemon, true, "the heatmap is the daemon's render")
        } else {
            print("NOTE: this ofad has no render method: the page drew the heatmap itself from attention arrays")
            XCTAssertEqual(fromDaemon, false)
        }
        XCTAssertTrue(browser.waitFor("document.querySelectorAll('#statistics tr').length > 1"), "statistics shown")

        // One question reached the daemon, however often the button was clicked.
        let asked = ["render", Method.predict].map {
            (after.latency[$0]?.count ?? 0) - (before.latency[$0]?.count ?? 0)
        }.reduce(0, +)
        XCTAssertEqual(asked, fromDaemon == true ? 1 : 2, "one render (or predict + attention without render)")

        // The layer grid and the across-layer animation come from the daemon too, when it renders.
        if fromDaemon == true {
            try browser.click(".tabs button[data-view='grid']")
            XCTAssertTrue(
                browser.waitFor(
                    """
                    (() => { const i = document.getElementById('grid');
                      return !i.hidden && i.naturalWidth > 0 && i.src.startsWith('data:image/png'); })()
                    """), "the layer grid is shown")
            XCTAssertTrue(
                browser.waitFor("document.querySelectorAll('#statistics tr').length === 1 + 2 + 1"),
                "statistics per layer (tiny-a has 2 decoder layers)")
            try browser.click(".tabs button[data-view='animation']")
            XCTAssertTrue(
                browser.waitFor(
                    """
                    (() => { const i = document.getElementById('animation');
                      return !i.hidden && i.naturalWidth > 0 && i.src.startsWith('data:image/gif'); })()
                    """), "the animation is shown")
            try browser.click(".tabs button[data-view='overlay']")

            // Relevance with its faithfulness test: the words shaded, the two curves drawn, from the daemon.
            try browser.script(
                """
                const s = document.getElementById('source'); s.value = 'relevance';
                s.dispatchEvent(new Event('change'));
                const f = document.getElementById('faithfulness'); f.checked = true;
                f.dispatchEvent(new Event('change'));
                """)
            XCTAssertTrue(
                browser.waitFor(
                    """
                    !document.getElementById('tokens-panel').hidden
                      && document.querySelectorAll('#tokens .token').length > 0
                      && !document.getElementById('faithfulness-panel').hidden
                      && document.getElementById('faithfulness-text').textContent.includes('area')
                    """), "relevance tokens and the faithfulness curves are shown")
            let words =
                try browser.script(
                    "return [...document.querySelectorAll('#tokens .token')].map(t => t.textContent).join('')")
                as? String
            XCTAssertTrue(words?.contains("birds") ?? false, words ?? "no tokens")
            XCTAssertEqual(
                try browser.script("return document.getElementById('target-field').hidden") as? Bool, false,
                "the target can be chosen")
        }

        let directory = ProcessInfo.processInfo.environment["OFA_WEB_SCREENSHOT"]
        if let directory { try browser.screenshot().write(to: URL(fileURLWithPath: directory + "/ofa-web.png")) }

        // On a phone-sized window nothing runs off the side.
        try browser.resize(width: 390, height: 844)
        XCTAssertTrue(
            browser.waitFor("document.documentElement.scrollWidth <= window.innerWidth + 1"),
            "no horizontal scrolling at 390 px")
        if let directory { try browser.screenshot().write(to: URL(fileURLWithPath: directory + "/ofa-web-phone.png")) }
    }

    func testStopWaitingWithdrawsTheQuestionFromOfad() throws {
        let browser = try WebDriver()
        let stack = try HeldStack()
        try browser.open("http://127.0.0.1:\(stack.port)/")
        XCTAssertTrue(browser.waitFor("document.getElementById('daemon-text').textContent.includes('ready')"))
        let imagePath = LiveStack.image("scene-160x120.png")
        try browser.type(imagePath, into: "#image-input")
        try browser.type("the withdrawn one", into: "#hypothesis")
        XCTAssertTrue(browser.waitFor("document.getElementById('preview').naturalWidth > 0"))

        // ofad's only worker is busy with a slow question, so the page's waits in the queue.
        stack.engine.hold()
        let image = try Data(contentsOf: URL(fileURLWithPath: imagePath))
        let slow = CallCancellationTests.askDirectly(stack, image: image, hypothesis: "the slow one")
        XCTAssertTrue(waitUntil(timeout: 10) { stack.engine.reached.contains("the slow one") })
        try browser.click("#submit")
        XCTAssertTrue(waitUntil(timeout: 10) { stack.queueDepth == 1 }, "the page's question is queued")
        try browser.click("#cancel")
        XCTAssertTrue(
            browser.waitFor("document.getElementById('message').textContent.includes('withdrawn')"),
            "the page says it stopped")
        XCTAssertTrue(waitUntil(timeout: 10) { stack.queueDepth == 0 }, "withdrawn while the slow one still runs")

        stack.engine.release()
        XCTAssertEqual(try slow().predictions.map(\.hypothesis), ["the slow one"])
        let later = CallCancellationTests.askDirectly(stack, image: image, hypothesis: "a later one")
        XCTAssertEqual(try later().predictions.map(\.hypothesis), ["a later one"])
        XCTAssertEqual(stack.engine.reached.suffix(2), ["the slow one", "a later one"])
        XCTAssertFalse(stack.engine.reached.contains("the withdrawn one"), "\(stack.engine.reached)")
    }

    func testAFailureIsExplainedOnThePage() throws {
        let browser = try WebDriver()
        let stack = try LiveStack()
        try browser.open("http://127.0.0.1:\(stack.port)/")
        XCTAssertTrue(browser.waitFor("document.getElementById('daemon-text').textContent.includes('ready')"))
        try browser.click("#submit")
        XCTAssertTrue(browser.waitFor("document.getElementById('message').textContent.includes('Choose an image')"))
        try browser.type(LiveStack.image("scene-160x120.png"), into: "#image-input")
        try browser.type("a cat", into: "#hypothesis")
        XCTAssertTrue(browser.waitFor("document.getElementById('preview').naturalWidth > 0"))
        stack.stopDaemon()
        try browser.click("#submit")
        XCTAssertTrue(
            browser.waitFor("document.getElementById('message').textContent.includes('not running')"),
            "the page says the daemon is down")
        XCTAssertTrue(
            browser.waitFor("document.getElementById('daemon-status').dataset.state === 'down'", timeout: 15),
            "the corner turns red")
    }
}
