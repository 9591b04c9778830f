#!/usr/bin/env python3
"""Time the PyTorch reference (modelscope OFA) on one visual-entailment query; print one JSON line.

    $HOME/.cache/ofa-refenv/venv/bin/python Tools/benchmarks/reference_benchmark.py MODEL_DIR --threads 2

MODEL_DIR is a modelscope OFA model directory (e.g. the random OFA-large one made by
`Tools/fixtures/make_engine_fixtures.py --large Fixtures-large` → Fixtures-large/ofa-large-random).
The query: a deterministic 480x480 patch tensor (the one in goldens-large) and the hypothesis
"there are two birds."; preprocessing is not timed. Two ways are timed (median after warm-ups):
  traverse   modelscope's OfaForAllTasks._traverse_inference: encoder, then per candidate answer one decoder
             pass on prompt+answer (3 passes, cross-attention K/V recomputed each time)
  one_pass   encoder + ONE decoder pass on the prompt, restricted softmax over the answer logits
With --autocast-bf16 the one pass is also timed under torch.autocast('cpu', dtype=torch.bfloat16)
(one_pass_bf16_autocast). gemm_gflops: the float32 product rate of torch.mm and of numpy's OpenBLAS, and torch's
bfloat16 rate, on 914 x 1024 . 1024 x 4096 (OFA-large's feed-forward), best of 10, in the same process.
Peak RSS: ru_maxrss of this process, and of a fresh process (started first) that only loads and runs each
query once. load_s is OfaForAllTasks construction; transformers maps the weights lazily, so the first query
(first_traverse_s) also pays for paging them in. The load average is printed: on a shared machine, compare
only runs made back to back."""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'fixtures'))

HYPOTHESIS = 'there are two birds.'
EXPECT_IDS = [0, 473, 5, 2274, 6190, 22, 89, 32, 80, 7723, 4, 22, 116, 2]
PATCH_SEED = 4242 + 7          # make_engine_fixtures.py: LARGE_SEED + 7, first draw = goldens-large birds.patch_image


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: KiB


def load(model_dir):
    """The reference task model, as the modelscope pipeline builds it. Falls back to OFAModel + the same
    traverse code (refenv.TraverseScorer) if OfaForAllTasks cannot be constructed here."""
    import refenv
    ref = refenv.import_reference()
    t0 = time.perf_counter()
    try:
        task = ref.OfaForAllTasks(str(model_dir))
        task.eval()
        kind = 'OfaForAllTasks'
        traverse = task._traverse_inference
        model, tokenizer = task.model, task.tokenizer
        answer_ids = [int(a[0]) for chunk in task.val_ans_l for a in chunk]
    except Exception as e:  # noqa: BLE001
        print('OfaForAllTasks failed ({}: {}); using OFAModel + TraverseScorer'.format(type(e).__name__, e),
              file=sys.stderr)
        model = ref.OFAModel.from_pretrained(str(model_dir))
        model.eval()
        tokenizer = refenv.make_tokenizer(ref, model_dir, add_code_bin_tokens=True)
        scorer = refenv.TraverseScorer(ref, model, tokenizer)
        kind = 'OFAModel+TraverseScorer'
        traverse = lambda batch: dict(zip(('labels', 'scores'), scorer(batch)[:2]))  # noqa: E731
        answer_ids = scorer.answer_ids
    load_s = time.perf_counter() - t0
    return ref, refenv, kind, load_s, model, tokenizer, traverse, answer_ids


def make_query(ref, refenv, tokenizer, image_size):
    import torch
    src = refenv.tokenize_source(tokenizer, refenv.source_text(ref, HYPOTHESIS))
    if image_size == 480:
        assert src.tolist() == EXPECT_IDS, src.tolist()
    img = refenv.patch_tensor(torch.Generator().manual_seed(PATCH_SEED), image_size)
    batch, _ = refenv.collate(ref, [refenv.make_sample(src, img)])
    return batch, src, img


def one_pass(model, src, img, answer_ids):
    """Encoder + one decoder pass on the prompt (source without eos); restricted softmax at its last row."""
    import torch
    from modelscope.models.multi_modal.ofa.utils.utils import expand_mask
    enc = model.encoder(input_ids=src[None], patch_images=img[None], patch_masks=torch.tensor([True]))
    dp = src[:-1][None]
    dec = model.decoder(dp, encoder_hidden_states=enc.last_hidden_state,
                        encoder_attention_mask=expand_mask(enc.padding_mask, enc.last_hidden_state.dtype, dp.shape[1]),
                        src_pos_embed=enc.position_embedding)
    z = dec.last_hidden_state[0, -1, answer_ids]
    return torch.softmax(torch.log_softmax(z, -1), -1)


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return {'median_ms': round(statistics.median(times), 1), 'min_ms': round(min(times), 1),
            'all_ms': [round(t, 1) for t in times]}


