"""The sales job's launchpad in a real browser: headless Chromium, driven by Playwright, against
`dagster dev`. It checks what a person sees on opening the page, then launches a run from it."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from nexus_dagster import JobSpec, load_job_specs

from . import ui_support
from .ui_support import (
    LOCATION,
    REPO,
    RUN_TIMEOUT,
    START_TIMEOUT,
    Webserver,
    bucket_rows,
    graphql,
    read_csv_rows,
    require_chromium,
)

# The session's `dagster dev` (a fixture; see ui_support), shared with the other UI modules,
# so they run on one xdist worker.
dagster_dev = ui_support.dagster_dev
pytestmark = [
    pytest.mark.timeout(START_TIMEOUT + RUN_TIMEOUT + 120),
    pytest.mark.xdist_group("dagster_dev"),
]
expect.set_options(timeout=30_000)

# The network is closed and nothing should phone home: no background traffic, no updates.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000
# The spec's values, as job_specs/sales_job.yaml gives them (ops_config and parameter_values),
# after Dagster's own `resources` section: its one declared field (`params`, refused at launch)
# makes the launchpad expand it, empty; `ops`, `execution` and `loggers` stay folded away.
PREFILLED = [
    "resources: {}",
    "sales_ingestion_asset.source_bucket: sales-raw",
    "target_bucket: analytics-lake",
]


@pytest.fixture
def chromium() -> Path:
    # Tests ask for it before `dagster_dev`, so that where it is missing no server is started.
    return require_chromium()


def example_specs() -> list[JobSpec]:
    """The example's specs loaded with its assets, from definitions.py itself: other tests put
    other `definitions` modules on the import path."""
    loader = importlib.util.spec_from_file_location("launchpad_example", REPO / "definitions.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    # The checks with the assets: a check's parameters are its asset's.
    assets = [*(module.defs.assets or []), *(module.defs.asset_checks or [])]
    return load_job_specs(REPO / "job_specs", assets=assets)


def editor_lines(page: Page) -> list[str]:
    """The config editor's lines as shown on screen (CodeMirror renders one element a line)."""
    lines = page.locator(".CodeMirror .CodeMirror-line").all_inner_texts()
    # An empty line holds a zero-width space so that it keeps its height.
    return [line.replace("\u200b", "") for line in lines]


def skip_community_dialog(page: Page) -> None:
    # On a fresh instance served from 127.0.0.1 Dagster opens a "Join the Dagster community"
    # dialog a second after the page loads; a person would press Skip.
    dialog = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
    dialog.get_by_role("button", name="Skip").click(timeout=WAIT_MS)
    expect(dialog).to_be_hidden()


def skip_community_dialog_if_shown(page: Page, webserver: Webserver) -> None:
    # Dagster shows that dialog once per instance (DAGSTER_HOME): after a Skip in an earlier
    # test of the session, the page opens without it. Ask the server, as the page itself does.
    if graphql(webserver.port, "{ shouldShowNux }")["data"]["shouldShowNux"]:
        skip_community_dialog(page)


@contextmanager
def browser_page(
    chromium: Path,
    webserver: Webserver,
    path: str,
    on_failure: Path,
    viewport: tuple[int, int] = (1600, 1000),
) -> Iterator[Page]:
    """The server's page at ``path`` open in headless Chromium, past the community dialog; a
    screenshot is saved at ``on_failure`` if the test fails inside."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(f"{webserver.url}{path}")
            skip_community_dialog_if_shown(page, webserver)
            yield page
        except BaseException:
            page.screenshot(path=on_failure)
            print(f"screenshot: {on_failure}")
            raise
        finally:
            browser.close()


def launchpad(chromium: Path, webserver: Webserver, job: str, on_failure: Path) -> Any:
    """The job's launchpad (:func:`browser_page`)."""
    return browser_page(
        chromium, webserver, f"/locations/{LOCATION}/jobs/{job}/playground", on_failure
    )


