"""Secrets (docs/security.md): only `{env: VAR}` is accepted, the value is read inside the run, and it
is never written anywhere Dagster stores or prints things."""

import hashlib
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from nexus_dagster import NexusSpecError, load_job_specs

from .conftest import new_dagster_home, write_specs
from .forked_dagster import dagster

LOCATIONS = Path(__file__).parent / "locations"
SECRET = "tok-Zq81-very-secret-value"
CLI_TIMEOUT = 180  # seconds, for a `dagster job execute`
# The run's one step in the launching process: what Dagster stores and prints is tested, not
# where the step runs.
IN_PROCESS = "execution: {config: {in_process: {}}}\n"


def run_orders_job(
    tmp_path: Path, run_config: str, env_value: str | None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    home = new_dagster_home(tmp_path / "home")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PROBE_OUT": str(tmp_path / "out")}
    env.pop("ORDERS_API_TOKEN", None)
    if env_value is not None:
        env["ORDERS_API_TOKEN"] = env_value
    (tmp_path / "run.yaml").write_text(IN_PROCESS + run_config)
    # a process of its own, forked from one that has imported Dagster (`forked_dagster`): it
    # imports the location anew, with this environment
    command = ["job", "execute", "-f", str(LOCATIONS / "secret_location.py"), "-j", "orders_job"]
    command += ["-c", str(tmp_path / "run.yaml")]
    result = dagster(command, env=env, timeout=CLI_TIMEOUT)
    return result, home


def every_stored_byte(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_secret_reaches_the_asset_and_is_stored_nowhere(tmp_path: Path) -> None:
    result, home = run_orders_job(tmp_path, "", SECRET)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads((tmp_path / "out" / "fetch_orders.json").read_text())
    assert seen["sha256"] == hashlib.sha256(SECRET.encode()).hexdigest()
    stored = every_stored_byte(home)
    assert SECRET.encode() not in stored
    assert SECRET not in result.stdout + result.stderr
    assert b'"***"' in stored  # the materialization metadata shows it masked


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        if event.event_type in (dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE):
            texts.append(event.message or "")
            error = getattr(event.event_specific_data, "error", None)
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)


def test_unset_variable_names_the_variable_never_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORDERS_API_TOKEN", raising=False)
    monkeypatch.setenv("PROBE_OUT", str(tmp_path / "out"))
    spec = importlib.util.spec_from_file_location(
        "nexus_secret_location", LOCATIONS / "secret_location.py"
    )
    assert spec is not None and spec.loader is not None
    location = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(location)
    result = location.defs.resolve_job_def("orders_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    output = _failure_text(result)
    assert "reads the environment variable `ORDERS_API_TOKEN`, which is not set" in output
    assert not (tmp_path / "out").exists()  # the step stopped before its output


def test_plain_string_at_launch_is_refused_without_repeating_it(tmp_path: Path) -> None:
    result, home = run_orders_job(tmp_path, f"fetch_orders.api_token: {SECRET}\n", SECRET)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        'Value at path root:fetch_orders.api_token must be dict. Expected: "{ env: String }"'
        in output
    )
    assert SECRET not in output
    assert SECRET.encode() not in every_stored_byte(home)


@pytest.mark.parametrize(
    "value",
    [f'"{SECRET}"', f"{{env: {SECRET}, extra: 1}}", f"[{SECRET}]", "{env: ''}"],
)
def test_plain_values_in_a_spec_are_refused_without_repeating_them(
    tmp_path: Path, value: str
) -> None:
    import dagster as dg

    @dg.asset(metadata={"nexus/params": {"api_token": "secret"}})
    def uses_token() -> None: ...

    folder = write_specs(
        tmp_path / "specs",
        {
            "s.yaml": f"selection: [uses_token]\nops_config:\n  uses_token:\n    api_token: {value}\n"
        },
    )
    with pytest.raises(NexusSpecError) as err:
        load_job_specs(folder, assets=[uses_token])
    message = str(err.value)
    assert "a secret takes only an environment reference such as `{env: MY_VAR}`" in message
    assert "s.yaml:4:5: ops_config.uses_token.api_token" in message
    assert SECRET not in message


def test_params_schema_cannot_make_a_secret_plain(tmp_path: Path) -> None:
    import dagster as dg

    @dg.asset(metadata={"nexus/params": {"api_token": "secret!"}})
    def uses_token() -> None: ...

    folder = write_specs(
        tmp_path / "specs",
        {"s.yaml": "selection: [uses_token]\nparams_schema:\n  uses_token.api_token: string\n"},
    )
    with pytest.raises(
        NexusSpecError, match="cannot turn `uses_token`'s declared type `secret!` into `string`"
    ):
        load_job_specs(folder, assets=[uses_token])
