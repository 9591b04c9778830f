#!/usr/bin/env python3
"""Writes the committed seed corpora under Tools/fuzz/corpus/ (standard library only; no Pillow or torch needed).

Every seed is tiny and valid, or deliberately broken in one named way, so the fuzzer starts from each branch of the
readers: JPEG colour spaces, progressive scans, restart markers, EXIF/XMP orientation in every type and byte order,
PNG colour types, depths, Adam7 and eXIf, JSON-RPC frames of every method, safetensors, torch.save zips (pickle
protocols 2 and 4, fairseq's {'model': ...}, ZIP64). A few small images are copied from Tests/Fixtures.

Usage: python3 Tools/fuzz/make_corpus.py   (rewrites corpus/image, corpus/exif, corpus/wire, corpus/checkpoint)
"""

import base64
import collections
import io
import json
import math
import pathlib
import pickle
import shutil
import struct
import sys
import types
import zlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = HERE / "corpus"


# ---- JPEG: a baseline/progressive Huffman writer for flat 8x8 blocks (DC only), enough for valid files.

# Both tables give every symbol a 4-bit code (canonical order); no code is all ones.
DC_SYMBOLS = list(range(12))
AC_SYMBOLS = [0x00, 0x01, 0x11, 0xF0]


def huffman_segment(table_class, table_id, symbols):
    bits = [0] * 16
    bits[3] = len(symbols)
    body = bytes([table_class << 4 | table_id]) + bytes(bits) + bytes(symbols)
    return segment(0xC4, body)


def codes(symbols):
    return {symbol: (index, 4) for index, symbol in enumerate(symbols)}


DC_CODES = codes(DC_SYMBOLS)
AC_CODES = codes(AC_SYMBOLS)


def segment(marker, body):
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.value = 0
        self.count = 0

    def put(self, value, length):
        for shift in range(length - 1, -1, -1):
            self.value = self.value << 1 | (value >> shift) & 1
            self.count += 1
            if self.count == 8:
                self.out.append(self.value)
                if self.value == 0xFF:
                    self.out.append(0)
                self.value = 0
                self.count = 0

    def flush(self):
        while self.count:
            self.put(1, 1)
        return bytes(self.out)


def put_dc(writer, difference):
    category = 0 if difference == 0 else abs(difference).bit_length()
    writer.put(*DC_CODES[category])
    if category:
        bits = difference if difference > 0 else difference + (1 << category) - 1
        writer.put(bits, category)