def test_launchpad_shows_the_fields_and_launches_a_run(
    chromium: Path, dagster_dev: Webserver, tmp_path: Path
) -> None:
    webserver = dagster_dev
    spec = next(s for s in example_specs() if s.name == "sales_job")

    with launchpad(chromium, webserver, "sales_job", tmp_path / "failure.png") as page:
        # The spec's values are in the editor on opening, before any button is pressed:
        # the launchpad fills a new tab with the defaults of the job's config schema.
        expect(page.locator(".CodeMirror")).to_be_visible()
        expect(page.get_by_text("All defaults expanded")).to_be_visible()
        assert editor_lines(page) == [*PREFILLED, ""]

        # The type panel beside the editor lists every field of the spec, prefixed and
        # shared, with its description; `?` marks an optional field.
        panel = page.locator("code", has_text="marketing_ingestion_asset.source_bucket")
        shown = panel.inner_text()
        names = re.findall(r"^\s*([\w./]+)\??: \w+$", shown, flags=re.MULTILINE)
        # `params` is the one declared field inside Dagster's own `resources` section
        assert sorted(names) == sorted([*(field.name for field in spec.fields), "params"])
        # Dagster's own sections stand beside the fields, optional, passed through
        for section in ("ops", "resources", "execution", "loggers"):
            assert f"  {section}?: " in shown
        assert "params?: NexusParamsTakeFlatNames" in shown
        for field in spec.fields:
            optional = "" if field.required else "?"
            dagster_type = {"int": "Int", "float": "Float", "bool": "Bool"}.get(
                field.type.kind, "String"
            )
            assert f"{field.name}{optional}: {dagster_type}" in shown
            assert f"/* {field.description} */" in shown
        assert "  marketing_ingestion_asset.source_bucket: String" in shown
        assert "  target_bucket?: String" in shown

        # The required field without a value is flagged, and the run cannot be launched.
        expect(
            page.get_by_text(
                'Missing required config entry "marketing_ingestion_asset.source_bucket" '
                "at the root."
            )
        ).to_be_visible()
        launch = page.get_by_role("button", name="Launch Run")
        expect(launch).to_be_disabled()
        page.screenshot(path=tmp_path / "launchpad-opened.png")

        # A person types the missing value below the pre-filled ones.
        page.locator(".CodeMirror").click()
        page.keyboard.press("Control+End")
        page.keyboard.insert_text("marketing_ingestion_asset.source_bucket: mkt-raw")
        expect(page.get_by_text("No errors")).to_be_visible()
        expect(launch).to_be_enabled()
        page.screenshot(path=tmp_path / "launchpad-ready.png")

        launch.click()
        page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
        run_id = page.url.rsplit("/", 1)[1]
        webserver.wait_for_run(run_id)
        expect(page.get_by_text("Success", exact=True).first).to_be_visible()
        page.screenshot(path=tmp_path / "run-succeeded.png")

    assert webserver.stored_run_config(run_id) == {
        "resources": {},
        "sales_ingestion_asset.source_bucket": "sales-raw",
        "target_bucket": "analytics-lake",
        "marketing_ingestion_asset.source_bucket": "mkt-raw",
    }
    with webserver.instance() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.tags["dagster/from_ui"] == "true"
        assert run.status == dg.DagsterRunStatus.SUCCESS
    lake = webserver.data / "analytics-lake"
    assert read_csv_rows(lake / "sales.csv") == bucket_rows(webserver.data / "sales-raw")
    assert read_csv_rows(lake / "marketing.csv") == bucket_rows(webserver.data / "mkt-raw")
    recorded = webserver.recorded_params(run_id)
    assert recorded["marketing_ingestion_asset"]["source_bucket"] == {
        "value": "mkt-raw",
        "source": "per-asset",
        "field": "marketing_ingestion_asset.source_bucket",
    }
    # Values the launchpad pre-filled from the spec are recorded as the spec's defaults.
    assert recorded["sales_ingestion_asset"]["source_bucket"] == {
        "value": "sales-raw",
        "source": "default",
        "field": "sales_ingestion_asset.source_bucket",
    }
    assert recorded["sales_ingestion_asset"]["target_bucket"] == {
        "value": "analytics-lake",
        "source": "default",
        "field": "target_bucket",
    }


# What the editor holds once partition 2026-11-05 of daily_orders_job is chosen: the spec's
# values (job_specs/daily_orders_job.yaml) under the `params` resource's untyped `values`, as
# the job's partitioned config gives them, below the resource's other fields at their defaults.
# The launchpad writes the YAML itself: keys sorted, strings quoted.
PARTITION_CONFIG = [
    "resources:",
    "  params:",
    "    config:",
    "      config: {}",
    "      from_spec: []",
    "      values:",
    "        daily_orders.source_bucket: 'orders-daily'",
    "        min_amount: 20",
    "        target_bucket: 'orders-lake'",
    "",
]

