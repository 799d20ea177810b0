"""Record templates: a steady node's next export decoded by one ``struct`` call.

A node agent's consecutive exports carry the same resources, metrics and attributes; only the
data points' timestamps and values change, and OTLP encodes both in fixed-width fields
(``time_unix_nano`` is ``fixed64``, ``as_double`` a ``double``, ``as_int`` an ``sfixed64``).
Two such records have the same length and the same bytes everywhere else, so everything the
decoder decided from those bytes (node, identity labels, metric names, kinds, units, each
point's series or drop reason) holds for the next record too. Walking the protobuf objects
costs about 3 µs a point in Python; a template match costs one ``struct`` unpack per record::

    cache = TemplateCache()
    matched = cache.match(key, payload, generation)   # (template, fields), or None: decode
    ...
    if cache.wants_plans(key, payload):                # the usual decode records its plans
        cache.store(key, payload, plans)

The match is exact: every byte outside the timestamp and value fields must equal the template's,
so a new series, a changed attribute, a flag or a start time falls back to the full decode.
Templates are built only for records of gauges and sums whose points each carry exactly one
timestamp and one value (a histogram or exemplar record is always decoded in full).
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline._remote_write import SeriesRef

__all__ = [
    "PointPlan",
    "ResourcePlan",
    "Template",
    "TemplateCache",
    "compile_template",
    "scan_number_points",
]

#: What the decoder decided for one number data point: ``(series or drop reason, metric name,
#: sample kind, delta sum, unit factor)``; None for a point without a recorded value.
PointPlan = tuple[SeriesRef | str, str, int, bool, float] | None

# A point's variable fields: (timestamp offset, value offset, value is sfixed64).
_PointSlots = tuple[int, int, bool]

_WIRE_VARINT = 0
_WIRE_I64 = 1
_WIRE_LEN = 2
_WIRE_I32 = 5
# Metric.data oneof: gauge 5 and sum 7 hold NumberDataPoints; histogram 9, exponential
# histogram 10 and summary 11 do not (opentelemetry-proto metrics.proto).
_GAUGE, _SUM = 5, 7
_OTHER_DATA = frozenset({9, 10, 11})
# NumberDataPoint fields.
_POINT_TIME, _POINT_DOUBLE, _POINT_EXEMPLARS, _POINT_INT = 3, 4, 5, 6

_DEFAULT_MAX_TEMPLATES = 50_000
_DEFAULT_MAX_MEMORY_BYTES = 128 * 1024 * 1024


@dataclass(slots=True)
class ResourcePlan:
    """The decoder's decisions for one resource of a record, in point order.

    Attributes:
        node: the node id.
        identity: the identity labels every series of the resource carries.
        info: the ``target_info`` labels.
        points: one plan per number data point, in wire order.
    """

    node: str
    identity: tuple[tuple[str, str], ...]
    info: list[tuple[str, str]]
    points: list[PointPlan] = field(default_factory=list)


class _UnfitError(Exception):
    """The record is not one a template can stand for."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _UnfitError
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """``(field number, wire type, value start, value end)`` of each field in ``buf[start:end]``."""
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == _WIRE_VARINT:
            _, after = _varint(buf, pos)
        elif wire == _WIRE_I64:
            after = pos + 8
        elif wire == _WIRE_LEN:
            length, pos = _varint(buf, pos)
            after = pos + length
        elif wire == _WIRE_I32:
            after = pos + 4
        else:  # groups: not in OTLP
            raise _UnfitError
        if after > end:
            raise _UnfitError
        yield number, wire, pos, after
        pos = after


def _submessages(buf: bytes, start: int, end: int, number: int) -> Iterator[tuple[int, int]]:
    for found, wire, value_start, value_end in _fields(buf, start, end):
        if found == number:
            if wire != _WIRE_LEN:
                raise _UnfitError
            yield value_start, value_end


