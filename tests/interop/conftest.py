"""Fixtures for the exchangelib interop suite.

Each auth scheme gets its own simulator process (NTLM only, or Basic only), so a test that
passes proves the scheme it names was the one used. The simulator is the real `ews-sim`
binary (EWS_SIM_BIN), started from a config written here, on free loopback ports, with a CA
it generates at start; exchangelib is pointed at that CA explicitly (this machine sets
REQUESTS_CA_BUNDLE globally, which must not decide what we trust).
"""

import json
import os
import select
import subprocess
import time
from pathlib import Path

import pytest
import requests.adapters
from exchangelib import (
    BASIC,
    IMPERSONATION,
    NTLM,
    Account,
    Build,
    Configuration,
    Credentials,
    Version,
)
from exchangelib.protocol import BaseProtocol

DOMAIN = "contoso.test"
SERVICE_USER = "svc-exsync"
SERVICE_PASSWORD = "Interop-Pa55word!"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"  # exists, but the service account may not impersonate her

SEED_SUBJECTS = [f"Seeded message {i}" for i in range(1, 8)]


def _config(ntlm: bool, basic: bool) -> dict:
    return {
        "domains": [DOMAIN],
        "netbios_domain": "CONTOSO",
        "accounts": [
            {"user": SERVICE_USER, "password": SERVICE_PASSWORD, "smtp": f"{SERVICE_USER}@{DOMAIN}"},
        ],
        "mailboxes": [
            {"smtp": f"{SERVICE_USER}@{DOMAIN}", "display_name": "exsync service"},
            {
                "smtp": ALICE,
                "display_name": "Alice Anders",
                "seed_messages": [
                    {
                        "from": f"customer{i}@fabrikam.test",
                        "from_name": f"Customer {i}",
                        "subject": s,
                        "body": f"Body of {s}",
                        "internet_message_id": f"<seed-{i}@fabrikam.test>",
                    }
                    for i, s in enumerate(SEED_SUBJECTS, start=1)
                ],
            },
            {"smtp": BOB, "display_name": "Bob Berg"},
            {"smtp": CAROL, "display_name": "Carol Christensen"},
        ],
        "impersonation": [{"account": SERVICE_USER, "scope": {"mailboxes": [ALICE, BOB]}}],
        "auth": {"ntlm": ntlm, "basic": basic},
        "throttling": {"max_concurrency": 10},
        "server": {"version": "2010sp3", "validate_requests": True},
    }


class Sim:
    """A running ews-sim process and what it printed about itself."""

    def __init__(self, proc: subprocess.Popen, info: dict, ca_path: Path):
        self.proc = proc
        self.info = info
        self.ca_path = ca_path
        self.ews_url = info["ews_url"]


def _start_sim(tmp: Path, ntlm: bool, basic: bool) -> Sim:
    binary = os.environ.get("EWS_SIM_BIN")
    if not binary or not Path(binary).exists():
        pytest.fail("EWS_SIM_BIN must name the built ews-sim binary (make test-interop sets it)")
    cfg = tmp / "sim.json"
    cfg.write_text(json.dumps(_config(ntlm, basic)))
    ca_path = tmp / "ca.pem"
    proc = subprocess.Popen(
        [binary, "--config", str(cfg), "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
         "--ca-out", str(ca_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,  # unbuffered: readline() must not read ahead of what select() saw
    )
    info: dict = {}
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while "ews_url" not in info or "ca_path" not in info or "ready" not in info:
        if proc.poll() is not None:
            pytest.fail(f"ews-sim exited with {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("ews-sim did not print its URLs within 60 s")
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline().decode().strip()
            if "=" in line:
                key, value = line.split("=", 1)
                info[key.strip()] = value.strip()
            elif line == "ready":
                info["ready"] = "1"
    return Sim(proc, info, Path(info["ca_path"]))


@pytest.fixture(scope="session")
def sims(tmp_path_factory):
    """One simulator per auth scheme: {'ntlm': Sim, 'basic': Sim}."""
    started = {
        "ntlm": _start_sim(tmp_path_factory.mktemp("sim-ntlm"), ntlm=True, basic=False),
        "basic": _start_sim(tmp_path_factory.mktemp("sim-basic"), ntlm=False, basic=True),
    }
    # Trust exactly the simulators' CAs. exchangelib sends every request through
    # BaseProtocol.HTTP_ADAPTER_CLS; we pick the CA by the URL's port.
    by_port = {s.ews_url.split(":")[2].split("/")[0]: str(s.ca_path) for s in started.values()}

    class SimCAAdapter(requests.adapters.HTTPAdapter):
        def cert_verify(self, conn, url, verify, cert):
            port = url.split(":")[2].split("/")[0] if url.count(":") >= 2 else ""
            super().cert_verify(conn=conn, url=url, verify=by_port.get(port, verify), cert=cert)

    BaseProtocol.HTTP_ADAPTER_CLS = SimCAAdapter
    yield started
    for s in started.values():
        s.proc.terminate()
        try:
            s.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            s.proc.kill()


@pytest.fixture(params=["ntlm", "basic"])
def scheme(request):
    return request.param


def make_account(sim: Sim, scheme: str, smtp: str, password: str = SERVICE_PASSWORD) -> Account:
    config = Configuration(
        service_endpoint=sim.ews_url,
        credentials=Credentials(f"CONTOSO\\{SERVICE_USER}", password),
        auth_type=NTLM if scheme == "ntlm" else BASIC,
        # Exchange 2010 SP2 schema level: exchangelib then asks only for fields that level
        # has, so the simulator keeps validating every request against Microsoft's schema.
        version=Version(build=Build(14, 2)),
    )
    return Account(primary_smtp_address=smtp, config=config, autodiscover=False, access_type=IMPERSONATION)


@pytest.fixture
def alice(sims, scheme) -> Account:
    return make_account(sims[scheme], scheme, ALICE)


@pytest.fixture
def bob(sims, scheme) -> Account:
    return make_account(sims[scheme], scheme, BOB)
