"""Moving a task's data: its inputs in before it runs, its outputs out after.

An input dataset that names where copies are (``urls``: peers' data servers and stores, as the
pull executor resolved them from the data catalogue) is fetched into the node's data directory
unless the node already holds it; the fetch crosses the node's own link, so a shaped edge link
makes it slow as it would be. An output, a dataset the task returned with a local ``path``, is
moved into the data directory and offered to peers from this node's data server, and put in the
store when one is configured (the only way out for a node behind NAT)::

    data = TaskData("edge-1", DataDirectory(workdir / "data"), settings.data)
    fetched = data.stage_in(datasets_in(assignment.args))
    value, published = data.publish(outcome.value, inputs=..., workdir=workdir)
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from agents.worker._data import DataDirectory, DataError, fetch, push
from agents.worker._settings import DataSettings
from scheduler_api.workflow._dsl import Dataset
from scheduler_api.workflow._wire import data_url, map_datasets

__all__ = ["TaskData"]

_log = logging.getLogger(__name__)


class TaskData:
    """A node's side of task data: fetch inputs, publish outputs.

    Args:
        node: this node's id (recorded as the holder of what it publishes).
        held: its data directory.
        settings: the ``worker.data`` keys (where it serves, the store, token, CA).
    """

    def __init__(self, node: str, held: DataDirectory, settings: DataSettings) -> None:
        self.node = node
        self.held = held
        self.settings = settings
        if not settings.base_url and not settings.store_url:
            _log.warning(
                "worker.data has neither listen nor store_url: outputs of tasks on %s stay "
                "on this node, and tasks placed elsewhere cannot read them",
                node,
            )

    def _token(self) -> str | None:
        try:
            return self.settings.token()
        except OSError as err:
            raise DataError(
                f"worker.data.token_file {self.settings.token_file}: {err.strerror}"
            ) from err
        except ValueError as err:
            raise DataError(str(err)) from err

    def _held(self, dataset: Dataset) -> bool:
        """Whether this node holds a copy of ``dataset`` (of its size, when that is known)."""
        path = self.held.path(dataset.dataset_id)
        if not path.is_file():
            return False
        return not dataset.size_bytes or path.stat().st_size == dataset.size_bytes

    def stage_in(self, inputs: Sequence[Dataset]) -> int:
        """Fetch each input that names its copies and is not held here; bytes fetched.

        A dataset without ``urls`` is left to the task (its ``path`` is the task's business:
        a shared file system, a URL of its own), and so is one no location could serve whose
        ``path`` is a file here (a dataset catalogued on this node, not published by a worker).
        A held copy of another size than the dataset's is stale and fetched again.

        Raises:
            DataError: no copy of an input could be fetched (each location's failure said).
        """
        fetched = 0
        for dataset in inputs:
            if not dataset.urls or self._held(dataset):
                continue
            failures = []
            for url in dataset.urls:
                try:
                    fetched += fetch(
                        url,
                        self.held.path(dataset.dataset_id),
                        token=self._token(),
                        ca_file=self.settings.ca_file,
                    )
                    break
                except DataError as err:
                    failures.append(str(err))
            else:
                if dataset.path and Path(dataset.path).is_file():
                    _log.info(
                        "input %s: no copy fetched (%s); the task reads %s",
                        dataset.dataset_id, "; ".join(failures), dataset.path,
                    )  # fmt: skip
                    continue
                raise DataError(
                    f"input {dataset.dataset_id}: no copy could be fetched: " + "; ".join(failures)
                )
        return fetched

    def publish(self, value: Any, *, inputs: Collection[str], workdir: Path) -> tuple[Any, int]:
        """Publish the outputs in a finished task's wire ``value``.

        Returns:
            The value with each output naming this node and its URLs, and the bytes put in
            the store.

        Raises:
            DataError: an output is not a file, or a node that serves nothing could not put
                it in the store (then no one else could ever read it).
        """
        published = 0

        def out(dataset: Dataset) -> Dataset:
            nonlocal published
            if dataset.dataset_id in inputs or not dataset.path:
                return dataset  # an input handed on, or a dataset the task only names
            source = Path(dataset.path)
            if not source.is_absolute():
                source = workdir / source  # relative to the attempt's working directory
            size = self.held.adopt(source, dataset.dataset_id, move=self._owned(source, workdir))
            urls = []
            if self.settings.base_url:
                urls.append(data_url(self.settings.base_url, dataset.dataset_id))
            if self.settings.store_url:
                store = data_url(self.settings.store_url, dataset.dataset_id)
                try:
                    published += push(
                        self.held.path(dataset.dataset_id),
                        store,
                        token=self._token(),
                        ca_file=self.settings.ca_file,
                    )
                    urls.append(store)
                except DataError as err:
                    if not urls:
                        raise
                    _log.warning(
                        "output %s stays on %s only: %s", dataset.dataset_id, self.node, err
                    )
            return dataclasses.replace(
                dataset, size_bytes=size, nodes=(self.node,), path="", urls=tuple(urls)
            )

        return map_datasets(value, out), published

    def _owned(self, source: Path, workdir: Path) -> bool:
        """Whether a task's output file is the worker's to move: one the attempt wrote in the
        working directory, not a shared file or another dataset's copy, which are copied."""
        resolved = source.resolve()
        return resolved.is_relative_to(workdir.resolve()) and not resolved.is_relative_to(
            self.held.root.resolve()
        )
