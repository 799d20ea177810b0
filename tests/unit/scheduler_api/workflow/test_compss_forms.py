"""PyCOMPSs programs as written: every decorator form, and errors that name the mistake."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler_api.placement import EngineConfig, NodeInfo
from scheduler_api.workflow import (
    Future,
    Session,
    constraint,
    depends,
    parse_size,
    session,
    storage,
    task,
    to_specs,
    wait_on,
)
from tests.unit.scheduler_api.workflow.fakes import InlineExecutor


def _session(*nodes: NodeInfo) -> tuple[Session, InlineExecutor]:
    executor = InlineExecutor(list(nodes) or [NodeInfo("here", cpu_cores=4, memory_bytes=8 << 30)])
    return Session(executor, EngineConfig(mode="ready")), executor


@task(returns=int)
def typed_one(x: int) -> int:
    return x + 1


@task(returns=2)
def two_results(a: int, b: int) -> tuple[int, int]:
    return divmod(a, b)


@task(returns=(int, str))
def typed_pair(x: int) -> tuple[int, str]:
    return x, str(x)


@storage("memory")
@constraint(cpu_cores=2, memory="2G", disk="10G", network=True)
@task(returns=int)
def stacked(part: list[int]) -> int:
    return sum(v * v for v in part)


@constraint(computing_units="2", memory_size=2, storage_size="10", processor_architecture="x86_64")
@task()
def compss_names() -> int:
    return 1


@task()
def nested_sum(groups: list[Any], pair: tuple[Any, ...], by_key: dict[str, Any]) -> int:
    flat = [v for group in groups for v in (group if isinstance(group, list) else [group])]
    return sum(flat) + sum(pair) + sum(by_key.values())


@task()
def produce(log: list[str]) -> None:
    log.append("produced")


@depends(produce)
@task(returns=int)
def consume() -> int:
    return 7


def test_returns_a_type_gives_one_future_and_a_count_gives_that_many() -> None:
    active, _ = _session()
    with session(active):
        one = typed_one(1)
        quotient, remainder = two_results(17, 5)
        number, text = typed_pair(3)
        assert isinstance(one, Future)
        assert wait_on([one, quotient, remainder, number, text]) == [2, 3, 2, 3, "3"]


@pytest.mark.parametrize("returns", [True, "2", 1.5, [int, 2], object()])
def test_unknown_returns_forms_say_what_is_accepted(returns: Any) -> None:
    with pytest.raises(TypeError, match=r"returns=int"):
        task(returns=returns)


def test_negative_counts_and_work_are_refused() -> None:
    with pytest.raises(ValueError, match="returns must be >= 0"):
        task(returns=-1)
    with pytest.raises(ValueError, match="work_s must be >= 0"):
        task(work_s=-0.5)


def test_the_whole_decorator_stack_is_recorded() -> None:
    req = stacked.requirements
    assert (req.cpu_cores, req.memory_bytes, req.disk_bytes) == (2, 2 << 30, 10 << 30)
    assert req.storage == "memory"
    assert stacked.network is True
    assert stacked.work_s is None  # declared nothing: learned or defaulted at submission


def test_pycompss_names_mean_the_same_as_ours() -> None:
    req = compss_names.requirements
    assert req.cpu_cores == 2
    assert req.memory_bytes == 2 << 30  # memory_size is in GB
    assert req.disk_bytes == 10 << 30  # so is storage_size
    assert req.arch == "amd64"  # uname's name for the agents' host.arch


def test_the_submitted_specs_carry_the_constraints() -> None:
    active, executor = _session()
    with session(active):
        assert wait_on(stacked([1, 2, 3])) == 14
    (call,) = active._calls.values()
    (spec,) = to_specs([call], {})
    assert spec.requirements == stacked.requirements  # disk_bytes and storage included
    assert spec.requirements.disk_bytes == 10 << 30
    assert spec.work_s == 1.0  # the default: nothing declared, nothing learned
    assert executor.ran == [("stacked-1", "here")]


def test_the_storage_hint_survives_either_decorator_order() -> None:
    above = storage("object")(constraint(disk="1G")(task()(lambda: None)))
    below = constraint(disk="1G")(storage("object")(task()(lambda: None)))
    assert above.requirements == below.requirements
    assert (below.requirements.storage, below.requirements.disk_bytes) == ("object", 1 << 30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memroy": "2G"}, "unknown keyword 'memroy' (did you mean 'memory'?)"),
        ({"computing_unit": 2}, "did you mean 'computing_units'?"),
        ({"zone": "a"}, "unknown keyword 'zone'; node labels go in labels="),
        ({"cpu_cores": 2, "computing_units": 2}, "give cpu_cores or computing_units, not both"),
        ({"memory": "1G", "memory_size": 1}, "give memory or memory_size, not both"),
        ({"disk": "1G", "storage_size": 1}, "give disk or storage_size, not both"),
    ],
)
def test_constraint_mistakes_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as caught:
        constraint(**kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"computing_units": "two"}, "computing_units='two': give a number of cores"),
        ({"cpu_cores": 0}, "give a number of cores > 0"),
        ({"gpu": 1.5}, "give a whole number"),
        ({"disk": "lots"}, "bad size 'lots'"),
        ({"memory_size": -1}, "size must be >= 0"),
    ],
)
def test_bad_constraint_values_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        constraint(**kwargs)


def test_a_share_of_a_core_is_a_request_as_in_kubernetes() -> None:
    half = constraint(cpu_cores=0.5)(task()(lambda: None))
    assert half.requirements.cpu_cores == 0.5
    assert half.requirements.lanes == 1  # it still holds one lane of a node's timeline


def test_labels_are_given_explicitly() -> None:
    labelled = constraint(labels={"zone": "a"})(task()(lambda: None))
    assert labelled.requirements.labels == {"zone": "a"}


def test_storage_kinds_are_checked_and_its_place_too() -> None:
    with pytest.raises(ValueError, match="one of memory, disk, object"):
        storage("tape")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="@storage goes above @task"):
        storage("disk")(lambda: None)  # type: ignore[arg-type]


def test_depends_takes_tasks_only() -> None:
    with pytest.raises(TypeError, match="@depends takes @task functions"):
        depends(print)  # type: ignore[arg-type]


def test_depends_orders_calls_that_share_no_data() -> None:
    active, executor = _session()
    log: list[str] = []
    with session(active):
        produce(log)
        assert wait_on(consume()) == 7
    assert [t for t, _ in executor.ran] == ["produce-1", "consume-1"]
    assert active._calls["consume-1"].parents == {"produce-1": None}


def test_futures_inside_collections_are_edges_and_are_resolved() -> None:
    active, executor = _session()
    with session(active):
        a, b, c = typed_one(0), typed_one(1), typed_one(2)
        quotient, remainder = two_results(9, 4)
        total = nested_sum([a, [b, 10]], (c, quotient), {"r": remainder})
        assert wait_on(total) == 1 + 2 + 10 + 3 + 2 + 1
    assert set(active._calls["nested_sum-1"].parents) == {
        "typed_one-1",
        "typed_one-2",
        "typed_one-3",
        "two_results-1",
    }
    assert executor.ran[-1][0] == "nested_sum-1"


# ---------------------------------------------------------------- properties


@given(st.integers(min_value=0, max_value=64))
def test_a_count_gives_that_many_futures(count: int) -> None:
    def many() -> tuple[int, ...]:
        return tuple(range(count))

    function = task(returns=count)(many)
    active, _ = _session()
    with session(active):
        result = function()
        futures = result if count > 1 else (result,)
        assert all(isinstance(f, Future) for f in futures)
        assert len(futures) == max(1, count)


@given(st.lists(st.sampled_from([int, str, float, bytes]), min_size=1, max_size=8))
def test_a_tuple_of_types_gives_one_future_each(types: list[type]) -> None:
    function = task(returns=tuple(types))(lambda: None)
    assert function.returns == len(types)


@given(st.integers(min_value=1, max_value=512), st.integers(min_value=0, max_value=4096))
def test_pycompss_numbers_are_gigabytes_and_counts_may_be_text(cores: int, gigabytes: int) -> None:
    ours = constraint(cpu_cores=cores, memory=f"{gigabytes}G", disk=f"{gigabytes}G")
    theirs = constraint(
        computing_units=str(cores), memory_size=gigabytes, storage_size=str(gigabytes)
    )
    a, b = ours(task()(lambda: None)), theirs(task()(lambda: None))
    assert a.requirements == b.requirements
    assert a.requirements.disk_bytes == parse_size(f"{gigabytes}G")


# Every keyword @constraint declares; anything else is unknown.
_KNOWN = {
    name
    for name, parameter in inspect.signature(constraint).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


@given(st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True).filter(lambda k: k not in _KNOWN))
def test_any_unknown_keyword_is_refused_by_name(key: str) -> None:
    with pytest.raises(TypeError, match=f"unknown keyword '{key}'"):
        constraint(**{key: "x"})


@given(st.text(max_size=12).filter(lambda kind: kind not in ("memory", "disk", "object")))
def test_any_other_storage_kind_is_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="the kind is one of memory, disk, object"):
        storage(kind)  # type: ignore[arg-type]


@given(st.sampled_from(["memory", "disk", "object"]))
def test_each_storage_kind_is_kept(kind: Any) -> None:
    assert storage(kind)(task()(lambda: None)).requirements.storage == kind


@given(
    st.recursive(
        st.integers(min_value=-100, max_value=100),
        lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
        max_leaves=12,
    )
)
def test_nested_futures_resolve_to_the_same_shape(shape: Any) -> None:
    active, _ = _session()

    def lift(value: Any) -> Any:  # every number becomes a future of that number
        if isinstance(value, list):
            return [lift(v) for v in value]
        if isinstance(value, tuple):
            return tuple(lift(v) for v in value)
        return identity(value)

    with session(active):
        assert wait_on(lift(shape)) == shape


@task(returns=int)
def identity(x: int) -> int:
    return x
