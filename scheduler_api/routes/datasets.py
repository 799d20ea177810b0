"""``/v1/datasets``: the data-location catalogue (list, read, create or replace, delete)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from scheduler_api._datasets import DatasetRecord
from scheduler_api._deps import READ, SCHEDULE, Context
from scheduler_api._errors import ERROR_RESPONSES, ApiError, error_response
from scheduler_api._schemas import DatasetIn, DatasetOut, DatasetsOut

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["datasets"], responses=ERROR_RESPONSES)

DatasetId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$",
        description="Dataset id: letters, digits, '.', '_', ':', '-'.",
    ),
]
# A page of the catalogue at most: the answer stays small however many datasets there are.
_MAX_PAGE = 1000


def _out(record: DatasetRecord) -> DatasetOut:
    return DatasetOut(
        id=record.id,
        size_bytes=record.size_bytes,
        nodes=list(record.nodes),
        sites=list(record.sites),
        residency=record.residency,
        storage=record.storage,
        urls=list(record.urls),
        updated_at_s=record.updated_at_s,
    )


@router.get("/datasets", summary="The catalogue, in id order", dependencies=[READ])
def list_datasets(
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=_MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1 << 40)] = 0,
) -> DatasetsOut:
    records = ctx.datasets.list(limit, offset)
    return DatasetsOut(
        datasets=[_out(r) for r in records],
        total=ctx.datasets.count(),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/datasets/{dataset_id}",
    summary="Where a dataset lives",
    dependencies=[READ],
    responses={404: error_response("The dataset is not catalogued.")},
)
def get_dataset(ctx: Context, dataset_id: DatasetId) -> DatasetOut:
    record = ctx.datasets.get(dataset_id)
    if record is None:
        raise ApiError(404, f"dataset {dataset_id!r} is not catalogued: PUT it first")
    return _out(record)


@router.put(
    "/datasets/{dataset_id}", summary="Create or replace a dataset", dependencies=[SCHEDULE]
)
def put_dataset(ctx: Context, dataset_id: DatasetId, body: DatasetIn) -> DatasetOut:
    record = DatasetRecord(
        dataset_id,
        body.size_bytes,
        tuple(body.nodes),
        tuple(body.sites),
        body.residency,
        storage=body.storage,
        urls=tuple(body.urls),
    )
    return _out(ctx.datasets.put(record))


@router.delete(
    "/datasets/{dataset_id}",
    summary="Remove a dataset from the catalogue",
    status_code=204,
    dependencies=[SCHEDULE],
    responses={404: error_response("The dataset is not catalogued.")},
)
def delete_dataset(ctx: Context, dataset_id: DatasetId) -> None:
    if not ctx.datasets.delete(dataset_id):
        raise ApiError(404, f"dataset {dataset_id!r} is not catalogued: see GET /v1/datasets")
