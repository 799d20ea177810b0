"""Request and response bodies of the HTTP API (they make the OpenAPI spec)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from scheduler_api._datasets import DEFAULT_STORAGE, StorageKind

__all__ = [
    "AlertEventOut",
    "AlertWebhook",
    "AlertsOut",
    "AlertsReceipt",
    "CapacityOut",
    "DatasetIn",
    "DatasetOut",
    "DatasetRef",
    "DatasetsOut",
    "ErrorBody",
    "ExtenderArgs",
    "ExtenderFilterResult",
    "HealthOut",
    "HostPriority",
    "NodeOut",
    "NodesOut",
    "PressureOut",
    "RankedOut",
    "RankingOut",
    "RankingRequest",
    "RejectedOut",
    "SnapshotInfo",
    "UsageOut",
    "WebhookAlert",
]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,252}$"


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="Short machine-readable kind, e.g. `not_found`.")
    message: str = Field(description="What went wrong and, where possible, what to do.")


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    message: str = ""


class SnapshotInfo(BaseModel):
    """How old the data behind an answer is."""

    snapshot_age_s: float = Field(description="Seconds since the snapshot was fetched.")
    degraded: bool = Field(description="True when Prometheus failed and an older one is served.")
    warning: str | None = None


class CapacityOut(BaseModel):
    cpu_cores: float
    memory_bytes: float
    gpus: int


class UsageOut(BaseModel):
    cpu_utilization: float = Field(description="Busy fraction, mean over one minute.")
    cpu_utilization_avg5m: float | None
    cpu_utilization_stddev5m: float
    cpu_utilization_max1m: float | None
    cpu_steal: float = Field(
        default=0.0, description="Fraction of CPU time stolen by the hypervisor, one-minute mean."
    )
    disk_available_bytes: float | None = Field(
        default=None, description="Bytes tasks may still write on the node's data path."
    )
    memory_available_bytes: float | None = Field(description="Lowest over one minute.")
    memory_available_avg5m_bytes: float | None
    network_receive_bytes_per_s: float
    network_transmit_bytes_per_s: float


class PressureOut(BaseModel):
    cpu: float
    memory: float
    io: float


class LinksOut(BaseModel):
    """A node's own link and its site's uplink, estimated from the probes (null: not probed)."""

    latency_s: float | None = Field(None, description="One-way latency of the node's link.")
    bandwidth_bytes_per_s: float | None = None
    uplink_latency_s: float | None = Field(None, description="One-way latency of the uplink.")
    uplink_bandwidth_bytes_per_s: float | None = None


class PowerOut(BaseModel):
    """The node's measured power and its idle-to-busy line over the last hour."""

    measured_watts: float | None = None
    source: str = Field("", description="rapl, hwmon or power_supply, with +gpu for GPUs.")
    idle_watts: float | None = None
    slope_watts: float | None = Field(None, description="Watts from idle to fully busy.")
    samples: int = Field(0, description="Samples of the last hour the line was fitted to.")
    residual_watts: float | None = None


class NodeOut(BaseModel):
    """One node of the inventory."""

    id: str
    tier: str
    site: str
    arch: str
    labels: dict[str, str]
    capacity: CapacityOut
    usage: UsageOut
    pressure: PressureOut
    last_seen_s: float = Field(description="Unix time of the node's newest data.")
    age_s: float = Field(description="Seconds since the node's newest data (freshness).")
    health: Literal["healthy", "stale", "unhealthy"]
    alerts: list[str] = Field(description="Firing alerts that make the node unhealthy.")
    relative_speed: float
    power_watts: float | None
    links: LinksOut | None = None
    data_path: str = Field("", description="The directory disk_available_bytes is measured on.")
    power: PowerOut | None = None


class NodesOut(SnapshotInfo):
    nodes: list[NodeOut]


class DatasetRef(BaseModel):
    """A dataset a task reads: by catalogue id, optionally with the bytes it reads."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_NAME)
    size_bytes: int | None = Field(
        None, ge=0, description="Bytes read; defaults to the catalogued size."
    )


class RankingRequest(BaseModel):
    """A task's requirements. Unset constraints match every node."""

    model_config = ConfigDict(extra="forbid")

    cpu_cores: float = Field(1.0, gt=0, le=1e6)
    memory_bytes: int = Field(0, ge=0, le=1 << 60)
    disk_bytes: int = Field(
        0, ge=0, le=1 << 62, description="Free space the task's data needs on the node's disk."
    )
    gpus: int = Field(0, ge=0, le=1 << 20)
    arch: str | None = Field(None, max_length=64)
    tier: str | None = Field(None, max_length=64)
    site: str | None = Field(None, max_length=253)
    labels: dict[str, str] = Field(default_factory=dict, max_length=64)
    datasets: list[DatasetRef] = Field(default_factory=list, max_length=256)
    duration_s: float | None = Field(None, gt=0, le=1e9)
    max_utilization: float | None = Field(
        None, gt=0, le=1, description="Reject nodes whose 5-minute mean CPU use is above this."
    )
    allow_oversubscribe: bool = Field(
        False,
        description="Accept nodes whose measured free cores are fewer than requested (their "
        "total cores must still suffice).",
    )
    not_before_s: float | None = Field(
        None, ge=0, description="Unix time before which the task may not start."
    )
    deadline_s: float | None = Field(
        None,
        ge=0,
        description="Unix time by which the task must finish: nodes whose estimated finish "
        "(transfer plus duration_s scaled by speed) is later are rejected.",
    )
    storage: StorageKind | None = Field(
        None,
        description="Prefer nodes holding the datasets in this kind of store (the `storage` "
        "score component).",
    )
    minimize_energy: bool = Field(
        False,
        description="Rank feasible nodes by the joules the task would add (fewest first, "
        "unknown power last), the score breaking ties.",
    )
    limit: int = Field(10, ge=1, le=10000, description="Ranked nodes to return at most.")
    rejected_limit: int = Field(100, ge=0, le=10000, description="Rejected nodes to list.")
    reserve: bool = Field(
        False,
        description="Count the task against the best node until its metrics show it, so the "
        "next requests of a burst spread out.",
    )


