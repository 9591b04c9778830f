"""Minimal stdlib-only client for ofad: length-prefixed JSON-RPC 2.0 over a Unix socket.

    from ofad_client import Client
    with Client() as ofad:                      # $OFAD_SOCKET or /run/ofad/ofad.sock
        print(ofad.health()["state"])
        print(ofad.predict("cat.jpg", ["a cat on a sofa", "a dog"]))

Run as a script: python3 ofad_client.py METHOD [PARAMS_JSON]
"""
import base64
import json
import os
import socket
import struct
import sys

DEFAULT_SOCKET = "/run/ofad/ofad.sock"
MAX_FRAME = 1 << 30  # responses: full attention maps of OFA-large run to tens of MB


class OfadError(Exception):
    """The daemon answered with a JSON-RPC error."""

    def __init__(self, code, message, data=None):
        super().__init__(f"{message} ({code})")
        self.code, self.message, self.data = code, message, data


class Client:
    def __init__(self, path=None, timeout=120.0):
        self.path = path or os.environ.get("OFAD_SOCKET") or DEFAULT_SOCKET
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(self.path)
        self._next_id = 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Framing
    def send_frame(self, body: bytes):
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _read_exactly(self, count):
        chunks = []
        while count:
            chunk = self.sock.recv(min(count, 1 << 20))
            if not chunk:
                raise ConnectionError("ofad closed the connection")
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def receive_frame(self) -> bytes:
        (length,) = struct.unpack(">I", self._read_exactly(4))
        if length > MAX_FRAME:
            raise ConnectionError(f"frame of {length} bytes exceeds {MAX_FRAME}")
        return self._read_exactly(length)

    # JSON-RPC
    def send(self, method, params=None, id=None):
        if id is None:
            id, self._next_id = self._next_id, self._next_id + 1
        request = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            request["params"] = params
        self.send_frame(json.dumps(request).encode())
        return id

    def receive(self):
        return json.loads(self.receive_frame())

    def call(self, method, params=None):
        id = self.send(method, params)
        while True:
            response = self.receive()
            if response.get("id") == id:
                if "error" in response:
                    error = response["error"]
                    raise OfadError(error["code"], error["message"], error.get("data"))
                return response["result"]

    def pipeline(self, requests):
        """Sends (method, params) pairs at once; returns the responses in request order."""
        ids = [self.send(method, params) for method, params in requests]
        answers = {}
        while len(answers) < len(ids):
            response = self.receive()
            answers[response["id"]] = response
        return [answers[id] for id in ids]

    # Methods
    def health(self):
        return self.call("health")

    def status(self):
        return self.call("status")

    def metrics(self):
        return self.call("metrics")["text"]

    @staticmethod
    def image(path):
        with open(path, "rb") as file:
            return {"data": base64.b64encode(file.read()).decode()}

    def predict(self, image_path, hypotheses, premise=None):
        params = {"image": self.image(image_path)}
        if isinstance(hypotheses, str):
            params["hypothesis"] = hypotheses
        else:
            params["hypotheses"] = list(hypotheses)
        if premise is not None:
            params["premise"] = premise
        return self.call("predict", params)

    def attention(self, image_path, hypothesis, kinds=("cross",), layers=None, heads=None, head_mean=False,
                  query_position=None, premise=None):
        selection = {"kinds": list(kinds), "head_mean": head_mean}
        if layers is not None:
            selection["layers"] = list(layers)
        if heads is not None:
            selection["heads"] = list(heads)
        if query_position is not None:
            selection["query_position"] = query_position
        params = {"image": self.image(image_path), "hypothesis": hypothesis, "attention": selection}
        if premise is not None:
            params["premise"] = premise
        return self.call("attention", params)


def float_array(value):
    """Decodes a wire float32 array into (shape, list of floats)."""
    assert value["dtype"] == "float32"
    raw = base64.b64decode(value["data"])
    order = "<" if value["byte_order"] == "little" else ">"
    return value["shape"], list(struct.unpack(f"{order}{len(raw) // 4}f", raw))


def main(argv):
    if len(argv) < 2:
        print("usage: ofad_client.py METHOD [PARAMS_JSON]", file=sys.stderr)
        return 64
    params = json.loads(argv[2]) if len(argv) > 2 else None
    try:
        with Client() as ofad:
            print(json.dumps(ofad.call(argv[1], params)))
    except OfadError as error:
        print(f"ofad: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"ofad: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
