"""The container image (``Containerfile``), run with podman: ``make image-test`` builds it on a
local Debian base and runs these tests with ``NORTHCA_TEST_IMAGE`` set; without it they skip.

Every container uses the host's network (``--network host``) on a free port of its own, runc and
explicit ulimits, as this machine allows (README "Run it in a container").
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.support import DEFAULT, auth_headers
from tests.test_proxy import _getting_started_flow

IMAGE = os.environ.get("NORTHCA_TEST_IMAGE", "")
PODMAN = shlex.split(os.environ.get("PODMAN", "podman --runtime runc"))
HOST_NET = [
    "--network",
    "host",
    "--ulimit",
    "nofile=4096:4096",
    "--ulimit",
    "nproc=4096:4096",
]
ROOT = Path(__file__).resolve().parents[1]
SHIFTS = f"/v1/mdts/{DEFAULT.mdt_id}/shifts"

pytestmark = pytest.mark.skipif(not IMAGE, reason="run by `make image-test` (builds the image)")


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.returncode}\n{done.stderr}")
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Container:
    """One ``podman run -d`` of the image; ``url`` answers once it is up."""

    def __init__(self, *command: str, env: dict[str, str] | None = None, volume: str = "") -> None:
        self.name = f"northca-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = list(command)
        self.env = {"NORTHCA_PORT": str(self.port), **(env or {})}
        self.volume = volume

    def __enter__(self) -> Container:
        args = ["run", "-d", "--name", self.name, *HOST_NET]
        for name, value in self.env.items():
            args += ["-e", f"{name}={value}"]
        if self.volume:
            args += ["-v", self.volume]
        podman(*args, IMAGE, *self.command)
        self.wait_up()
        return self

    def wait_up(self, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/openapi.json", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        logs = podman("logs", self.name, check=False)
        raise AssertionError(f"{self.name} did not answer: {logs.stdout}{logs.stderr}")

    def stop(self) -> tuple[float, int]:
        """SIGTERM (``podman stop`` kills only after 10 s): seconds taken and the exit code."""
        started = time.monotonic()
        podman("stop", "--time", "10", self.name)
        taken = time.monotonic() - started
        code = podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout.strip()
        return taken, int(code)

    def __exit__(self, *exc: object) -> None:
        podman("rm", "--force", "--time", "0", self.name, check=False)


@pytest.fixture(scope="module")
def mock() -> Iterator[Container]:
    with Container() as container:
        yield container


def test_the_image_runs_as_a_non_root_user_with_its_port_healthcheck_and_volume() -> None:
    inspected = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert list(config["ExposedPorts"]) == ["4010/tcp"]
    assert config["Entrypoint"] == ["northca-mock"]
    assert config["Cmd"] == ["serve", "--host", "0.0.0.0"]
    assert list(config["Volumes"]) == ["/data"]
    assert "curl" not in " ".join(inspected["Healthcheck"]["Test"])


def test_the_healthcheck_passes_on_a_running_mock(mock: Container) -> None:
    assert podman("healthcheck", "run", mock.name, check=False).returncode == 0


def test_the_readme_curl_flow_runs_against_the_container(mock: Container) -> None:
    if shutil.which("curl") is None:
        pytest.fail("the README's flow needs curl on the host")
    script = _getting_started_flow().replace("http://127.0.0.1:4010", mock.url)
    ran = subprocess.run(
        ["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert '{"ok":false,"error":"Duplicate unit id in request body"}' in ran.stdout


def test_the_host_guard_refuses_a_container_name_unless_allowed(mock: Container) -> None:
    named = {**auth_headers(), "Host": f"northca:{mock.port}"}
    refused = requests.get(mock.url + SHIFTS, headers=named, timeout=10)
    assert (refused.status_code, refused.json()) == (403, {"ok": False, "error": "Forbidden host"})
    with Container(env={"NORTHCA_ALLOWED_HOSTS": "northca"}) as allowed:
        named["Host"] = f"northca:{allowed.port}"
        assert requests.get(allowed.url + SHIFTS, headers=named, timeout=10).status_code == 200
        rebinding = {**named, "Host": f"attacker.example:{allowed.port}"}
        assert requests.get(allowed.url + SHIFTS, headers=rebinding, timeout=10).status_code == 403


def test_state_survives_a_restart_and_sigterm_writes_it_within_5_seconds() -> None:
    volume = f"northca-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    try:
        env = {"NORTHCA_STATE_FILE": "/data/state.json"}
        with Container(env=env, volume=f"{volume}:/data") as first:
            created = requests.post(
                first.url + SHIFTS, json={"officer_name": "B. Bubbleton"}, headers=auth_headers()
            )
            assert created.status_code == 201
            taken, code = first.stop()
            assert taken < 5, taken
            assert code == 0
        with Container(env=env, volume=f"{volume}:/data") as second:
            listed = requests.get(second.url + SHIFTS, headers=auth_headers(), timeout=10).json()
        assert [shift["id"] for shift in listed["data"]] == [created.json()["data"]["id"]]
    finally:
        podman("volume", "rm", "--force", volume, check=False)


def test_a_world_mounted_as_seed_is_served(tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    world.write_text(
        json.dumps(
            {
                "partner_keys": {"container-key": "Container Partner"},
                "mdts": [{"id": "m-1", "owner_discord_id": "1"}],
                "links": [{"mdt_id": "m-1", "guild_id": "42"}],
            }
        )
    )
    world.chmod(0o644)
    env = {"NORTHCA_SEED": "/world/world.json"}
    with Container(env=env, volume=f"{world}:/world/world.json:ro,Z") as seeded:
        headers = {"x-partner-key": "container-key", "x-discord-guild": "42"}
        answer = requests.get(seeded.url + "/v1/mdts/m-1/shifts", headers=headers, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"ok": True, "data": []})


def test_northca_contracts_from_the_image_passes_against_the_containerised_mock(
    mock: Container,
) -> None:
    checked = podman(
        "run",
        "--rm",
        *HOST_NET,
        "--entrypoint",
        "northca-contracts",
        IMAGE,
        "check",
        "--url",
        mock.url,
        "--partner-key",
        DEFAULT.partner_key,
        "--guild",
        DEFAULT.guild_id,
        "--mdt",
        DEFAULT.mdt_id,
        "--actor",
        DEFAULT.actor_id,
        "--max-examples",
        "5",
        timeout=600,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-2000:]


def test_the_proxy_from_the_image_forwards_to_the_mock(mock: Container) -> None:
    proxy = Container("proxy", "--host", "127.0.0.1", "--upstream", mock.url + "/v1")
    proxy.command += ["--port", str(proxy.port)]  # NORTHCA_PORT is serve's
    with proxy:
        through = requests.get(proxy.url + SHIFTS, headers=auth_headers(), timeout=10)
        report = requests.get(proxy.url + "/__mock/deviations", timeout=10).json()["data"]
    assert through.status_code == 200
    assert report["deviations"] == []


def test_compose_services_run_by_hand_the_bot_reaches_the_mock_by_name() -> None:
    """compose.yaml's two services as ``podman run`` commands (podman compose is not installed
    here): the name ``northca`` resolves to the mock (``--add-host`` on the host network) and the
    mock lets that Host through only because compose.yaml allows it."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]
    mock_env, bot = compose["northca"]["environment"], compose["bot"]
    assert mock_env["NORTHCA_ALLOWED_HOSTS"] == "northca"
    assert bot["environment"]["NORTHCA_URL"] == "http://northca:4010/v1"
    assert bot["volumes"] == ["./examples/compose:/bot:ro"]
    with Container(env={"NORTHCA_ALLOWED_HOSTS": mock_env["NORTHCA_ALLOWED_HOSTS"]}) as mock:
        ran = podman(
            "run",
            "--rm",
            *HOST_NET,
            "--add-host",
            "northca:127.0.0.1",
            "-v",
            f"{ROOT / 'examples/compose'}:/bot:ro,Z",
            "-e",
            f"NORTHCA_URL=http://northca:{mock.port}/v1",
            "--entrypoint",
            bot["entrypoint"][0],
            IMAGE,
            *bot["entrypoint"][1:],
            check=False,
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[-1] == "bot: ok"


#: What the image adds to its base at most: python:3.12-slim is about 125 MB, and the image must
#: stay under 200 MB on it (README "Run it in a container").
MAX_ADDED_MB = 70


def test_the_image_adds_at_most_70_mb_to_its_base() -> None:
    base = os.environ.get("NORTHCA_TEST_BASE")
    if not base:
        pytest.fail("make image-test sets NORTHCA_TEST_BASE")
    sizes = [
        int(podman("image", "inspect", "--format", "{{.Size}}", name).stdout)
        for name in (IMAGE, base)
    ]
    added_mb = (sizes[0] - sizes[1]) / 1e6
    assert added_mb < MAX_ADDED_MB, added_mb