class RankedOut(BaseModel):
    """A feasible node with its score and why."""

    node: str
    tier: str
    site: str
    score: float = Field(description="Weighted score, 0 (worst) to 1 (best).")
    components: dict[str, float] = Field(description="Each component's score, 0 to 1.")
    capacity: CapacityOut
    usage: UsageOut
    cpu_free_cores_after: float
    memory_free_bytes_after: float
    transfer_bytes: float
    transfer_s: float
    estimated_duration_s: float | None
    estimated_joules: float | None = Field(
        None, description="Energy the task would add on the node (null: power unknown)."
    )
    energy_source: str = Field(
        "unknown", description="How estimated_joules was estimated: fit, measured or label."
    )


class RejectedOut(BaseModel):
    node: str
    reasons: list[str]


class RankingOut(SnapshotInfo):
    ranked: list[RankedOut]
    rejected: list[RejectedOut]
    feasible_total: int
    rejected_total: int
    weights: dict[str, float]
    reserved: str | None = Field(description="Node the task was counted against, if reserved.")
    constraints: list[str] = Field(
        default_factory=list, description="The hard constraints applied, in words."
    )


class DatasetIn(BaseModel):
    """Where a dataset lives."""

    model_config = ConfigDict(extra="forbid")

    size_bytes: int = Field(ge=0, le=1 << 62)
    nodes: list[str] = Field(default_factory=list, max_length=10000)
    sites: list[str] = Field(default_factory=list, max_length=10000)
    residency: bool = Field(False, description="The data may not leave its sites.")
    storage: StorageKind = Field(
        DEFAULT_STORAGE,
        description="Where the copies are held: a node's `memory`, its `disk`, or an `object` "
        "store.",
    )
    urls: list[Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2048)]] = Field(
        default_factory=list,
        max_length=1000,
        description="Where a copy can be fetched: `/v1/data/<id>` on a node's worker or on a "
        "store (pull-mode workers fetch inputs from here).",
    )


class DatasetOut(DatasetIn):
    id: str
    updated_at_s: float


class DatasetsOut(BaseModel):
    """One page of the catalogue, in id order."""

    datasets: list[DatasetOut]
    total: int = Field(description="Datasets catalogued in all.")
    limit: int
    offset: int


class WebhookAlert(BaseModel):
    """One alert of an Alertmanager webhook payload."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""  # noqa: N815 - Alertmanager's field names
    endsAt: str = ""  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = ""


class AlertWebhook(BaseModel):
    """Alertmanager webhook payload, version 4."""

    version: str = "4"
    groupKey: str = ""  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[WebhookAlert] = Field(max_length=100000)


class AlertsReceipt(BaseModel):
    received: int
    unhealthy_nodes: list[str]


class AlertEventOut(BaseModel):
    received_at_s: float
    fingerprint: str
    status: str
    alertname: str
    node: str
    severity: str
    starts_at: str
    ends_at: str
    labels: dict[str, str]


class AlertsOut(BaseModel):
    unhealthy: dict[str, list[str]] = Field(description="Node -> alerts making it unhealthy.")
    active: list[AlertEventOut]
    history: list[AlertEventOut]


# -- Kubernetes scheduler extender (k8s.io/kube-scheduler/extender/v1) -------------------------


class ExtenderArgs(BaseModel):
    """ExtenderArgs: the pod and the candidate nodes (names when nodeCacheCapable)."""

    model_config = ConfigDict(populate_by_name=True)

    Pod: dict[str, object] = Field(default_factory=dict)
    Nodes: dict[str, object] | None = None
    NodeNames: list[str] | None = None


class ExtenderFilterResult(BaseModel):
    Nodes: dict[str, object] | None = None
    NodeNames: list[str] | None = None
    FailedNodes: dict[str, str] = Field(default_factory=dict)
    FailedAndUnresolvableNodes: dict[str, str] = Field(default_factory=dict)
    Error: str = ""


class HostPriority(BaseModel):
    Host: str
    Score: int = Field(ge=0, le=10)