def _point(buf: bytes, start: int, end: int) -> _PointSlots:
    time_at = value_at = -1
    is_int = False
    for number, wire, value_start, _end in _fields(buf, start, end):
        if number == _POINT_EXEMPLARS:
            raise _UnfitError  # they change every export: a template would never match
        if number not in (_POINT_TIME, _POINT_DOUBLE, _POINT_INT):
            continue
        # A field twice means "last one wins" (or a oneof switch): not worth modelling.
        if wire != _WIRE_I64 or (value_at if number != _POINT_TIME else time_at) >= 0:
            raise _UnfitError
        if number == _POINT_TIME:
            time_at = value_start
        else:
            value_at, is_int = value_start, number == _POINT_INT
    if time_at < 0 or value_at < 0:
        raise _UnfitError
    return time_at, value_at, is_int


def _metric(buf: bytes, start: int, end: int, out: list[_PointSlots]) -> None:
    data = [(n, s, e) for n, w, s, e in _fields(buf, start, end) if n in (_GAUGE, _SUM)]
    if any(n in _OTHER_DATA for n, _w, _s, _e in _fields(buf, start, end)) or len(data) != 1:
        raise _UnfitError
    _number, data_start, data_end = data[0]
    for point_start, point_end in _submessages(buf, data_start, data_end, 1):
        out.append(_point(buf, point_start, point_end))


def scan_number_points(payload: bytes) -> list[list[_PointSlots]] | None:
    """Find each number data point's timestamp and value fields, per resource, in wire order.

    Returns:
        per resource, ``(timestamp offset, value offset, value is sfixed64)`` of each point; or
        None when the record holds anything but gauges and sums of plain points.
    """
    try:
        resources: list[list[_PointSlots]] = []
        end = len(payload)
        for rm_start, rm_end in _submessages(payload, 0, end, 1):
            points: list[_PointSlots] = []
            for sm_start, sm_end in _submessages(payload, rm_start, rm_end, 2):
                for m_start, m_end in _submessages(payload, sm_start, sm_end, 2):
                    _metric(payload, m_start, m_end, points)
            resources.append(points)
        return resources
    except _UnfitError:
        return None


class Template:
    """A record's invariant bytes and decisions, ready to decode a record that matches them.

    Attributes:
        resources: per resource ``(node, identity, info, entries)``; each entry is
            ``(series or drop reason, name, kind, delta, factor, timestamp index, value index)``
            with indexes into :meth:`unpack`'s result.
        size_bytes: the record length it matches.
        memory_bytes: what the template itself holds (series objects are the cleaner's);
            about five times the record length.
    """

    __slots__ = ("_gaps", "_layout", "memory_bytes", "resources", "size_bytes")

    def __init__(
        self,
        layout: struct.Struct,
        gaps: tuple[bytes, ...],
        resources: list[
            tuple[
                str,
                tuple[tuple[str, str], ...],
                list[tuple[str, str]],
                list[tuple[SeriesRef | str, str, int, bool, float, int, int]],
            ]
        ],
    ):
        self._layout = layout
        self._gaps = gaps
        self.resources = resources
        self.size_bytes = layout.size
        self.memory_bytes = (
            sys.getsizeof(layout)
            + sys.getsizeof(gaps)
            + sum(map(sys.getsizeof, gaps))
            + sum(sys.getsizeof(r[3]) + sum(map(sys.getsizeof, r[3])) for r in resources)
        )

    def unpack(self, payload: bytes) -> tuple[Any, ...] | None:
        """Unpack ``payload``'s timestamps and values, or None unless it matches byte for byte."""
        if len(payload) != self.size_bytes:
            return None
        fields = self._layout.unpack(payload)
        if fields[0::2] != self._gaps:
            return None
        return fields


