"""Schedules of partitioned spec jobs under Dagster's testing API: ``evaluate_tick`` with a
``build_schedule_context`` that has an instance and a time but no ``repository_def``, as users
test Dagster's own ``build_schedule_from_partitioned_job`` schedules."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from nexus_dagster import build_definitions, nexus_asset

from .conftest import example_location, new_dagster_home, write_specs

UTC = timezone.utc  # `datetime.UTC` is Python 3.11's

NIGHT = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)

regions = dg.StaticPartitionsDefinition(["eu", "us"])
files = dg.DynamicPartitionsDefinition(name="sched_files")


@nexus_asset(params={"bucket": "string!"}, partitions_def=regions)
def region_copy() -> None:
    pass


@nexus_asset(
    params={"scale": "int!"},
    partitions_def=dg.MultiPartitionsDefinition(
        {"date": dg.DailyPartitionsDefinition(start_date="2026-11-01"), "region": regions}
    ),
)
def cell() -> None:
    pass


@nexus_asset(params={"inbox": "string!"}, partitions_def=files)
def inbox_file() -> None:
    pass


def tick(
    defs: dg.Definitions,
    name: str,
    at: datetime,
    instance: dg.DagsterInstance | None = None,
    with_repository: bool = False,
) -> dg.ScheduleExecutionData:
    """What the schedule's tick at ``at`` requests, evaluated as a user's unit test does."""
    with dg.build_schedule_context(
        instance=instance or dg.DagsterInstance.ephemeral(),
        scheduled_execution_time=at,
        repository_def=defs.get_repository_def() if with_repository else None,
    ) as context:
        return defs.resolve_schedule_def(name).evaluate_tick(context)


def values(request: dg.RunRequest) -> dict[str, Any]:
    return request.run_config["resources"]["params"]["config"]["values"]


def dagster_tags(defs: dg.Definitions, job_name: str, key: str) -> dict[str, str]:
    """The tags Dagster itself gives a ``RunRequest(partition_key=key)`` of the job when it
    resolves it against the repository (a daemon tick of a request without them)."""
    request = dg.RunRequest(partition_key=key).with_resolved_tags_and_config(
        defs.resolve_job_def(job_name),
        dynamic_partitions_requests=[],
        dynamic_partitions_store=None,
    )
    return dict(request.tags)


@cache
def twin() -> dg.Definitions:
    """Plain Dagster: a job over the example's daily partitions with
    ``build_schedule_from_partitioned_job`` at 01:00, like the example's nightly schedule."""

    @dg.asset(partitions_def=example_location().daily)
    def twin_orders() -> None:
        pass

    job = dg.define_asset_job("twin_job", selection=[twin_orders])
    schedule = dg.build_schedule_from_partitioned_job(job, name="twin_nightly", hour_of_day=1)
    return dg.Definitions(assets=[twin_orders], jobs=[job], schedules=[schedule])


@pytest.fixture
def specs_defs(tmp_path: Path) -> dg.Definitions:
    """The example's daily assets with a schedule naming its partition, and one of each other
    kind of partitions definition."""
    folder = write_specs(
        tmp_path / "specs",
        {
            "orders_job.yaml": """
                selection: [daily_orders, daily_summary]
                parameter_values: {target_bucket: lake, min_amount: 5}
                ops_config: {daily_orders: {source_bucket: orders-daily}}
                schedules:
                  - name: orders_nov_3
                    cron: "0 1 * * *"
                    partition_key: "2026-11-03"
                  - name: orders_nov_20
                    cron: "0 1 * * *"
                    partition_key: "2026-11-20"
                  - name: orders_nightly
                    cron: "0 1 * * *"
            """,
            "region_job.yaml": """
                selection: [region_copy]
                parameter_values: {bucket: regional}
                schedules: [{name: region_eu, cron: "0 2 * * *", partition_key: eu}]
            """,
            "cell_job.yaml": """
                selection: [cell]
                parameter_values: {scale: 3}
                schedules: [{name: cell_eu, cron: "0 2 * * *", partition_key: "2026-11-04|eu"}]
            """,
            "inbox_job.yaml": """
                selection: [inbox_file]
                parameter_values: {inbox: /in}
                schedules: [{name: inbox_a, cron: "0 2 * * *", partition_key: a.csv}]
            """,
        },
    )
    location = example_location()
    return build_definitions(
        folder,
        assets=[location.daily_orders, location.daily_summary, region_copy, cell, inbox_file],
    )


