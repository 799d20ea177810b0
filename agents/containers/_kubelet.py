"""Pod names and namespaces from the kubelet's ``/pods`` endpoint, for pods the runtime's files
do not name (its state not mounted into the agent, or a runtime without readable metadata).

The pod list is fetched when a pod uid or container id is not known yet, at most once per
``refresh_s``; a kubelet that cannot be reached leaves the identity as the cgroup path gives it
(logged once, counted)::

    kubelet = KubeletPods("https://127.0.0.1:10250/pods", token_file=Path(".../token"))
    kubelet.pod("0f1e...")            # ("web-0", "shop") or None
    kubelet.container("abc...")       # ("nginx", "docker.io/library/nginx:1.27") or None
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

__all__ = ["KubeletPods"]

_log = logging.getLogger(__name__)

DEFAULT_REFRESH_S = 30.0
DEFAULT_TIMEOUT_S = 2.0


def _strip_runtime(container_id: str) -> str:
    """``containerd://<id>`` (or ``docker://``, ``cri-o://``) to the bare id."""
    return container_id.rpartition("://")[2]


class KubeletPods:
    """A cached view of the pods the kubelet runs.

    Args:
        url: the kubelet's pod list (``https://127.0.0.1:10250/pods``).
        token_file: a bearer token (the service account's) sent with each request.
        verify: TLS verification: an SSL context (with the kubelet's CA), ``True`` or ``False``.
        refresh_s: the least time between two fetches.
        timeout_s: per request; keep it well under the collector's budget.
        transport: an httpx transport (tests inject a mock).
        clock: monotonic seconds (tests inject one).
    """

    def __init__(
        self,
        url: str,
        *,
        token_file: Path | None = None,
        verify: ssl.SSLContext | bool = True,
        refresh_s: float = DEFAULT_REFRESH_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._token_file = token_file
        self._refresh_s = refresh_s
        self._clock = clock
        self._client = httpx.Client(timeout=timeout_s, verify=verify, transport=transport)
        self._pods: dict[str, tuple[str, str]] = {}
        self._containers: dict[str, tuple[str, str | None]] = {}
        self._fetched_at: float | None = None
        self._failing = False
        #: Fetches that failed (unreachable, refused, not JSON).
        self.errors = 0

    def pod(self, uid: str) -> tuple[str, str] | None:
        """(name, namespace) of the pod with this uid, if the kubelet runs it."""
        if uid not in self._pods:
            self._refresh()
        return self._pods.get(uid)

    def container(self, container_id: str) -> tuple[str, str | None] | None:
        """(name, image) of a container, if the kubelet reports it."""
        if container_id not in self._containers:
            self._refresh()
        return self._containers.get(container_id)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def _refresh(self) -> None:
        now = self._clock()
        if self._fetched_at is not None and now - self._fetched_at < self._refresh_s:
            return
        self._fetched_at = now
        headers = {}
        if self._token_file is not None:
            try:
                headers["Authorization"] = f"Bearer {self._token_file.read_text().strip()}"
            except OSError as err:
                self._fail(f"cannot read the kubelet token {self._token_file}: {err}")
                return
        try:
            response = self._client.get(self._url, headers=headers)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as err:
            self._fail(f"cannot list pods from the kubelet at {self._url}: {err}")
            return
        self._load(body)
        if self._failing:
            self._failing = False
            _log.info("kubelet pod list at %s is readable again", self._url)

    def _fail(self, message: str) -> None:
        self.errors += 1
        if not self._failing:
            self._failing = True
            _log.warning("%s; pods keep their uid only (counted, retried)", message)

    def _load(self, body: Any) -> None:
        pods: dict[str, tuple[str, str]] = {}
        containers: dict[str, tuple[str, str | None]] = {}
        items = body.get("items") if isinstance(body, dict) else None
        for item in items if isinstance(items, list) else ():
            meta = item.get("metadata") if isinstance(item, dict) else None
            if not isinstance(meta, dict) or not isinstance(meta.get("uid"), str):
                continue
            pods[meta["uid"]] = (str(meta.get("name", "")), str(meta.get("namespace", "")))
            status = item.get("status")
            statuses = status.get("containerStatuses") if isinstance(status, dict) else None
            for entry in statuses if isinstance(statuses, list) else ():
                if isinstance(entry, dict) and isinstance(entry.get("containerID"), str):
                    image = entry.get("image")
                    containers[_strip_runtime(entry["containerID"])] = (
                        str(entry.get("name", "")),
                        image if isinstance(image, str) else None,
                    )
        self._pods = pods
        self._containers = containers