def jpeg(width, height, components, *, levels=None, marker=0xC0, restart=0, app=(), adobe=None, precision=8,
         ac_scans=None, truncate=None):
    """components: [(id, h, v)]; levels(component, block_x, block_y) -> 0..255 mean of that block."""
    levels = levels or (lambda c, x, y: (40 + 50 * c + 23 * x + 31 * y) % 256)
    hmax = max(h for _, h, _ in components)
    vmax = max(v for _, _, v in components)
    out = bytearray(b"\xFF\xD8")
    out += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00") if adobe is None else b""
    for payload in app:
        out += payload
    if adobe is not None:
        out += segment(0xEE, b"Adobe" + struct.pack(">HHHB", 100, 0, 0, adobe))
    out += segment(0xDB, b"\x00" + bytes([1] * 64))
    frame = struct.pack(">BHHB", precision, height, width, len(components))
    for component_id, h, v in components:
        frame += bytes([component_id, h << 4 | v, 0])
    out += segment(marker, frame)
    out += huffman_segment(0, 0, DC_SYMBOLS) + huffman_segment(1, 0, AC_SYMBOLS)
    if restart:
        out += segment(0xDD, struct.pack(">H", restart))
    progressive = marker in (0xC2, 0xC6, 0xCA, 0xCE)
    mcus_x = math.ceil(width / (8 * hmax))
    mcus_y = math.ceil(height / (8 * vmax))
    single = len(components) == 1
    if single:
        mcus_x, mcus_y = math.ceil(width / 8), math.ceil(height / 8)
    # The first (or only) scan: every component interleaved; DC and, for baseline, an immediate EOB.
    sos = bytes([len(components)]) + b"".join(bytes([cid, 0x00]) for cid, _, _ in components)
    sos += bytes([0, 0 if progressive else 63, 0])
    out += segment(0xDA, sos)
    writer = BitWriter()
    predictions = [0] * len(components)
    for mcu in range(mcus_x * mcus_y):
        if restart and mcu and mcu % restart == 0:
            out += writer.flush() + bytes([0xFF, 0xD0 + (mcu // restart - 1) % 8])
            writer = BitWriter()
            predictions = [0] * len(components)
        mx, my = mcu % mcus_x, mcu // mcus_x
        for index, (_, h, v) in enumerate(components):
            blocks = [(0, 0)] if single else [(bx, by) for by in range(v) for bx in range(h)]
            for bx, by in blocks:
                dc = (levels(index, mx * h + bx, my * v + by) - 128) * 8
                put_dc(writer, dc - predictions[index])
                predictions[index] = dc
                if not progressive:
                    writer.put(*AC_CODES[0x00])
    out += writer.flush()
    # Progressive: one all-zero AC scan per component (each block an EOB); only for whole-MCU sizes.
    for index in ac_scans if ac_scans is not None else (range(len(components)) if progressive else ()):
        cid, h, v = components[index]
        out += segment(0xDA, bytes([1, cid, 0x00, 1, 63, 0]))
        writer = BitWriter()
        blocks_x = math.ceil(math.ceil(width * h / hmax) / 8)
        blocks_y = math.ceil(math.ceil(height * v / vmax) / 8)
        for _ in range(blocks_x * blocks_y):
            writer.put(*AC_CODES[0x00])
        out += writer.flush()
    out += b"\xFF\xD9"
    return bytes(out[:truncate] if truncate else out)


# ---- EXIF (TIFF) and XMP.

def tiff(entries, little=True, ifd_offset=8, tail=b""):
    """entries: [(tag, type, count, value bytes of 4)]; the IFD sits at ifd_offset."""
    e = "<" if little else ">"
    head = (b"II" if little else b"MM") + struct.pack(e + "HI", 42, ifd_offset)
    head += b"\x00" * (ifd_offset - len(head))
    ifd = struct.pack(e + "H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack(e + "HHI", tag, kind, count) + value
    return head + ifd + struct.pack(e + "I", 0) + tail


def short(value, little=True):
    return struct.pack("<HH" if little else ">HH", value, 0)


def long(value, little=True):
    return struct.pack("<I" if little else ">I", value)


def orientation_exif(value, little=True, kind=3):
    packed = {3: short, 4: long}.get(kind, lambda v, l: bytes([v, 0, 0, 0]))(value, little)
    make = (0x010F, 2, 4, b"ofa\x00")
    return tiff([make, (0x0112, kind, 1, packed)], little)


def exif_app1(data):
    return segment(0xE1, b"Exif\x00\x00" + data)


def xmp_app1(packet):
    return segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet)


XMP_ATTRIBUTE = b'<x:xmpmeta><rdf:RDF><rdf:Description tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
XMP_ELEMENT = b"<x:xmpmeta><rdf:Description><tiff:Orientation>3</tiff:Orientation></rdf:Description></x:xmpmeta>"


# ---- PNG.

def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width, height, color_type, depth, *, interlace=False, extra_before=(), extra_after=(), palette=None,
        trns=None, truncate=None, bad_crc=False, declared=None):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    bits_per_pixel = channels * depth
    maximum = (1 << depth) - 1

    def sample(x, y, c):
        return (x * 37 + y * 91 + c * 53) % (maximum + 1) if color_type != 3 else (x + y) % len(palette or [0])

    def rows(xs, ys):
        raw = bytearray()
        for y in ys:
            bits = []
            for x in xs:
                for c in range(channels):
                    bits.append(sample(x, y, c))
            line = bytearray()
            if depth < 8:
                accumulator, filled = 0, 0
                for value in bits:
                    accumulator = accumulator << depth | value
                    filled += depth
                    if filled == 8:
                        line.append(accumulator)
                        accumulator, filled = 0, 0
                if filled:
                    line.append(accumulator << (8 - filled))
            else:
                for value in bits:
                    line += value.to_bytes(depth // 8, "big")
            raw += b"\x00" + line
        return bytes(raw)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(rows(range(x0, width, dx), range(y0, height, dy)) for x0, y0, dx, dy in passes
                       if x0 < width and y0 < height)
    else:
        raw = rows(range(width), range(height))
    w, h = declared or (width, height)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    for kind, body in extra_before:
        out += chunk(kind, body)
    if palette:
        out += chunk(b"PLTE", b"".join(bytes(rgb) for rgb in palette))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    data = chunk(b"IDAT", zlib.compress(raw, 9))
    if bad_crc:
        data = data[:-1] + bytes([data[-1] ^ 1])
    out += data
    for kind, body in extra_after:
        out += chunk(kind, body)
    out += chunk(b"IEND", b"")
    return out[:truncate] if truncate else out


# ---- safetensors and torch.save archives.

def safetensors(tensors, metadata=None, header_length=None):
    """tensors: [(name, dtype, shape, raw bytes)]."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", header_length if header_length is not None else len(text)) + text + data


def stored_zip(entries, zip64=False):
    """A ZIP of stored entries, as torch.save writes it; zip64: ZIP64 extras and end records, sizes in them."""
    out, directory = bytearray(), bytearray()
    for name, data in entries:
        name = name.encode()
        crc = zlib.crc32(data)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, len(data), len(data), len(name), 0)
        out += name + data
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
            sizes = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra, sizes = b"", (len(data), len(data), offset)
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45 if zip64 else 20, 0, 0, 0, 0, crc,
                                 sizes[0], sizes[1], len(name), len(extra), 0, 0, 0, 0, sizes[2])
        directory += name + extra
    start = len(out)
    out += directory
    count = len(entries)
    if zip64:
        record = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(directory), start)
        out += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), start, 0)
    return bytes(out)


def install_fake_torch():
    """Modules named like torch's, so pickle writes the globals torch.save writes (nothing here imports torch)."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    torch._utils = utils

    def rebuild(name):
        def function(*arguments):
            return arguments
        function.__module__, function.__name__, function.__qualname__ = "torch._utils", name, name
        setattr(utils, name, function)
        return function

    storages = {}
    for name in ["FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage", "LongStorage", "ByteStorage"]:
        storage = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storage)
        storages[name] = storage
    return rebuild("_rebuild_tensor_v2"), rebuild("_rebuild_parameter"), storages


REBUILD_TENSOR, REBUILD_PARAMETER, STORAGES = install_fake_torch()
WIDTHS = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8, "LongStorage": 8,
          "ByteStorage": 1}


class StorageReference:
    def __init__(self, key, kind, count):
        self.key, self.kind, self.count = key, kind, count


class Tensor:
    """Pickles as torch does: _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())."""

    def __init__(self, storage, offset, shape, parameter=False):
        self.storage, self.offset, self.shape, self.parameter = storage, offset, shape, parameter

    def __reduce_ex__(self, protocol):
        strides, stride = [], 1
        for size in reversed(self.shape):
            strides.insert(0, stride)
            stride *= size
        tensor = (REBUILD_TENSOR, (self.storage, self.offset, tuple(self.shape), tuple(strides), False,
                                   collections.OrderedDict()))
        if not self.parameter:
            return tensor
        return (REBUILD_PARAMETER, (Rebuilt(tensor), True, collections.OrderedDict()))


class Rebuilt:
    def __init__(self, reduced):
        self.reduced = reduced

    def __reduce_ex__(self, protocol):
        return self.reduced


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageReference):
            return ("storage", STORAGES[obj.kind], obj.key, "cpu", obj.count)
        return None


