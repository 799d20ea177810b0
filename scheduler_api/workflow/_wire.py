"""Task arguments and results as JSON, with the datasets in them kept as datasets.

Arguments travel to pull-mode workers, and results back, as JSON. A :class:`Dataset` inside
them is marked (``{"__dataset__": {...}}``) so that the worker can stage it, the task gets a
``Dataset`` again, and the executor sees which datasets a result published::

    wire = to_wire((Dataset("reads", urls=("http://10.213.1.2:9470/v1/data/reads",)), 3))
    [reads] = datasets_in(wire)
    from_wire(wire)   # [Dataset('reads', ...), 3]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from scheduler_api.workflow._dsl import Dataset
from scheduler_api.workflow._events import EventError

__all__ = ["DATA_PATH", "data_url", "datasets_in", "from_wire", "map_datasets", "to_wire"]

#: Where a data server (a worker's, or a store) offers dataset ``<id>``: ``<base>/v1/data/<id>``.
DATA_PATH = "/v1/data/"
_MARK = "__dataset__"
_TUPLES = ("nodes", "sites", "urls")


def data_url(base: str, dataset_id: str) -> str:
    """The URL of ``dataset_id`` on the data server at ``base`` (``http://host:port``)."""
    return base.rstrip("/") + DATA_PATH + dataset_id


def to_wire(value: Any) -> Any:
    """``value`` with each dataset in it (in lists, tuples, dicts) as its marked mapping."""
    if isinstance(value, Dataset):
        return {_MARK: dataclasses.asdict(value)}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    return value


def _dataset(fields: dict[str, Any]) -> Dataset:
    """A marked dataset back as a ``Dataset``.

    Raises:
        EventError: the mark holds no ``dataset_id`` string or its lists are not lists.
    """
    known = {f.name for f in dataclasses.fields(Dataset)}
    if not isinstance(fields.get("dataset_id"), str):
        raise EventError(f"a dataset on the wire has no dataset_id: {str(fields)[:200]}")
    for key in _TUPLES:
        if not isinstance(fields.get(key, []), list | tuple):
            raise EventError(f"dataset {fields['dataset_id']}: {key} is not a list")
    given: dict[str, Any] = {
        k: tuple(v) if k in _TUPLES else v for k, v in fields.items() if k in known
    }
    return Dataset(**given)


def map_datasets(value: Any, change: Callable[[Dataset], Dataset]) -> Any:
    """A wire value with each marked dataset replaced by ``change(dataset)``, still marked."""
    if isinstance(value, dict):
        if set(value) == {_MARK} and isinstance(value[_MARK], dict):
            return to_wire(change(_dataset(value[_MARK])))
        return {key: map_datasets(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [map_datasets(item, change) for item in value]
    return value


def datasets_in(value: Any) -> list[Dataset]:
    """Every dataset marked inside a wire value, in order."""
    found: list[Dataset] = []

    def keep(dataset: Dataset) -> Dataset:
        found.append(dataset)
        return dataset

    map_datasets(value, keep)
    return found


def from_wire(value: Any, change: Callable[[Dataset], Dataset] | None = None) -> Any:
    """A wire value as the task (or the workflow) sees it: marked datasets as ``Dataset``s,
    each passed through ``change`` first when given."""
    if isinstance(value, dict):
        if set(value) == {_MARK} and isinstance(value[_MARK], dict):
            dataset = _dataset(value[_MARK])
            return change(dataset) if change is not None else dataset
        return {key: from_wire(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [from_wire(item, change) for item in value]
    return value
