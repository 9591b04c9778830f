"""Tests ofad_client against a running ofad: OFAD_SOCKET names it, OFAD_TEST_IMAGE an image it can decode.
Run by the Swift test suite (ClientScriptsTests) against a daemon it starts."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ofad_client import Client, OfadError, float_array  # noqa: E402

IMAGE = os.environ.get("OFAD_TEST_IMAGE", "")


@unittest.skipUnless(os.environ.get("OFAD_SOCKET") and IMAGE, "needs OFAD_SOCKET and OFAD_TEST_IMAGE")
class ClientTests(unittest.TestCase):
    def setUp(self):
        self.ofad = Client()

    def tearDown(self):
        self.ofad.close()

    def test_health_is_ready(self):
        self.assertEqual(self.ofad.health()["state"], "ready")

    def test_predict_returns_one_prediction_per_hypothesis(self):
        result = self.ofad.predict(IMAGE, ["a cat", "a dog"], premise="a photo")
        self.assertEqual([p["hypothesis"] for p in result["predictions"]], ["a cat", "a dog"])
        for prediction in result["predictions"]:
            self.assertIn(prediction["answer"], ("yes", "no", "maybe"))
            self.assertAlmostEqual(sum(prediction["probabilities"].values()), 1.0, places=4)

    def test_attention_arrays_decode_to_their_shape(self):
        result = self.ofad.attention(IMAGE, "a cat", head_mean=True)
        shape, values = float_array(result["maps"][0]["values"])
        count = 1
        for size in shape:
            count *= size
        self.assertEqual(len(values), count)

    def test_errors_raise_with_their_code(self):
        with self.assertRaises(OfadError) as raised:
            self.ofad.call("no_such_method")
        self.assertEqual(raised.exception.code, -32601)

    def test_pipelined_requests_come_back_in_request_order(self):
        responses = self.ofad.pipeline([("health", None)] * 20 + [("status", None)])
        self.assertEqual(len(responses), 21)
        self.assertIn("queue_depth", responses[-1]["result"])

    def test_metrics_are_prometheus_text(self):
        self.assertIn("# TYPE ofad_requests_total counter", self.ofad.metrics())


if __name__ == "__main__":
    unittest.main()
