"""The product as a newcomer runs it: README's commands, in a fresh copy of the tree
and a fresh virtualenv, as real processes on free ports."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEMO_CAMPAIGN = "Card renewals"
# a newcomer's shell has none of these: the product must run on its defaults
PRODUCT_SETTINGS = re.compile(r"^(DATABASE_URL|REDIS_URL|SECRET_KEY|ECM_.*|FLASK_.*)$")


def readme_blocks(heading: str) -> list[str]:
    """The ```sh blocks of one README section, in order."""
    text = README.read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", section, re.S)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_copy(dest: Path) -> Path:
    """The files git would clone (tracked, plus new files not ignored), nothing else."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def fresh_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder


def newcomer_env(venv: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not PRODUCT_SETTINGS.match(k)}
    env.pop("PYTHONPATH", None)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PYTHONUNBUFFERED="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    env.update(extra)
    return env


def start(command: str, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Run a README line through bash, as its own process group."""
    return subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


class Client:
    """The ECM API over real HTTP, as an integrator calls it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token: str | None = None

    def call(self, method: str, path: str, body=None, *, data=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as res:
                payload = res.read()
                status = res.status
        except urllib.error.HTTPError as exc:
            payload, status = exc.read(), exc.code
        try:
            return status, json.loads(payload or b"null")
        except ValueError:
            return status, payload.decode(errors="replace")

    def up(self) -> bool:
        try:
            return self.call("GET", "/healthz")[0] in (200, 503)
        except OSError:
            return False

    def login(self, username: str, password: str) -> None:
        status, body = self.call(
            "POST", "/umm/api/login", {"username": username, "password": password}
        )
        assert status == 200, body
        self.token = body["token"]

    def campaign_id(self, name: str) -> int:
        status, campaigns = self.call("GET", "/umm/ecm/campaign")
        assert status == 200, campaigns
        return int(next(c["id"] for c in campaigns if c["name"] == name))

    def resume(self, campaign_id: int) -> None:
        status, body = self.call(
            "POST",
            "/umm/ecm/campaign/campaignUpdateStatus",
            {"id": campaign_id, "status": 1},
        )
        assert status == 200, body

    def dialed_since(self, campaign_id: int, since: str) -> int:
        """Contacts the feed handed to the dialer at or after `since` (ISO 8601 Z;
        the demo's own history is older)."""
        total, page = 0, 0
        while True:
            status, body = self.call(
                "GET",
                f"/umm/ecm/callback/getList?campaignId={campaign_id}"
                f"&size=1000&page={page}",
            )
            assert status == 200, body
            rows = body["callbackData"]
            total += sum(1 for c in rows if (c.get("requestTime") or "") >= since)
            if len(rows) < 1000:
                return total
            page += 1

    def upload(self, campaign_id: int, csv_bytes: bytes) -> int:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="campaignId"'
            f"\r\n\r\n{campaign_id}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="contacts.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
            + csv_bytes
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        status, body = self.call(
            "POST",
            "/umm/ecm/callback/uploadBulkCaller",
            data=b"".join(parts),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert status == 200, body
        return int(body["uploadId"])

    def upload_status(self, upload_id: int) -> dict:
        status, body = self.call("GET", f"/umm/ecm/upload/{upload_id}")
        assert status == 200, body
        return body


def contacts_csv(rows: int) -> bytes:
    """phone1..phone5, businessParam1..12, dialTime — the seed's column order."""
    lines = [
        "phone1,phone2,phone3,phone4,phone5,"
        + ",".join(f"businessParam{i}" for i in range(1, 13))
        + ",dialTime"
    ]
    for i in range(rows):
        lines.append(f"+1617555{i:04d},,,,,customer-{i}" + "," * 11 + ",")
    return ("\n".join(lines) + "\n").encode()


def wait_for(condition, timeout: float, message: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(message)


def demo_dials_and_imports(client: Client, password: str, log: Path) -> dict:
    """Sign in, resume the demo campaign, see 20 contacts dialed within 60 s, and a
    10,000-row upload reach done. Returns the figures seen."""
    client.login("admin", password)
    campaign = client.campaign_id(DEMO_CAMPAIGN)
    resumed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.dialed_since(campaign, resumed_at) == 0
    client.resume(campaign)
    started = time.monotonic()
    wait_for(
        lambda: client.dialed_since(campaign, resumed_at) >= 20,
        60,
        f"fewer than 20 contacts dialed in 60 s; log:\n{log.read_text()[-4000:]}",
    )
    dialed_after = time.monotonic() - started
    upload_id = client.upload(campaign, contacts_csv(10_000))
    started = time.monotonic()
    done = wait_for(
        lambda: (
            (s := client.upload_status(upload_id))["state"] in ("done", "failed") and s
        ),
        120,
        f"the upload never finished; log:\n{log.read_text()[-4000:]}",
    )
    assert done["state"] == "done", done
    assert done["rowsRead"] == 10_000 and done["accepted"] == 10_000, done
    return {"dialedAfter": dialed_after, "importSeconds": time.monotonic() - started}
