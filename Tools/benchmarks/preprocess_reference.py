#!/usr/bin/env python3
"""The reference preprocessing, timed the same way as ofa-preprocess-benchmark (median of K runs):
modelscope load_image (Image.open -> ImageOps.exif_transpose -> convert('RGB')) -> resize((N, N), BICUBIC)
-> ToTensor -> Normalize(0.5, 0.5), written as torchvision does it (torch when installed, else numpy).
usage: preprocess_reference.py [--size N] [--iterations K] [--vocab DIR] [--make-images DIR] IMAGE..."""
import argparse
import io
import os
import time

import numpy as np
import PIL
from PIL import Image, ImageOps

try:
    import torch
except ImportError:
    torch = None


def to_tensor_normalized(img):
    if torch is not None:  # torchvision.transforms.functional.to_tensor + normalize
        t = torch.from_numpy(np.array(img, np.uint8, copy=True)).view(img.size[1], img.size[0], 3)
        t = t.permute((2, 0, 1)).contiguous().to(dtype=torch.float32).div(255)
        mean = torch.as_tensor([0.5, 0.5, 0.5], dtype=torch.float32).view(-1, 1, 1)
        return t.sub_(mean).div_(mean)
    x = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
    return (x - np.float32(0.5)) / np.float32(0.5)


def median_ms(fn, k):
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2] * 1000


def make_images(directory):
    """The benchmark JPEGs: smooth gradients with noise, quality 90, 4:2:0 (a phone photo's layout)."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(0)
    for w, h in [(640, 480), (4000, 3000)]:
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        rgb = np.stack([128 + 100 * np.sin(x / w * 6.3), 128 + 100 * np.cos(y / h * 4.1),
                        128 + 60 * np.sin((x + y) / 17.0)], axis=-1) + rng.integers(-20, 21, size=(h, w, 3))
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(os.path.join(directory, f"bench-{w}x{h}.jpg"),
                                                                      quality=90)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--vocab")
    parser.add_argument("--make-images")
    parser.add_argument("images", nargs="*")
    args = parser.parse_args()
    if args.make_images:
        make_images(args.make_images)
    n = args.size
    for path in args.images:
        data = open(path, "rb").read()
        load = lambda: ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        img = load()
        decode = median_ms(load, args.iterations)
        resize = median_ms(lambda: img.resize((n, n), Image.BICUBIC), args.iterations)
        total = median_ms(lambda: to_tensor_normalized(load().resize((n, n), Image.BICUBIC)), args.iterations)
        print(f"pillow {os.path.basename(path)} {img.width}x{img.height} -> {n}: decode {decode:.2f} ms, "
              f"resize {resize:.2f} ms, total (decode+orient+resize+normalise) {total:.2f} ms "
              f"[Pillow {PIL.__version__}{', torch ' + torch.__version__ if torch else ', numpy'}]")
    if args.vocab:
        from transformers import BartTokenizer
        import re
        tok = BartTokenizer(os.path.join(args.vocab, "vocab.json"), os.path.join(args.vocab, "merges.txt"))
        tok.add_tokens(["<code_{}>".format(i) for i in range(8192)])
        tok.add_tokens(["<bin_{}>".format(i) for i in range(1000)])

        def pre_caption(c, m=256):
            c = c.lower().lstrip(",.!?*#:;~").replace("-", " ").replace("/", " ").replace("<person>", "person")
            c = re.sub(r"\s{2,}", " ", c).rstrip("\n").strip(" ")
            w = c.split(" ")
            return " ".join(w[:m]) if len(w) > m else c

        sentences = ["A man, in a red-shirt, is riding a bike!!", "there are two birds.",
                     "It's 3:30 p.m. and they're   at the café"]

        def run():
            for s in sentences:
                text = ' can image and text1 " {} " imply text2 " {} "?'.format(pre_caption("there are two dogs."),
                                                                                 pre_caption(s))
                [0] + tok(text, max_length=256, add_special_tokens=False, truncation=True)["input_ids"] + [2]
        print(f"python text: {len(sentences)} prompts (premise + hypothesis) "
              f"{median_ms(run, args.iterations) / len(sentences):.3f} ms per prompt (warm cache)")


if __name__ == "__main__":
    main()
