"""Task arguments and results on the wire: datasets stay datasets through JSON."""

from __future__ import annotations

import dataclasses
import json

from scheduler_api.workflow import Dataset, data_url, datasets_in, from_wire, map_datasets, to_wire


def test_datasets_anywhere_in_a_value_survive_json_and_can_be_changed_in_place() -> None:
    reads = Dataset("reads", 10, nodes=("cloud-1",), urls=("http://n:9470/v1/data/reads",))
    value = {"pairs": [(reads, 1)], "plain": {"x": [1, 2]}, "tiles": Dataset("tiles")}
    wire = json.loads(json.dumps(to_wire(value)))
    assert [d.dataset_id for d in datasets_in(wire)] == ["reads", "tiles"]
    back = from_wire(wire)
    assert back["pairs"][0][0] == reads  # tuples of nodes and URLs come back as tuples
    assert back["plain"] == {"x": [1, 2]}
    moved = map_datasets(wire, lambda d: dataclasses.replace(d, path=f"/data/{d.dataset_id}"))
    assert [d.path for d in datasets_in(moved)] == ["/data/reads", "/data/tiles"]
    assert from_wire(moved, lambda d: d.dataset_id) == {
        "pairs": [["reads", 1]],
        "plain": {"x": [1, 2]},
        "tiles": "tiles",
    }
    # A mapping that merely has the marker among other keys is the task's own data.
    assert from_wire({"__dataset__": {}, "other": 1}) == {"__dataset__": {}, "other": 1}
    assert data_url("http://n:9470/", "reads") == "http://n:9470/v1/data/reads"
