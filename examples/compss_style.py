"""A PyCOMPSs-style program as its users write it: a list split into parts, each part squared in
a parallel task, then summed in a task that depends on them all.

The decorators are the ones PyCOMPSs programs use (``@task(returns=int)``, ``@constraint``),
with a storage hint on top; the parts' futures reach the sum inside a list (a collection).
Run it as it is, or placed by monitoring with any executor::

    python examples/compss_style.py
    continuum run examples/compss_style.py --executor local
    continuum run examples/compss_style.py --executor ray
    continuum run examples/compss_style.py --executor pull   # a `continuum agent worker` per node
"""

from __future__ import annotations

from scheduler_api.workflow import constraint, depends, storage, task, wait_on


@storage("memory")
@constraint(cpu_cores=2, memory="2G", disk="10G", network=True)
@task(returns=int)
def square_part(part: list[int]) -> int:
    return sum(value * value for value in part)


@depends(square_part)
@task(returns=int)
def add_up(partials: list[int]) -> int:
    return sum(partials)


def split(values: list[int], parts: int) -> list[list[int]]:
    """``values`` cut into ``parts`` pieces of nearly equal length, in order."""
    size, extra = divmod(len(values), parts)
    pieces, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        pieces.append(values[start:end])
        start = end
    return pieces


def main(count: int = 100, parts: int = 4) -> int:
    partials = [square_part(piece) for piece in split(list(range(1, count + 1)), parts)]
    total: int = wait_on(add_up(partials))
    return total


if __name__ == "__main__":
    print(main())