def test_the_examples_nightly_tick_needs_no_repository_def() -> None:
    defs = example_location().defs
    [request] = tick(defs, "daily_orders_nightly", NIGHT).run_requests
    assert (request.partition_key, request.run_key) == ("2026-11-09", "2026-11-09")
    assert values(request) == {
        "target_bucket": "orders-lake",
        "min_amount": 20,
        "daily_orders.source_bucket": "orders-daily",
    }
    # the tags Dagster itself gives the request when it has the repository (the daemon's tick)
    assert request.tags == {
        **dagster_tags(defs, "daily_orders_job", "2026-11-09"),
        "dagster/schedule_name": "daily_orders_nightly",
    }
    assert tick(defs, "daily_orders_nightly", NIGHT, with_repository=True).run_requests == [request]


def test_the_examples_tick_request_runs(example_data: Path) -> None:
    defs = example_location().defs
    at = datetime(2026, 11, 6, 1, 0, tzinfo=UTC)
    [request] = tick(defs, "daily_orders_nightly", at).run_requests
    assert request.partition_key == "2026-11-05"
    result = defs.resolve_job_def("daily_orders_job").execute_in_process(
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert (example_data / "orders-lake" / "orders" / "2026-11-05.csv").is_file()


@pytest.mark.parametrize(
    "at",
    [
        NIGHT,
        datetime(2026, 11, 10, 0, 30, tzinfo=UTC),
        datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 1, 0, tzinfo=UTC),  # the first day has not ended: no run
    ],
)
def test_the_latest_window_is_the_one_dagsters_partitioned_schedule_chooses(at: datetime) -> None:
    ours = tick(example_location().defs, "daily_orders_nightly", at)
    theirs = tick(twin(), "twin_nightly", at)
    assert [(r.partition_key, r.run_key) for r in ours.run_requests or []] == [
        (r.partition_key, r.run_key) for r in theirs.run_requests or []
    ]
    assert bool(ours.skip_message) == bool(theirs.skip_message)


def test_a_schedule_naming_its_partition_needs_no_repository_def(
    specs_defs: dg.Definitions,
) -> None:
    [request] = tick(specs_defs, "orders_nov_3", NIGHT).run_requests
    assert (request.partition_key, request.run_key) == ("2026-11-03", None)
    assert values(request) == {
        "target_bucket": "lake",
        "min_amount": 5,
        "daily_orders.source_bucket": "orders-daily",
    }
    assert request.tags == {
        **dagster_tags(specs_defs, "orders_job", "2026-11-03"),
        "dagster/schedule_name": "orders_nov_3",
    }
    [latest] = tick(specs_defs, "orders_nightly", NIGHT).run_requests
    assert (latest.partition_key, latest.run_key) == ("2026-11-09", "2026-11-09")
    assert latest.run_config == request.run_config


def test_a_named_partition_that_has_not_begun_fails_the_tick_as_dagster_does(
    specs_defs: dg.Definitions,
) -> None:
    with pytest.raises(Exception, match="Could not find a partition with key `2026-11-20`"):
        tick(specs_defs, "orders_nov_20", NIGHT)
    [request] = tick(specs_defs, "orders_nov_20", datetime(2026, 11, 21, tzinfo=UTC)).run_requests
    assert request.partition_key == "2026-11-20"


@pytest.mark.parametrize(
    ("name", "job_name", "key", "expected"),
    [
        ("region_eu", "region_job", "eu", {"bucket": "regional"}),
        ("cell_eu", "cell_job", "2026-11-04|eu", {"scale": 3}),
    ],
)
def test_static_and_multi_partitions_get_dagsters_own_tags(
    specs_defs: dg.Definitions, name: str, job_name: str, key: str, expected: dict[str, Any]
) -> None:
    [request] = tick(specs_defs, name, NIGHT).run_requests
    assert request.partition_key == key
    assert values(request) == expected
    assert request.tags == {
        **dagster_tags(specs_defs, job_name, key),
        "dagster/schedule_name": name,
    }


def test_a_dynamic_partition_is_checked_against_the_instance(
    specs_defs: dg.Definitions, tmp_path: Path
) -> None:
    with dg.DagsterInstance.local_temp(str(new_dagster_home(tmp_path / "home"))) as instance:
        with pytest.raises(Exception, match="Could not find a partition with key `a.csv`"):
            tick(specs_defs, "inbox_a", NIGHT, instance)
        instance.add_dynamic_partitions("sched_files", ["a.csv"])
        [request] = tick(specs_defs, "inbox_a", NIGHT, instance).run_requests
    assert request.partition_key == "a.csv"
    assert request.tags["dagster/partition"] == "a.csv"
    assert values(request) == {"inbox": "/in"}