def torch_zip(state, storages, *, protocol=2, wrap=None, root="archive", byteorder="little", zip64=False):
    """state: {name: Tensor}; storages: {key: (kind, raw bytes)}; wrap(state) -> the pickled object."""
    buffer = io.BytesIO()
    TorchPickler(buffer, protocol=protocol).dump(wrap(state) if wrap else state)
    entries = [(root + "/data.pkl", buffer.getvalue()), (root + "/.format_version", b"1"),
               (root + "/.storage_alignment", b"64")]
    if byteorder is not None:
        entries.append((root + "/byteorder", byteorder.encode()))
    entries += [(root + "/data/" + key, raw) for key, (_, raw) in storages.items()]
    entries.append((root + "/version", b"3\n"))
    return stored_zip(entries, zip64=zip64)


def floats(values, kind="FloatStorage"):
    if kind == "FloatStorage":
        return struct.pack("<%df" % len(values), *values)
    if kind == "HalfStorage":
        return struct.pack("<%de" % len(values), *values)
    if kind == "DoubleStorage":
        return struct.pack("<%dd" % len(values), *values)
    if kind == "BFloat16Storage":
        return b"".join(struct.pack("<f", v)[2:] for v in values)
    raise ValueError(kind)


def torch_state(kinds=("FloatStorage", "HalfStorage", "LongStorage"), parameter=False):
    storages, state = {}, collections.OrderedDict()
    for index, kind in enumerate(kinds):
        key = str(index)
        count = 6
        raw = struct.pack("<6q", *range(6)) if kind == "LongStorage" else (
            bytes(range(6)) if kind == "ByteStorage" else floats([0.5 * i for i in range(count)], kind))
        storages[key] = (kind, raw)
        reference = StorageReference(key, kind, count)
        state["encoder.layers.%d.weight" % index] = Tensor(reference, 0, [2, 3], parameter)
        state["encoder.layers.%d.bias" % index] = Tensor(reference, 4, [2], parameter)
    return state, storages


