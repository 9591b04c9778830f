"""PyTorch eager on the same GPU at equal work, the yardstick for ofad's CUDA engine time (issue 10's benchmark).

modelscope's OFA code cannot be imported on the GPU machine (no modelscope there, nothing can be installed), so this
is a plain PyTorch model of OFA-large's shapes and operations: torchvision's ResNet-152 stem and first three stages
(OFA's backbone) on a 480 x 480 image, the patch projection to d = 1024, 12 pre-norm encoder layers over 914 tokens
(16 heads, FFN 4096, GELU) and 12 decoder layers over 13 rows with cross attention, then the output projection of the
last row over the 59457-token vocabulary. OFA's extra LayerNorms, position biases and head scales are left out: a
few per cent of the work. Random weights; fp32 with TF32 off (strict) and with TF32 on. Prints one JSON line.
usage: python3 Tools/device/torch_equal_work.py [--runs 20]"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torchvision


class Layer(nn.Module):
    def __init__(self, d, heads, ffn, cross):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.attention = nn.MultiheadAttention(d, heads, batch_first=True)
        self.cross = nn.MultiheadAttention(d, heads, batch_first=True) if cross else None
        self.norm2 = nn.LayerNorm(d) if cross else None
        self.norm3 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.GELU(), nn.Linear(ffn, d))

    def forward(self, x, memory=None, mask=None):
        h = self.norm1(x)
        x = x + self.attention(h, h, h, attn_mask=mask, need_weights=False)[0]
        if self.cross is not None:
            h = self.norm2(x)
            x = x + self.cross(h, memory, memory, need_weights=False)[0]
        return x + self.ffn(self.norm3(x))


class EqualWork(nn.Module):
    def __init__(self, d=1024, heads=16, ffn=4096, layers=12, vocabulary=59457):
        super().__init__()
        r = torchvision.models.resnet152()
        self.backbone = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3)
        self.project = nn.Linear(1024, d)
        self.embed = nn.Embedding(vocabulary, d)
        self.encoder = nn.ModuleList(Layer(d, heads, ffn, False) for _ in range(layers))
        self.decoder = nn.ModuleList(Layer(d, heads, ffn, True) for _ in range(layers))
        self.output = nn.Linear(d, vocabulary, bias=False)

    def forward(self, image, source, prompt):
        patches = self.backbone(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.project(patches), self.embed(source)], dim=1)
        for layer in self.encoder:
            x = layer(x)
        y = self.embed(prompt)
        rows = prompt.shape[1]
        mask = torch.triu(torch.full((rows, rows), float('-inf'), device=y.device), diagonal=1)
        for layer in self.decoder:
            y = layer(y, memory=x, mask=mask)
        return self.output(y[:, -1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=20)
    args = parser.parse_args()
    device = torch.device('cuda')
    torch.manual_seed(0)
    model = EqualWork().to(device).eval()
    image = torch.randn(1, 3, 480, 480, device=device)
    source = torch.randint(0, 59457, (1, 14), device=device)
    prompt = torch.randint(0, 59457, (1, 13), device=device)
    result = {'model': 'plain PyTorch at equal work (torchvision ResNet-152 stages 1-3, 12 + 12 layers, d 1024)',
              'torch': torch.__version__, 'gpu': torch.cuda.get_device_name(0)}
    for name, tf32 in (('fp32', False), ('tf32', True)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        times = []
        with torch.inference_mode():
            for _ in range(3):
                model(image, source, prompt)
            torch.cuda.synchronize()
            for _ in range(args.runs):
                start = time.perf_counter()
                model(image, source, prompt)
                torch.cuda.synchronize()
                times.append((time.perf_counter() - start) * 1000)
        times.sort()
        result[name] = {'median_ms': times[len(times) // 2], 'min_ms': times[0], 'runs': len(times)}
    print(json.dumps(result))


if __name__ == '__main__':
    main()
