#!/usr/bin/env python3
"""Time modelscope's own visual-entailment pipeline, `pipeline(Tasks.visual_entailment, model=DIR)`, end to end on
image files (decode, resize, normalise, encoder, the traverse decoder passes); print one JSON line. With
--autocast-bf16 every call runs under torch.autocast('cpu', dtype=torch.bfloat16), PyTorch's own bf16 mode.

    $HOME/.cache/ofa-refenv/venv/bin/python Tools/benchmarks/pipeline_benchmark.py MODEL_DIR IMAGE... \
        [--threads 2] [--warmup 1] [--autocast-bf16]

Needs the pipeline's extra imports (make_pipeline_fixtures.py --install-deps). Each image is queried once after the
warm-up queries (on the first image), so every timed call sees a new image, as `ofactl predict` does in
end_to_end.sh."""
import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'fixtures'))
HYPOTHESIS = 'there are two birds.'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model_dir')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--autocast-bf16', action='store_true')
    arguments = parser.parse_args()
    import make_pipeline_fixtures as fixtures
    pipeline, Tasks, _ = fixtures.import_pipeline(fixtures.DEFAULT_DEPS)
    import torch
    torch.set_num_threads(arguments.threads)
    with tempfile.TemporaryDirectory() as work:
        # pipeline() may write into the model directory; give it a copy made of links.
        directory = Path(work) / 'model'
        directory.mkdir()
        for item in Path(arguments.model_dir).iterdir():
            (directory / item.name).symlink_to(item.resolve())
        start = time.perf_counter()
        p = pipeline(Tasks.visual_entailment, model=str(directory))
        load_s = time.perf_counter() - start
        mode = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if arguments.autocast_bf16 \
            else contextlib.nullcontext
        with torch.no_grad():
            for _ in range(arguments.warmup):
                with mode():
                    p({'image': arguments.images[0], 'text': HYPOTHESIS})
            times, labels = [], []
            for image in arguments.images:
                start = time.perf_counter()
                with mode():
                    output = p({'image': image, 'text': HYPOTHESIS})
                times.append(time.perf_counter() - start)
                labels.append(output['labels'])
    print(json.dumps({
        'reference': 'modelscope pipeline(Tasks.visual_entailment)', 'autocast_bf16': arguments.autocast_bf16,
        'threads': arguments.threads, 'load_s': round(load_s, 2), 'median_s': round(statistics.median(times), 4),
        'all_s': [round(t, 4) for t in times], 'labels': labels, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
