"""deploy/compose.yaml: PostgreSQL, two webhook replicas on it, and a TLS proxy in front.

No Docker engine runs where the tests run, so these read the files as
Compose and Caddy would and check that the parts fit together.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.channels.telegram.webhook import served_path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
CADDY = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")


def bots() -> dict[str, dict]:
    return {
        name: service
        for name, service in COMPOSE["services"].items()
        if "TELEGRAM_WEBHOOK_URL" in service.get("environment", {})
    }


def test_two_replicas_share_the_postgres_service() -> None:
    """Two bot services, each on the db service's database, started once it is ready."""
    replicas = bots()
    assert len(replicas) == 2
    assert COMPOSE["services"]["db"]["image"].startswith("postgres:")
    for service in replicas.values():
        url = service["environment"]["ADVISOR_DATABASE_URL"]
        assert re.fullmatch(
            r"postgresql://advisor:\$\{POSTGRES_PASSWORD[^}]*\}@db:5432/advisor", url
        )
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["restart"] == "unless-stopped"


def test_the_proxy_spreads_the_webhook_over_both_replicas() -> None:
    """Caddy strips the public prefix and proxies to each replica's port; the path left
    is the one the replicas serve."""
    proxy = COMPOSE["services"]["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "443:443" in proxy["ports"]
    url = next(iter(bots().values()))["environment"]["TELEGRAM_WEBHOOK_URL"]
    prefix = re.search(r"handle_path (/\S+)/\* \{", CADDY)
    assert prefix is not None
    public_path = url.split("}", 1)[1]
    assert public_path == prefix.group(1) + served_path(public_path)
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", CADDY)
    assert upstreams is not None
    port = next(iter(bots().values()))["environment"]["ADVISOR_WEBHOOK_PORT"]
    assert sorted(upstreams.group(1).split()) == [f"{name}:{port}" for name in sorted(bots())]


def test_every_variable_compose_needs_is_in_the_example() -> None:
    needed = set(re.findall(r"\$\{(\w+)", (DEPLOY / "compose.yaml").read_text(encoding="utf-8")))
    example = (DEPLOY / "example.env").read_text(encoding="utf-8")
    given = set(re.findall(r"^(\w+)=", example, re.M))
    assert needed <= given, needed - given
