"""DiscordWorker with stand-ins for Discord, the app configs and the figures: report pagination,
refusals on buttons keep the message, a failed edit is reported, not raised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from liveops.discord.commands import page_custom_id, parse_page_custom_id
from liveops.discord.limits import message_problems
from liveops.discord.rest import DiscordError
from liveops.discord.worker import FAILED, DiscordWorker
from liveops.models.app_config import load_app_config

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
GUILD = "123456789"
CONFIG = load_app_config(
    {
        "app_id": "game-one",
        "name": "Game One",
        "platforms": ["web"],
        "events": {"run_end": {}},
        "discord": {"guild_id": GUILD},
    }
)


class Rest:
    def __init__(self, fail: bool = False, refuse_first: bool = False) -> None:
        self.edits: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.fail = fail
        self.refuse_first = refuse_first

    def edit_original_interaction_response(
        self, app: str, token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        if self.fail:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if self.refuse_first:
            self.refuse_first = False
            raise DiscordError(400, 50035, "Invalid Form Body")
        self.edits.append(payload)
        return {"id": "1"}

    def create_followup_message(self, app: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.followups.append(payload)
        return {"id": "2"}


class Apps:
    def list_apps(self) -> list[tuple[str, int]]:
        return [("game-one", 1)]

    def get_config(self, app_id: str) -> Any:
        return (CONFIG, 1) if app_id == "game-one" else None


class Data:
    kanon_min = 10

    def telemetry(self, config: Any, sections: list[str], now: datetime) -> dict[str, Any]:
        kpis = [
            {"kpi": f"kpi_{i:03d}", "numerator": i, "denominator": 100, "value": i / 100, "dims": {}}
            for i in range(90)
        ]
        return {"from": now - timedelta(days=7), "to": now, "kpis": kpis}


def worker(rest: Rest) -> DiscordWorker:
    return DiscordWorker(rest, Apps(), lambda: None, Data, clock=lambda: NOW)


def interaction(kind: int, data: dict[str, Any], guild: str = GUILD) -> dict[str, Any]:
    return {"type": kind, "id": "99", "application_id": "1", "token": "t", "guild_id": guild, "data": data}


def test_report_pages_move_with_the_buttons() -> None:
    rest = Rest()
    command = interaction(2, {"name": "telemetry_report", "options": [{"name": "section", "value": "kpis"}]})
    assert worker(rest).handle(command)["status"] == "ok"
    first = rest.edits[-1]
    buttons = [b for row in first["components"] for b in row["components"]]
    assert [parse_page_custom_id(b["custom_id"]) for b in buttons] == [
        ("game-one", "kpis", 0),
        ("game-one", "kpis", 1),
    ]
    assert buttons[0].get("disabled") is True and not buttons[1].get("disabled")
    names = [f["name"] for e in first["embeds"] for f in e.get("fields", [])]
    assert names[0] == "KPIs · `kpi_000`"
    seen = set(names)
    page = 1
    while True:
        press = interaction(3, {"custom_id": page_custom_id("game-one", "kpis", page), "component_type": 2})
        worker(rest).handle(press)
        shown = rest.edits[-1]
        assert message_problems(shown) == []
        page_names = [f["name"] for e in shown["embeds"] for f in e.get("fields", [])]
        assert not seen & set(page_names)
        seen |= set(page_names)
        nxt = [b for row in shown["components"] for b in row["components"]][1]
        if nxt.get("disabled"):
            break
        page += 1
    assert len(seen) == 90 and page >= 2


def test_refusals_on_buttons_keep_the_message_and_commands_get_a_notice() -> None:
    rest = Rest()
    press = interaction(3, {"custom_id": page_custom_id("other-app", "kpis", 1), "component_type": 2})
    assert worker(rest).handle(press)["status"] == "refused"
    assert rest.edits[-1] == {
        "content": "⚠️ The app `other-app` is not linked to this server.",
        "allowed_mentions": {"parse": []},
    }
    dm = interaction(2, {"name": "incidents"}, guild="")
    assert worker(rest).handle(dm)["status"] == "refused"
    assert rest.edits[-1]["embeds"] == [] and "server linked to an app" in rest.edits[-1]["content"]
    unknown = interaction(3, {"custom_id": "nope:1", "component_type": 2})
    assert worker(rest).handle(unknown)["status"] == "refused"


def test_an_unexpected_failure_edits_the_original_with_a_notice() -> None:
    rest = Rest()
    broken = interaction(2, {"name": "incidents"})  # the incident service stand-in is None
    assert worker(rest).handle(broken)["status"] == "failed"
    assert rest.edits[-1]["content"] == FAILED


def test_an_expired_token_is_reported_not_raised() -> None:
    result = worker(Rest(fail=True)).handle(interaction(2, {"name": "telemetry_report"}))
    assert result["status"] == "not_delivered" and "Unknown Webhook" in result["error"]


def test_an_answer_discord_refuses_is_replaced_by_a_notice() -> None:
    rest = Rest(refuse_first=True)
    result = worker(rest).handle(interaction(2, {"name": "telemetry_report"}))
    assert result["status"] == "failed" and rest.edits == [
        {"content": FAILED, "embeds": [], "components": [], "allowed_mentions": {"parse": []}}
    ]


# --- finish(): the function's entry point, whatever fails -------------------------------------------


def test_a_worker_that_cannot_be_built_still_edits_the_original() -> None:
    from liveops.discord.worker import finish
    from liveops.errors import Unavailable

    def cannot_build() -> DiscordWorker:
        raise Unavailable("secret /liveops/discord/bot-token could not be read; retry later")

    for kind, expected in (
        (2, {"content": FAILED, "embeds": [], "components": [], "allowed_mentions": {"parse": []}}),
        (3, {"content": f"⚠️ {FAILED}", "allowed_mentions": {"parse": []}}),  # keeps the message
    ):
        fallback = Rest()
        result = finish(
            {"interaction": interaction(kind, {"name": "incidents"})}, cannot_build, lambda f=fallback: f
        )
        assert result["status"] == "failed" and fallback.edits == [expected]


def test_a_failure_handle_lets_through_still_edits_the_original() -> None:
    from liveops.discord.worker import finish

    class Unserializable(Rest):
        def edit_original_interaction_response(
            self, app: str, token: str, payload: dict[str, Any]
        ) -> dict[str, Any]:
            raise TypeError("Object of type datetime is not JSON serializable")

    fallback = Rest()
    built = worker(Unserializable())
    result = finish(
        {"interaction": interaction(2, {"name": "telemetry_report"})}, lambda: built, lambda: fallback
    )
    assert result["status"] == "failed" and fallback.edits[-1]["content"] == FAILED


def test_finish_never_raises() -> None:
    from liveops.discord.worker import finish

    def broken() -> Any:
        raise RuntimeError("no settings")

    result = finish({"interaction": interaction(2, {"name": "incidents"})}, broken, lambda: Rest(fail=True))
    assert result["status"] == "not_delivered" and "Unknown Webhook" in result["error"]
    assert finish({}, broken, broken) == {"status": "invalid"}
    assert (
        finish({"interaction": interaction(2, {"name": "incidents"})}, broken, broken)["status"]
        == "not_delivered"
    )
