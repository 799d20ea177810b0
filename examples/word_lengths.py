"""Word statistics over text chunks: dataset parameters, constraints, explicit order.

Each chunk is a ``Dataset`` (placement counts the cost of reading it where it lives), counting
needs a little memory, and the report waits on a cleanup task it shares no data with
(``@depends``). Run it as it is, or placed by monitoring::

    python examples/word_lengths.py
    continuum run examples/word_lengths.py --heuristic heft
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

from scheduler_api.workflow import Dataset, constraint, depends, task, wait_on

TEXT = "the quick brown fox jumps over the lazy dog while the cat sleeps in the warm sun " * 50


@task(work_s=0.05, output_bytes="4K")
def write_chunk(folder: str, index: int, text: str) -> Dataset:
    path = Path(folder) / f"chunk-{index}.txt"
    path.write_text(text)
    return Dataset(f"chunk-{index}", size_bytes=len(text), path=str(path))


@constraint(cpu_cores=1, memory="64M")
@task(work_s=0.1, output_bytes="1K")
def count_lengths(chunk: Dataset) -> dict[int, int]:
    words = Path(chunk.path).read_text().split()
    return dict(Counter(len(word) for word in words))


@task(work_s=0.01)
def merge(*counts: dict[int, int]) -> dict[int, int]:
    total: Counter[int] = Counter()
    for count in counts:
        total.update(count)
    return dict(sorted(total.items()))


@task(work_s=0.01)
def clean(folder: str) -> int:
    removed = 0
    for path in Path(folder).glob("chunk-*.txt"):
        path.unlink()
        removed += 1
    return removed


@depends(clean)
@task(work_s=0.01)
def report(histogram: dict[int, int]) -> str:
    return ", ".join(f"{length}: {count}" for length, count in histogram.items())


def main(chunks: int = 4) -> str:
    folder = tempfile.mkdtemp(prefix="word-lengths-")
    words = TEXT.split()
    step = len(words) // chunks
    pieces = [" ".join(words[i * step : (i + 1) * step]) for i in range(chunks)]
    # The chunks exist on this machine once written: wait for them, then pass them as datasets.
    datasets = wait_on([write_chunk(folder, i, piece) for i, piece in enumerate(pieces)])
    histogram = merge(*[count_lengths(chunk) for chunk in datasets])
    wait_on(histogram)
    clean(folder)
    summary: str = wait_on(report(histogram))
    os.rmdir(folder)
    return summary


if __name__ == "__main__":
    print(main())