def compile_template(payload: bytes, plans: list[ResourcePlan]) -> Template | None:
    """Build the template of a record the decoder just decoded, recording ``plans``.

    Returns:
        the template, or None when the record is not of the templated kind or the plans and
        the wire layout disagree on its points.
    """
    scanned = scan_number_points(payload)
    if scanned is None or len(scanned) != len(plans):
        return None
    # (offset, struct code, slot id): slot ids 2k and 2k+1 are point k's timestamp and value.
    slots: list[tuple[int, str, int]] = []
    for resource_slots, plan in zip(scanned, plans, strict=True):
        if len(resource_slots) != len(plan.points):
            return None
        for time_at, value_at, is_int in resource_slots:
            point = len(slots) // 2
            slots.append((time_at, "Q", 2 * point))
            slots.append((value_at, "q" if is_int else "d", 2 * point + 1))
    slots.sort()
    codes = ["<"]
    index_of = [0] * len(slots)
    pos = 0
    for order, (offset, code, slot) in enumerate(slots):
        codes.append(f"{offset - pos}s{code}")
        index_of[slot] = 2 * order + 1
        pos = offset + 8
    codes.append(f"{len(payload) - pos}s")
    layout = struct.Struct("".join(codes))
    gaps = layout.unpack(payload)[0::2]
    resources = []
    point = 0
    for plan in plans:
        entries = []
        for decided in plan.points:
            if decided is not None:
                series, name, kind, delta, factor = decided
                ts_index, value_index = index_of[2 * point], index_of[2 * point + 1]
                entries.append((series, name, kind, delta, factor, ts_index, value_index))
            point += 1
        resources.append((plan.node, plan.identity, plan.info, entries))
    return Template(layout, gaps, resources)


class TemplateCache:
    """Templates by ``(record key, record length)``, bounded in count and memory.

    A template is built on the second record of the same key and length (the first may be a
    one-off), and a record that no longer matches sends its key back to that state. When the
    builder's ``generation`` moves (series were forgotten), every template is dropped. Past the
    memory bound no new template is built: the records it would serve are decoded in full.

    Args:
        max_templates: bound on tracked keys (templates and first sightings together).
        max_memory_bytes: bound on the templates' summed :attr:`Template.memory_bytes`
            (0: no templates).
    """

    def __init__(
        self,
        max_templates: int = _DEFAULT_MAX_TEMPLATES,
        max_memory_bytes: int = _DEFAULT_MAX_MEMORY_BYTES,
    ):
        self._max_templates = max_templates
        self._max_memory_bytes = max_memory_bytes
        self._entries: dict[tuple[object, int], Template | bool] = {}
        self.memory_bytes = 0
        self._generation = 0
        #: Records decoded from a template (for tests and the bench).
        self.matched_records = 0

    def match(
        self, key: object, payload: bytes, generation: int
    ) -> tuple[Template, tuple[Any, ...]] | None:
        """The template this record matches byte for byte, with the record's unpacked fields.

        Args:
            key: the record key.
            payload: the record value.
            generation: the sample builder's generation (a change drops every template).
        """
        if generation != self._generation:
            self.clear()
            self._generation = generation
        found = self._entries.get((key, len(payload)))
        if not isinstance(found, Template):
            return None
        fields = found.unpack(payload)
        if fields is None:
            return None
        self.matched_records += 1
        return found, fields

    def wants_plans(self, key: object, payload: bytes) -> bool:
        """Tell whether the decoder should record its plans for this record."""
        entry = (key, len(payload))
        found = self._entries.get(entry)
        if found is None:
            if len(self._entries) >= self._max_templates:
                self.clear()
            self._entries[entry] = True  # first sighting
            return False
        if isinstance(found, Template):
            # It no longer matches: decode this one plainly, template the next one alike.
            self._entries[entry] = True
            self.memory_bytes -= found.memory_bytes
            return False
        return found is True

    def store(self, key: object, payload: bytes, plans: list[ResourcePlan]) -> None:
        """Build and keep the template of a record decoded with recorded ``plans``."""
        entry = (key, len(payload))
        template = None
        if self.memory_bytes < self._max_memory_bytes:
            template = compile_template(payload, plans)
        if template is None:
            self._entries[entry] = False  # not templated (its kind, or the memory bound)
            return
        self._entries[entry] = template
        self.memory_bytes += template.memory_bytes

    def clear(self) -> None:
        """Forget every template."""
        self._entries.clear()
        self.memory_bytes = 0

    def __len__(self) -> int:
        return sum(1 for t in self._entries.values() if isinstance(t, Template))