# ---- JSON-RPC frames.

def frame(value):
    body = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return struct.pack(">I", len(body)) + body


def stream(frames, pieces=()):
    """The wire target's input: byte 0 holds the number of piece sizes, then the sizes (size - 1), then frames."""
    return bytes([len(pieces)]) + bytes(p - 1 for p in pieces) + b"".join(frames)


def request(method, params=None, id=1):
    value = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        value["params"] = params
    return value


# ---- writing.

def write(target, name, data):
    path = CORPUS / target / name
    path.write_bytes(data)


def main():
    for target in ["image", "exif", "wire", "checkpoint"]:
        shutil.rmtree(CORPUS / target, ignore_errors=True)
        (CORPUS / target).mkdir(parents=True)

    # image: JPEG colour spaces, sampling, progressive, restarts, metadata; PNG types, depths, Adam7, chunks.
    gray, ycc = [(1, 1, 1)], [(1, 2, 2), (2, 1, 1), (3, 1, 1)]
    write("image", "jpeg-gray-9x7.jpg", jpeg(9, 7, gray))
    write("image", "jpeg-ycc420-16x16.jpg", jpeg(16, 16, ycc))
    write("image", "jpeg-ycc444-restart-24x8.jpg", jpeg(24, 8, [(1, 1, 1), (2, 1, 1), (3, 1, 1)], restart=1))
    write("image", "jpeg-rgb-adobe-8x8.jpg", jpeg(8, 8, [(82, 1, 1), (71, 1, 1), (66, 1, 1)], adobe=0))
    write("image", "jpeg-cmyk-adobe-8x8.jpg", jpeg(8, 8, [(1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1)], adobe=0))
    write("image", "jpeg-ycck-adobe-8x8.jpg", jpeg(8, 8, [(1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1)], adobe=2))
    write("image", "jpeg-two-components-8x8.jpg", jpeg(8, 8, [(1, 1, 1), (2, 1, 1)]))
    write("image", "jpeg-progressive-ycc420-16x16.jpg", jpeg(16, 16, ycc, marker=0xC2))
    write("image", "jpeg-progressive-dc-only-16x8.jpg", jpeg(16, 8, gray, marker=0xC2, ac_scans=()))
    write("image", "jpeg-12bit-8x8.jpg", jpeg(8, 8, gray, marker=0xC1, precision=12))
    write("image", "jpeg-exif-orientation-6-be-12x8.jpg",
          jpeg(12, 8, gray, app=[exif_app1(orientation_exif(6, little=False))]))
    write("image", "jpeg-exif-orientation-8-le-long-12x8.jpg",
          jpeg(12, 8, ycc, app=[exif_app1(orientation_exif(8, kind=4))]))
    write("image", "jpeg-xmp-orientation-5-8x16.jpg", jpeg(8, 16, gray, app=[xmp_app1(XMP_ATTRIBUTE.replace(b"6", b"5"))]))
    write("image", "jpeg-truncated-in-scan.jpg", jpeg(16, 16, ycc, truncate=-6))
    write("image", "jpeg-declares-60000x60000.jpg", jpeg(8, 8, gray)[:2] + segment(0xC0, struct.pack(">BHHB", 8, 60000, 60000, 1) + b"\x01\x11\x00"))
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (9, 9, 9)]
    write("image", "png-gray1-9x3.png", png(9, 3, 0, 1))
    write("image", "png-gray2-5x3.png", png(5, 3, 0, 2))
    write("image", "png-gray4-5x3-trns.png", png(5, 3, 0, 4, trns=b"\x00\x03"))
    write("image", "png-gray8-4x4.png", png(4, 4, 0, 8))
    write("image", "png-gray16-3x2.png", png(3, 2, 0, 16))
    write("image", "png-rgb8-4x3.png", png(4, 3, 2, 8))
    write("image", "png-rgb16-3x2-trns.png", png(3, 2, 2, 16, trns=b"\x00\x01\x00\x02\x00\x03"))
    write("image", "png-palette2-6x3.png", png(6, 3, 3, 2, palette=palette, trns=b"\x80"))
    write("image", "png-palette8-3x3.png", png(3, 3, 3, 8, palette=palette))
    write("image", "png-gray-alpha8-3x2.png", png(3, 2, 4, 8))
    write("image", "png-gray-alpha16-3x2.png", png(3, 2, 4, 16))
    write("image", "png-rgba8-3x2.png", png(3, 2, 6, 8))
    write("image", "png-rgba16-2x2.png", png(2, 2, 6, 16))
    write("image", "png-adam7-rgb8-9x9.png", png(9, 9, 2, 8, interlace=True))
    write("image", "png-adam7-gray1-10x3.png", png(10, 3, 0, 1, interlace=True))
    write("image", "png-exif-orientation-6-before-idat-4x2.png",
          png(4, 2, 2, 8, extra_before=[(b"eXIf", orientation_exif(6))]))
    write("image", "png-exif-orientation-3-after-idat-4x2.png",
          png(4, 2, 0, 8, extra_after=[(b"eXIf", orientation_exif(3, little=False))]))
    write("image", "png-ancillary-chunks-3x2.png",
          png(3, 2, 2, 8, extra_before=[(b"gAMA", struct.pack(">I", 45455)), (b"tEXt", b"Comment\x00ofa"),
                                        (b"pHYs", struct.pack(">IIB", 2835, 2835, 1))]))
    write("image", "png-bad-idat-crc-3x2.png", png(3, 2, 2, 8, bad_crc=True))
    write("image", "png-truncated-in-idat-8x8.png", png(8, 8, 2, 8, truncate=-20))
    write("image", "png-declares-70000x70000.png", png(1, 1, 0, 8, declared=(70000, 70000))[:33])
    write("image", "png-zero-width.png", png(1, 1, 0, 8, declared=(0, 1)))
    fixtures = ROOT / "Tests/Fixtures/preprocessing/images"
    for name in ["jpeg-progressive-gray-45x33.jpg", "jpeg-exif-orientation-6.jpg", "jpeg-xmp-orientation-6.jpg",
                 "png-palette4-33x21.png"]:
        write("image", "fixture-" + name, (fixtures / name).read_bytes())

    # exif: byte 0 picks the carrier (0 JPEG EXIF, 1 JPEG XMP, 2 PNG eXIf before IDAT, 3 after); the rest is metadata.
    for value in [1, 3, 6, 8]:
        write("exif", "jpeg-short-le-%d.bin" % value, b"\x00" + orientation_exif(value))
    write("exif", "jpeg-short-be-7.bin", b"\x00" + orientation_exif(7, little=False))
    write("exif", "jpeg-long-le-5.bin", b"\x00" + orientation_exif(5, kind=4))
    write("exif", "jpeg-long-be-2.bin", b"\x00" + orientation_exif(2, little=False, kind=4))
    write("exif", "jpeg-byte-4.bin", b"\x00" + orientation_exif(4, kind=1))
    write("exif", "jpeg-undefined-6.bin", b"\x00" + orientation_exif(6, kind=7))
    write("exif", "jpeg-count-2.bin", b"\x00" + tiff([(0x0112, 3, 2, short(6))]))
    write("exif", "jpeg-ifd-at-20.bin", b"\x00" + tiff([(0x0112, 3, 1, short(6))], ifd_offset=20))
    write("exif", "jpeg-byte-last-entry-at-end.bin", b"\x00" + tiff([(0x0112, 1, 1, b"\x06")])[:-8])
    write("exif", "xmp-attribute-6.bin", b"\x01" + XMP_ATTRIBUTE)
    write("exif", "xmp-element-3.bin", b"\x01" + XMP_ELEMENT)
    write("exif", "png-before-short-le-6.bin", b"\x02" + orientation_exif(6))
    write("exif", "png-after-long-be-8.bin", b"\x03" + orientation_exif(8, little=False, kind=4))

    # wire: frames of every method, in one piece or several; a response the clients read; refused streams.
    tiny_png = base64.b64encode(png(3, 2, 2, 8)).decode()
    image = {"data": tiny_png}
    frames = {
        "health": [frame(request("health")), frame(request("status", id="s")), frame(request("metrics", None, 3))],
        "predict": [frame(request("predict", {"image": image, "hypothesis": "a cat", "premise": "a photo"}))],
        "predict-hypotheses-path": [frame(request("predict", {"image": {"path": "/srv/a.jpg"},
                                                              "hypotheses": ["one", "two"]}, id=7.5))],
        "attention": [frame(request("attention", {"image": image, "hypothesis": "h", "attention": {
            "kinds": ["encoder", "decoder_self", "cross"], "layers": [0, 11], "heads": [1], "head_mean": True,
            "query_position": -1}}))],
        "render": [frame(request("render", {"image": image, "hypothesis": "h", "output": "grid", "source": "cross",
                                            "layers": "all", "heads": "max", "colormap": "viridis", "alpha": 0.3,
                                            "smoothing": 1.5, "temperature": 0.5, "colorbar": True, "max_side": 64,
                                            "columns": 3, "shared_scale": True}))],
        "render-rollout": [frame(request("render", {"path": "/srv/a.png", "hypothesis": "h", "source": "rollout",
                                                    "fusion": "min", "discard_ratio": 0.9, "output": "animation",
                                                    "frame_delay_ms": 100, "loop": 2, "layers": [-1, 0]}))],
        "stats-encoder": [frame(request("stats", {"image": image, "hypothesis": "h", "source": "encoder",
                                                  "token": 3, "focus_threshold": 0.7, "top_k": 2, "heads": 5,
                                                  "layers": -2}))],
        "render-npy": [frame(request("render", {"image": image, "hypothesis": "h", "output": "npy", "layers": [3]}))],
        "ids-as-written": [frame(b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"health"}'),
                           frame(b'{"id" : -0.10000000000000000555 ,"jsonrpc":"2.0","method":"status"}'),
                           frame(b'{"jsonrpc":"1.0","id":7e2,"method":"health"}'),
                           frame(b'{"jsonrpc":"2.0","id":1,"id":2,"method":"health"}')],
        "unknown-method": [frame(request("explode", {"x": [1, 2.5, None, True, {"y": "z"}]}))],
        "rejected": [frame(b"{not json"), frame(b"[1,2]"), frame(b"\xff\xfe"), frame(b'{"jsonrpc":"1.0","id":1}'),
                     frame(b'{"jsonrpc":"2.0","id":[1],"method":"health"}'),
                     frame(b'{"jsonrpc":"2.0","id":1,"method":"health","params":[1]}')],
        "response-attention": [frame({"jsonrpc": "2.0", "id": 1, "result": {
            "prediction": {"hypothesis": "h", "answer": "yes", "label": "entailment",
                           "probabilities": {"yes": 0.9, "no": 0.05, "maybe": 0.05}},
            "maps": [{"kind": "cross", "layer": 11, "heads": None, "query_position": 4,
                      "values": {"dtype": "float32", "byte_order": "little", "shape": [1, 1, 2],
                                 "data": base64.b64encode(struct.pack("<2f", 0.25, 0.75)).decode()},
                      "patch_grid": {"rows": 1, "cols": 2}, "query_tokens": ["yes"],
                      "key_tokens": ["<img_0>", "<img_1>"]}],
            "timings": {"queue_ms": 0, "image_ms": 1, "model_ms": 2, "total_ms": 3, "image_cached": False}}})],
        "response-error": [frame({"jsonrpc": "2.0", "id": None, "error": {"code": -32602, "message": "invalid",
                                                                          "data": {"key": "alpha"}}})],
    }
    for name, body in frames.items():
        write("wire", name + ".bin", stream(body))
    write("wire", "predict-in-pieces.bin", stream(frames["predict"] + frames["health"], pieces=[1, 3, 7, 200]))
    write("wire", "too-large.bin", stream([b"\x00\x01\x00\x01" + b"{}"]))
    write("wire", "truncated.bin", stream([frame(request("health"))[:-3]], pieces=[2]))

    # checkpoint: safetensors of each dtype; torch.save zips (protocols 2 and 4, parameters, fairseq, ZIP64).
    f32 = struct.pack("<6f", *[0.5 * i for i in range(6)])
    write("checkpoint", "floats.safetensors", safetensors([
        ("encoder.layers.0.fc1.weight", "F32", [2, 3], f32), ("scalar", "F64", [], struct.pack("<d", 2.0)),
        ("half", "F16", [2], struct.pack("<2e", 1.0, -2.0)), ("brain", "BF16", [1, 1], b"\x80\x3f"),
        ("empty", "F32", [0, 4], b"")], metadata={"format": "pt"}))
    write("checkpoint", "integers.safetensors", safetensors([("index", "I64", [3], struct.pack("<3q", 1, 2, 3))]))
    write("checkpoint", "unsupported-dtype.safetensors", safetensors([("mask", "BOOL", [2], b"\x01\x00")]))
    write("checkpoint", "bad-header-length.safetensors", safetensors([("x", "F32", [1], f32[:4])], header_length=999))
    state, storages = torch_state()
    write("checkpoint", "state-dict-protocol2.pt", torch_zip(state, storages))
    write("checkpoint", "state-dict-protocol4.pt", torch_zip(state, storages, protocol=4, root="pytorch_model"))
    state, storages = torch_state(("FloatStorage", "DoubleStorage", "BFloat16Storage"), parameter=True)
    write("checkpoint", "parameters-protocol2.pt", torch_zip(state, storages))
    state, storages = torch_state(("HalfStorage",))
    write("checkpoint", "fairseq-model.pt", torch_zip(state, storages, wrap=lambda s: {"model": s, "args": None,
                                                                                         "epoch": 3}))
    write("checkpoint", "zip64.pt", torch_zip(state, storages, zip64=True))
    write("checkpoint", "big-endian.pt", torch_zip(state, storages, byteorder="big"))
    state, storages = torch_state(("ByteStorage",))
    write("checkpoint", "unsupported-storage.pt", torch_zip(state, storages))

    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print("wrote %d files, %d bytes, under %s" % (sum(1 for p in CORPUS.rglob("*") if p.is_file()), total, CORPUS))


if __name__ == "__main__":
    main()
