from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.sim import WfFormatError, generate_workflow, load_wfformat
from bench.sim._wfformat import parse_wfformat


def _doc(tasks: list[dict[str, Any]], runtimes: dict[str, float]) -> dict[str, Any]:
    files = sorted(
        {f for t in tasks for f in (*t.get("inputFiles", []), *t.get("outputFiles", []))}
    )
    return {
        "name": "tiny",
        "schemaVersion": "1.5",
        "workflow": {
            "specification": {
                "tasks": tasks,
                "files": [{"id": f, "sizeInBytes": 1000 * (i + 1)} for i, f in enumerate(files)],
            },
            "execution": {
                "makespanInSeconds": 9.0,
                "tasks": [{"id": k, "runtimeInSeconds": v} for k, v in runtimes.items()],
            },
        },
    }


def _task(tid: str, parents: list[str], children: list[str], **files: list[str]) -> dict[str, Any]:
    return {"name": tid.upper(), "id": tid, "parents": parents, "children": children, **files}


def test_every_shipped_instance_validates_and_is_a_dag(
    wf_data: Path, schema: dict[str, Any]
) -> None:
    instances = sorted(p for p in wf_data.glob("*.json") if p.name != "wfcommons-schema.json")
    assert len(instances) >= 8
    for path in instances:
        wf = load_wfformat(path, schema)
        seen: set[str] = set()
        for task in wf.tasks.values():
            assert set(task.parents) <= seen, f"{path.name}: {task.id} before its parents"
            seen.add(task.id)
            assert task.runtime_s > 0
        assert wf.recorded_makespan_s is not None
        assert 0 < wf.critical_path_s() <= wf.total_work_s()


def test_montage_reads_files_sizes_and_producers(wf_data: Path, schema: dict[str, Any]) -> None:
    wf = load_wfformat(wf_data / "montage-chameleon-2mass-01d-001.json", schema)
    assert len(wf.tasks) == 103
    project = wf.tasks["mProject_ID0000001"]
    assert project.runtime_s == pytest.approx(15.712)
    assert project.inputs
    assert all(wf.producer(f) is None for f in project.inputs)
    child = wf.tasks[project.children[0]]
    assert any(wf.producer(f) == project.id for f in child.inputs)
    assert wf.input_bytes(project.id) == sum(wf.files[f].size_bytes for f in project.inputs)


def test_schema_violation_names_the_place(wf_data: Path, schema: dict[str, Any]) -> None:
    doc = json.loads((wf_data / "blast-chameleon-small-001.json").read_text())
    doc["workflow"]["specification"]["files"][0]["sizeInBytes"] = -5
    with pytest.raises(WfFormatError, match=r"bad\.json: .*files\[0\]\.sizeInBytes: -5"):
        parse_wfformat(doc, schema, source="bad.json")


def test_graph_from_parents_and_children_in_topological_order() -> None:
    doc = _doc(
        [
            _task("c", ["b"], [], inputFiles=["f2"]),
            _task("b", [], ["c"], inputFiles=["f1"], outputFiles=["f2"]),
            _task("a", [], ["c"], outputFiles=["f1"]),
        ],
        {"a": 1.0, "b": 2.0, "c": 3.0},
    )
    wf = parse_wfformat(doc, {})
    order = list(wf.tasks)
    assert order.index("a") < order.index("c")
    assert order.index("b") < order.index("c")
    assert set(wf.tasks["c"].parents) == {"a", "b"}  # "a" lists c as a child only
    assert wf.critical_path_s() == pytest.approx(5.0)
    assert wf.producer("f2") == "b"
    assert wf.producer("f1") == "a"


@pytest.mark.parametrize(
    ("tasks", "runtimes", "match"),
    [
        ([_task("a", ["b"], []), _task("b", ["a"], [])], {"a": 1, "b": 1}, "cycle"),
        ([_task("a", ["zz"], [])], {"a": 1}, "unknown task"),
        ([_task("a", [], [])], {}, "runtimeInSeconds"),
    ],
)
def test_unusable_graphs_are_refused(
    tasks: list[dict[str, Any]], runtimes: dict[str, float], match: str
) -> None:
    with pytest.raises(WfFormatError, match=match):
        parse_wfformat(_doc(tasks, runtimes), {})


def test_recipe_workflows_are_seeded(schema: dict[str, Any]) -> None:
    one = generate_workflow("epigenomics", num_tasks=120, seed=5, schema=schema)
    again = generate_workflow("epigenomics", num_tasks=120, seed=5, schema=schema)
    other = generate_workflow("epigenomics", num_tasks=120, seed=6, schema=schema)
    assert 100 <= len(one.tasks) <= 120
    assert [t.runtime_s for t in one.tasks.values()] == [t.runtime_s for t in again.tasks.values()]
    assert [t.runtime_s for t in one.tasks.values()] != [t.runtime_s for t in other.tasks.values()]
    with pytest.raises(WfFormatError, match="unknown recipe"):
        generate_workflow("nope", num_tasks=100, seed=0, schema=schema)