# How Dagster's text input is outlined in red: its style sets the stroke to the red accent.
RED_OUTLINE = re.compile(r"--text-input-stroke-color:\s*var\(--color-accent-red\)")


def test_launchpad_of_a_partitioned_job_fills_the_partition_config_and_launches_it(
    chromium: Path, dagster_dev: Webserver, tmp_path: Path
) -> None:
    """A person opens daily_orders_job's launchpad: a red-outlined "Partition" box above an
    editor without the spec's values. They open the box, pick 2026-11-05 from the list of days,
    see the spec's values and the partition's tags appear, launch, and watch the run succeed."""
    webserver = dagster_dev
    partition = "2026-11-05"

    def screenshot(name: str) -> None:
        path = tmp_path / name
        page.screenshot(path=path)
        print(f"screenshot: {path}")

    with launchpad(
        chromium, webserver, "daily_orders_job", tmp_path / "partitioned-failure.png"
    ) as page:
        # Before a partition is chosen the editor holds only the schema's defaults: the
        # spec's values come with a partition, from the job's partitioned config.
        expect(page.locator(".CodeMirror")).to_be_visible()
        expect(page.locator(".CodeMirror .CodeMirror-line", has_text="values")).to_have_text(
            "      values: {}"
        )
        # The empty picker is outlined in red, the one hint that a partition is needed:
        # Launch Run stays enabled, so it is not checked here.
        picker = page.get_by_role("combobox")
        expect(picker).to_have_attribute("placeholder", "Partition")
        expect(picker).to_have_value("")
        expect(picker).to_have_attribute("style", RED_OUTLINE)
        screenshot("partitioned-launchpad-opened.png")

        # The picker lists the job's days, oldest first; a person clicks one.
        picker.click()
        days = page.get_by_role("menuitem")
        expect(days.first).to_have_text("2026-11-01")
        screenshot("partitioned-launchpad-picker.png")
        page.get_by_role("menuitem", name=partition, exact=True).click()

        expect(picker).to_have_value(partition)
        expect(picker).not_to_have_attribute("style", RED_OUTLINE)
        expect(page.locator(".CodeMirror")).to_contain_text("target_bucket: 'orders-lake'")
        assert editor_lines(page) == PARTITION_CONFIG
        # The run's partition tags are shown beside the spec's own tag, without `dagster/`.
        expect(page.get_by_text(f"partition: {partition}", exact=True)).to_be_visible()
        expect(page.get_by_text("team: data", exact=True)).to_be_visible()
        expect(page.get_by_text("No errors")).to_be_visible()
        launch = page.get_by_role("button", name="Launch Run")
        expect(launch).to_be_enabled()
        screenshot("partitioned-launchpad-ready.png")

        launch.click()
        page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
        run_id = page.url.rsplit("/", 1)[1]
        # Its two steps run one after the other in the run's process (ui_support.EXECUTOR).
        webserver.wait_for_run(run_id)
        expect(page.get_by_text("Success", exact=True).first).to_be_visible()
        expect(page.get_by_text(f"partition: {partition}", exact=True).first).to_be_visible()
        screenshot("partitioned-run-succeeded.png")

    assert webserver.stored_run_config(run_id) == {
        "resources": {
            "params": {
                "config": {
                    "config": {},
                    "from_spec": [],
                    "values": {
                        "daily_orders.source_bucket": "orders-daily",
                        "min_amount": 20,
                        "target_bucket": "orders-lake",
                    },
                }
            }
        }
    }
    with webserver.instance() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == partition
        assert run.tags["dagster/from_ui"] == "true"
        assert run.tags["team"] == "data"
    orders = webserver.data / "orders-lake" / "orders"
    assert read_csv_rows(orders / f"{partition}.csv") == read_csv_rows(
        webserver.data / "orders-daily" / f"{partition}.csv"
    )
    summary = (orders / f"{partition}.md").read_text()
    assert summary.startswith(f"# Orders from {partition}T00:00:00+00:00 to 2026-11-06T00:00")
    # The values came from the partitioned config, so they are recorded as the spec's own.
    recorded = webserver.recorded_params(run_id)
    assert recorded["daily_orders"]["source_bucket"] == {
        "value": "orders-daily",
        "source": "default",
        "field": "daily_orders.source_bucket",
    }
    assert recorded["daily_summary"]["min_amount"] == {
        "value": 20,
        "source": "default",
        "field": "min_amount",
    }
