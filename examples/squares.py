"""Squares computed in parallel, then summed.

Run it as it is (this machine alone)::

    python examples/squares.py

or placed by monitoring, with a schedule chart::

    continuum run examples/squares.py --heuristic lpt --executor local
"""

from __future__ import annotations

import time

from scheduler_api.workflow import constraint, task, wait_on


@task(work_s=0.2)
def square(x: int) -> int:
    time.sleep(0.2)  # stands in for real work
    return x * x


@constraint(cpu_cores=1, memory="64M")
@task(work_s=0.01)
def total(*values: int) -> int:
    return sum(values)


def main(count: int = 10) -> int:
    result: int = wait_on(total(*[square(i) for i in range(count)]))
    return result


if __name__ == "__main__":
    print(main())
