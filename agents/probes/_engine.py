"""The probe loop: every target on its own schedule, bounded concurrency, results into a store.

One asyncio loop in a background thread owns all probes. Each target has a task that sleeps
until its next due time (spread over the first interval so targets do not fire together), waits
for a concurrency slot, runs its probe under the target's timeout and records the result. A
probe that raises is recorded as failed and logged once per target; nothing stops the loop.
Throughput tests additionally take a single slot of their own, so one node never runs two at
once::

    runner = ProbeRunner(section, store)
    runner.start()
    ...
    runner.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from functools import partial

import httpx
import msgspec

from agents.probes._http import probe_http
from agents.probes._icmp import icmp_permitted, probe_icmp
from agents.probes._inventory import PEER_PREFIX, InventorySettings, fetch_peers
from agents.probes._net import split_host_port
from agents.probes._results import FailureReason, ProbeResult, ResultStore
from agents.probes._settings import ProbeKind, ProbesSettings, ProbeTarget
from agents.probes._tcp import probe_tcp
from agents.probes._throughput import ThroughputResponder, probe_throughput
from agents.probes._tls import client_context

__all__ = ["ICMP_FIX", "ProbeRunner", "build_probe"]

#: How to let the agent's group open unprivileged ICMP sockets (docs/reliability.md).
ICMP_FIX = (
    'let the agent\'s group send pings with `sysctl -w net.ipv4.ping_group_range="0 2147483647"` '
    "(persist it in /etc/sysctl.d), or probe the peer with a tcp target for its RTT"
)

_log = logging.getLogger(__name__)

ProbeFn = Callable[[], Awaitable[ProbeResult]]


def _tls_context(target: ProbeTarget) -> ssl.SSLContext:
    return client_context(ca_file=target.ca_file, insecure_skip_verify=target.insecure_skip_verify)


def _with_link(probe: Callable[..., Awaitable[ProbeResult]], target: ProbeTarget) -> ProbeFn:
    return partial(probe, peer=target.peer, peer_site=target.site)


def build_probe(target: ProbeTarget, section: ProbesSettings) -> tuple[ProbeFn, float, float]:
    """Return the probe coroutine factory of a target with its interval and timeout."""
    if target.kind is ProbeKind.THROUGHPUT:
        bounds = section.throughput
        timeout_s = target.timeout_s or bounds.timeout_s
        size_bytes = target.size_bytes or bounds.size_bytes
        download = partial(
            probe_throughput,
            target.name,
            target.address,
            size_bytes=size_bytes,
            timeout_s=timeout_s,
        )
        return _with_link(download, target), target.interval_s or bounds.interval_s, timeout_s
    timeout_s = target.timeout_s or section.timeout_s
    interval_s = target.interval_s or section.interval_s
    probe: Callable[..., Awaitable[ProbeResult]]
    if target.kind is ProbeKind.TCP:
        context = _tls_context(target) if target.tls else None
        probe = partial(probe_tcp, target.name, target.address, tls_context=context)
    elif target.kind is ProbeKind.HTTP:
        # Built for http:// too: a redirect to https must be verified like a direct https URL.
        verify = _tls_context(target)
        probe = partial(
            probe_http,
            target.name,
            target.address,
            method=target.method,
            valid_status_codes=target.valid_status_codes,
            verify=verify,
        )
    else:
        probe = partial(probe_icmp, target.name, target.address.strip("[]"))
    return _with_link(partial(probe, timeout_s=timeout_s), target), interval_s, timeout_s


class ProbeRunner:
    """Run every configured probe on its schedule in a background thread.

    Args:
        section: the probes configuration.
        store: where results go.
        icmp_allowed: whether ICMP targets run (default: ask the kernel once).
        self_node: this node's id, left out of peers found in the inventory.
    """

    def __init__(
        self,
        section: ProbesSettings,
        store: ResultStore,
        *,
        icmp_allowed: bool | None = None,
        self_node: str = "",
    ) -> None:
        self.self_node = self_node
        self.section = section
        self.store = store
        self.icmp_allowed = icmp_permitted() if icmp_allowed is None else icmp_allowed
        self.responder: ThroughputResponder | None = None
        self.responder_address: tuple[str, int] | None = None
        self.errors = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._logged: set[str] = set()
        self._icmp_warned = False

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the loop thread; returns once the responder (if any) listens."""
        self._thread = threading.Thread(target=self._main, name="probes", daemon=True)
        self._thread.start()
        self._started.wait(timeout_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop all probes and the responder (idempotent)."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Exception:
            _log.exception("probe loop crashed")
        finally:
            self._started.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await self._start_responder()
        self._started.set()
        slots = asyncio.Semaphore(self.section.max_concurrency)
        throughput_slot = asyncio.Semaphore(1)
        tasks = {
            target.name: asyncio.create_task(self._target_loop(target, slots, throughput_slot))
            for target in self.section.targets
            if self._should_run(target)
        }
        if self.section.inventory is not None:
            discover = self._discover(self.section.inventory, tasks, slots, throughput_slot)
            tasks[""] = asyncio.create_task(discover)
        await self._stop.wait()
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        if server is not None:
            server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await server.wait_closed()

    async def _discover(
        self,
        inventory: InventorySettings,
        tasks: dict[str, asyncio.Task[None]],
        slots: asyncio.Semaphore,
        throughput_slot: asyncio.Semaphore,
    ) -> None:
        """Keep one TCP target per peer in the API's inventory (none written by hand)."""
        async with httpx.AsyncClient(timeout=self.section.timeout_s) as client:
            while True:
                peers = await fetch_peers(client, self.self_node, inventory)
                if peers is not None:
                    wanted = {peer["name"]: peer for peer in peers}
                    for name in [n for n in tasks if n.startswith(PEER_PREFIX)]:
                        if name not in wanted:
                            tasks.pop(name).cancel()
                    for name, peer in wanted.items():
                        if name not in tasks:
                            target = msgspec.convert(peer, ProbeTarget)
                            loop = self._target_loop(target, slots, throughput_slot)
                            tasks[name] = asyncio.create_task(loop)
                await asyncio.sleep(inventory.refresh_s)

    async def _start_responder(self) -> asyncio.Server | None:
        settings = self.section.throughput
        if not settings.listen:
            return None
        self.responder = ThroughputResponder(
            max_size_bytes=settings.max_size_bytes,
            max_sessions=settings.max_sessions,
            min_gap_s=settings.min_gap_s,
        )
        try:
            host, port = split_host_port(settings.listen)
            server = await self.responder.start(host, port)
        except (OSError, ValueError) as err:
            # Peers lose their throughput measurements to this node; probing goes on.
            self.errors += 1
            _log.warning("throughput responder cannot listen on %s: %s", settings.listen, err)
            self.responder = None
            return None
        sockname = server.sockets[0].getsockname()
        self.responder_address = (str(sockname[0]), int(sockname[1]))
        _log.info("throughput responder listening on %s:%d", *self.responder_address)
        return server

    def _should_run(self, target: ProbeTarget) -> bool:
        # Every target runs: one that cannot be measured here reports why, each interval.
        if target.kind is ProbeKind.ICMP and not self.icmp_allowed:
            self._warn_icmp_not_permitted()
        return True

    def _warn_icmp_not_permitted(self) -> None:
        if self._icmp_warned:  # once per agent, not per target
            return
        self._icmp_warned = True
        _log.warning(
            "ICMP probes cannot run: this host does not let the agent open an unprivileged ICMP "
            "socket; they report continuum_probe_success 0 with failure reason %r until it does. "
            "Fix: %s",
            FailureReason.NOT_PERMITTED,
            ICMP_FIX,
        )

    def _not_permitted(self, target: ProbeTarget) -> ProbeFn:
        async def probe() -> ProbeResult:
            return ProbeResult(
                target=target.name,
                kind=str(target.kind),
                success=False,
                duration_s=0.0,
                peer=target.peer,
                peer_site=target.site,
                failure=FailureReason.NOT_PERMITTED,
                detail=f"unprivileged ICMP is not permitted: {ICMP_FIX}",
            )

        return probe

    # -- one target ----------------------------------------------------------------------

    async def _target_loop(
        self,
        target: ProbeTarget,
        slots: asyncio.Semaphore,
        throughput_slot: asyncio.Semaphore,
    ) -> None:
        try:
            probe, interval_s, timeout_s = build_probe(target, self.section)
        except (OSError, ValueError) as err:  # e.g. a CA bundle that does not load
            self.errors += 1
            _log.error("target %s cannot be probed and is skipped: %s", target.name, err)
            return
        if target.kind is ProbeKind.ICMP and not self.icmp_allowed:
            probe = self._not_permitted(target)
        # Spread first runs over the interval, stably per name, so targets do not fire together.
        offset_s = (zlib.crc32(target.name.encode()) % 1000) / 1000 * min(interval_s, 5.0)
        next_due = time.monotonic() + offset_s
        is_throughput = target.kind is ProbeKind.THROUGHPUT
        while True:
            await asyncio.sleep(max(0.0, next_due - time.monotonic()))
            next_due += interval_s
            if is_throughput:
                async with throughput_slot, slots:
                    result = await self._run_one(target, probe, timeout_s)
            else:
                async with slots:
                    result = await self._run_one(target, probe, timeout_s)
            self.store.put(result)
            now = time.monotonic()
            if next_due < now:  # overran: skip missed runs rather than bursting to catch up
                next_due = now + interval_s

    async def _run_one(self, target: ProbeTarget, probe: ProbeFn, timeout_s: float) -> ProbeResult:
        started = time.perf_counter()
        failure: str
        try:
            # Probes enforce their own timeouts; this outer bound catches any that do not.
            async with asyncio.timeout(timeout_s + 1.0):
                result = await probe()
        except TimeoutError:
            failure, detail = FailureReason.TIMEOUT, "probe overran its timeout"
        except PermissionError as err:  # the host refused the agent the socket it needs
            failure, detail = FailureReason.NOT_PERMITTED, f"{type(err).__name__}: {err}"
        except Exception as err:
            self.errors += 1
            failure, detail = FailureReason.ERROR, f"{type(err).__name__}: {err}"
        else:
            if result.failure == FailureReason.NOT_PERMITTED:
                pass  # warned once for the whole agent, with the fix
            elif not result.success:
                self._log_once(target.name, f"probe {target.name} failed: {result.detail}")
            else:
                self._logged.discard(target.name)
            return result
        self._log_once(target.name, f"probe {target.name} failed: {detail}")
        return ProbeResult(
            target=target.name,
            kind=str(target.kind),
            success=False,
            duration_s=time.perf_counter() - started,
            peer=target.peer,
            peer_site=target.site,
            failure=failure,
            detail=detail,
        )

    def _log_once(self, key: str, message: str) -> None:
        # One line when a target starts failing, one more after it recovered and failed again.
        if key not in self._logged:
            self._logged.add(key)
            _log.warning(message)