def gemm_rates():
    import numpy
    import torch
    a, b = torch.randn(914, 1024), torch.randn(1024, 4096)
    flop = 2 * 914 * 1024 * 4096

    def best(fn):
        fn()
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return round(flop / min(times) / 1e9, 1)
    na, nb = a.numpy(), b.numpy()
    ab, bb = a.bfloat16(), b.bfloat16()
    return {'torch_fp32': best(lambda: torch.mm(a, b)), 'numpy_openblas_fp32': best(lambda: na @ nb),
            'torch_bf16': best(lambda: torch.mm(ab, bb))}


def vm_hwm_mb():
    """Peak RSS of this process image from /proc (VmHWM; reset at exec, unlike ru_maxrss)."""
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def fresh_process(args):
    """Load + one query of each kind in a new process, started before this one has imported torch (Linux
    carries ru_maxrss across fork/exec, so a child of a big parent would report the parent's peak)."""
    cmd = [sys.executable, __file__, args.model_dir, '--threads', str(args.threads), '--child']
    child = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in child.stdout.splitlines() if ln.startswith('{')]
    if child.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {'error': child.stderr[-800:]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model_dir')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--no-fresh', action='store_true', help='skip the fresh-process peak RSS measurement')
    ap.add_argument('--autocast-bf16', action='store_true', help='also time the one pass under bf16 autocast')
    ap.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = ap.parse_args()
    fresh = None if (args.child or args.no_fresh) else fresh_process(args)
    import torch
    torch.set_num_threads(args.threads)
    import transformers
    transformers.logging.set_verbosity_error()

    load_avg_start = os.getloadavg()
    ref, refenv, kind, load_s, model, tokenizer, traverse, answer_ids = load(args.model_dir)
    cfg = json.loads((Path(args.model_dir) / 'configuration.json').read_text())
    size = cfg['model'].get('patch_image_size', 480)
    batch, src, img = make_query(ref, refenv, tokenizer, size)
    rss_after_load = rss_mb()
    with torch.no_grad():
        t0 = time.perf_counter()
        result = traverse(batch)
        first_query_s = time.perf_counter() - t0
        probs = one_pass(model, src, img, answer_ids)
        if args.child:
            print(json.dumps({'peak_rss_mb': round(rss_mb(), 1), 'vm_hwm_mb': vm_hwm_mb(),
                              'rss_after_load_mb': round(rss_after_load, 1)}))
            return
        t_traverse = timed(lambda: traverse(batch), args.warmup, args.repeats)
        t_one = timed(lambda: one_pass(model, src, img, answer_ids), args.warmup, args.repeats)
        if args.autocast_bf16:
            def autocast_pass():
                with torch.autocast('cpu', dtype=torch.bfloat16):
                    return one_pass(model, src, img, answer_ids)
            t_autocast = timed(autocast_pass, args.warmup, args.repeats)
    out = {
        'model_dir': str(Path(args.model_dir).resolve()), 'reference': kind, 'threads': args.threads,
        'torch': torch.__version__, 'patch_image_size': size, 'L': src.numel(),
        'load_s': round(load_s, 2), 'first_traverse_s': round(first_query_s, 2),
        'traverse': t_traverse, 'one_pass': t_one, 'gemm_gflops': gemm_rates(),
        'label': result['labels'][0], 'score': result['scores'][0],
        'probabilities': [round(float(p), 6) for p in probs],
        'rss_after_load_mb': round(rss_after_load, 1), 'peak_rss_mb': round(rss_mb(), 1),
        'load_avg_start': [round(x, 2) for x in load_avg_start],
        'load_avg_end': [round(x, 2) for x in os.getloadavg()],
    }
    if args.autocast_bf16:
        out['one_pass_bf16_autocast'] = t_autocast
    if fresh is not None:
        if 'error' in fresh:
            out['fresh_process_error'] = fresh['error']
        else:
            out['fresh_process_peak_rss_mb'] = fresh['peak_rss_mb']
            out['fresh_process_vm_hwm_mb'] = fresh['vm_hwm_mb']
            out['fresh_process_rss_after_load_mb'] = fresh['rss_after_load_mb']
    print(json.dumps(out))


if __name__ == '__main__':
    main()
