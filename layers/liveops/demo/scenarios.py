"""Realistic telemetry traffic for demos, load tests and end-to-end checks.

`make_batches` simulates client sessions of one app and returns the `POST /v1/telemetry/batch`
bodies they would send. The five example apps (`examples/apps/`) have scripted scenarios that play
plausible, ordered flows (a roguelike run, an AI narrative adventure, Discord bot commands and its
scheduler, a crisis alert's lifecycle, a CI test run); any other app gets a generic session built
from its taxonomy, funnels and spans.

Whatever a script asks for, every payload is fitted to the app's own field specs, so that the events
stay valid when a config is edited: fields the config does not declare are dropped, declared fields
the script does not know are filled in, values that break a type, enum, min/max or max_length are
repaired or drawn again, and event types the config does not declare are skipped.

Pure Python and deterministic: the same config, seed, `now` and `sessions` give the same batches.
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from liveops.models.app_config import AppConfig, FieldSpec

MAX_EVENTS_PER_BATCH = 500
MAX_SESSION_SECONDS = 50 * 60  # a session's events span at most this, so all fit in the last hour
MAX_END_LAG_MS = 180_000  # a session's last event happened at most this long before `now`
# ingest accepts integers up to 2^53 in magnitude (what a double holds exactly)
INT64_MIN = -(2**53)
INT64_MAX = 2**53
NUMBER_INT_LIMIT = 2**53
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Payload = dict[str, Any]
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------
# public API


def make_batches(
    config: AppConfig, rng: random.Random, now: datetime, sessions: int = 1
) -> list[dict[str, Any]]:
    """Telemetry batch bodies (the POST /v1/telemetry/batch JSON envelope as dicts) for `sessions` simulated
    client sessions of this app, each a plausible sequence of events ending around `now` (UTC aware)."""
    if sessions < 0:
        raise ValueError("sessions must not be negative")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    now_ms = (now - EPOCH) // timedelta(milliseconds=1)
    script = SCENARIOS.get(config.app_id, generic_session)
    fitter = PayloadFitter(config, rng, fill_optional=0.7 if script is generic_session else 0.5)
    batches: list[dict[str, Any]] = []
    for index in range(sessions):
        plan = SessionPlan(config, rng, now, index)
        script(plan)
        batches.extend(plan.batches(fitter, now_ms))
    return batches


class SessionPlan:
    """What a scenario script fills in: the envelope and the planned events of one client session.

    Times are seconds from the session start; `batches` places the session so that it ends shortly
    before `now`.
    """

    def __init__(self, config: AppConfig, rng: random.Random, now: datetime, index: int) -> None:
        self.config = config
        self.rng = rng
        self.now = now
        self.index = index
        self.session_id = new_uuid(rng)
        self.platform: str = config.platforms[0]
        self.user_id: str | None = None
        self.client_version: str | None = None
        self.content_version: str | None = None
        self._planned: list[tuple[float, str, Payload]] = []

    def has(self, event_type: str) -> bool:
        return event_type in self.config.events

    def emit(self, at: float, event_type: str, **fields: Any) -> None:
        """Plan an event `at` seconds into the session; a field given as None is left out."""
        self._planned.append((at, event_type, fields))

    def choose_platform(self, weights: Mapping[str, float]) -> str:
        """A platform by weight among those this app accepts (any of the app's if none is)."""
        allowed = {name: weight for name, weight in weights.items() if name in self.config.platforms}
        self.platform = pick(self.rng, allowed) if allowed else self.rng.choice(self.config.platforms)
        return self.platform

    def batches(self, fitter: PayloadFitter, now_ms: int) -> list[dict[str, Any]]:
        """The planned events, fitted and timed, as batch bodies of at most MAX_EVENTS_PER_BATCH events;
        each batch is sent a moment after its last event (and never after `now_ms`)."""
        rng = self.rng
        planned = sorted(self._planned, key=lambda item: item[0])
        events: list[tuple[float, str, Payload]] = []
        for at, event_type, hints in planned:
            payload = fitter.payload(event_type, hints)
            if payload is not None:
                events.append((at, event_type, payload))
        if not events:
            return []
        last = events[-1][0]
        span = last - events[0][0]
        scale = 1.0 if span <= MAX_SESSION_SECONDS else MAX_SESSION_SECONDS / span
        end_ms = now_ms - rng.randrange(MAX_END_LAG_MS)
        rows: list[tuple[int, dict[str, Any]]] = []
        for at, event_type, payload in events:
            moment = end_ms - round((last - at) * scale * 1000)
            event = {
                "event_id": new_uuid(rng),
                "event_type": event_type,
                "event_time": iso_ms(moment),
                "payload": payload,
            }
            rows.append((moment, event))
        batches: list[dict[str, Any]] = []
        for start in range(0, len(rows), MAX_EVENTS_PER_BATCH):
            chunk = rows[start : start + MAX_EVENTS_PER_BATCH]
            sent_ms = min(now_ms, chunk[-1][0] + rng.randrange(150, 5000))
            body: dict[str, Any] = {"session_id": self.session_id, "platform": self.platform}
            if self.client_version is not None:
                body["client_version"] = self.client_version
            if self.content_version is not None:
                body["content_version"] = self.content_version
            if self.user_id is not None:
                body["user_id"] = self.user_id
            body["sent_at"] = iso_ms(sent_ms)
            body["events"] = [event for _, event in chunk]
            batches.append(body)
        return batches


# ---------------------------------------------------------------------------------------------------
# small helpers


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def iso_ms(epoch_ms: int) -> str:
    """ISO 8601 UTC with milliseconds and a Z, e.g. 2025-12-03T10:02:00.123Z."""
    moment = EPOCH + timedelta(milliseconds=epoch_ms)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{epoch_ms % 1000:03d}Z"


def pick(rng: random.Random, weights: Mapping[T, float]) -> T:
    """One key of `weights`, drawn with probability proportional to its weight."""
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def hex_id(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    """A right-skewed duration around `median`, kept within [low, high]."""
    return min(high, max(low, median * math.exp(rng.gauss(0.0, sigma))))


def sticky(key: str, options: Sequence[T]) -> T:
    """A stable choice for a key (e.g. a user's experiment variant), the same in every run."""
    return options[zlib.crc32(key.encode()) % len(options)]


def pseudonym(prefix: str, index: int) -> str:
    """A hashed-looking, stable identifier (never a real Discord id)."""
    return f"{prefix}_{hashlib.sha256(f'{prefix}-{index}'.encode()).hexdigest()[:12]}"


# ---------------------------------------------------------------------------------------------------
# fitting payloads to the app's field specs


def fits(spec: FieldSpec, value: Any) -> bool:
    """Whether ingest accepts `value` for a field of this spec (the rules of domain.event_schema)."""
    kind = spec.type
    if kind == "boolean":
        return type(value) is bool
    if kind == "string":
        if type(value) is not str or (spec.max_length is not None and len(value) > spec.max_length):
            return False
    elif kind == "integer":
        if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
            return False
    elif type(value) is float:
        if not math.isfinite(value):
            return False
    elif type(value) is not int or abs(value) > NUMBER_INT_LIMIT:
        return False
    if spec.enum is not None and value not in spec.enum:
        return False
    if spec.min is not None and value < spec.min:
        return False
    return not (spec.max is not None and value > spec.max)


def _integer_bounds(spec: FieldSpec, low: float, high: float) -> tuple[int, int] | None:
    """Whole numbers within the spec's bounds, preferring [low, high]; None when there are none."""
    lo, hi = _bounds(spec, low, high)
    ilo = max(INT64_MIN, math.ceil(lo)) if math.isfinite(lo) else INT64_MIN
    ihi = min(INT64_MAX, math.floor(hi)) if math.isfinite(hi) else INT64_MAX
    return (ilo, ihi) if ilo <= ihi else None


def _bounds(spec: FieldSpec, low: float, high: float) -> tuple[float, float]:
    """[low, high] narrowed to the spec's min/max; moved inside them when they do not overlap."""
    span = high - low
    lo = low if spec.min is None else max(low, spec.min)
    hi = high if spec.max is None else min(high, spec.max)
    if lo <= hi:
        return lo, hi
    if spec.min is not None and spec.max is not None:
        return spec.min, spec.max
    if spec.min is not None:
        return spec.min, spec.min + span
    assert spec.max is not None
    return spec.max - span, spec.max


def _default_range(name: str) -> tuple[float, float]:
    if name.endswith("_ms"):
        return 20.0, 5000.0
    if "token" in name:
        return 50.0, 4000.0
    if "fps" in name:
        return 30.0, 60.0
    if "seed" in name:
        return 0.0, 2.0**31
    if name.endswith(("_rate", "_ratio", "_share", "score")) or "probability" in name:
        return 0.0, 1.0
    if name.endswith(("_idx", "_index", "tier", "level", "count", "_size")):
        return 1.0, 10.0
    return 0.0, 100.0


_RARE_FLAGS = ("error", "fail", "fallback", "retr", "stuck", "fatal", "crash", "overrun", "timeout")
_COMMON_FLAGS = ("success", "ok", "passed", "picked", "enabled", "completed")
_WORDS = ("amber", "basalt", "cobalt", "drift", "ember", "fable", "granite", "harbor", "iris", "juniper")


def generate(name: str, spec: FieldSpec, rng: random.Random) -> Any:
    """A plausible value for a field from its name and spec; None when the spec admits no value."""
    kind = spec.type
    if kind == "boolean":
        if any(word in name for word in _RARE_FLAGS):
            return rng.random() < 0.08
        if any(word in name for word in _COMMON_FLAGS):
            return rng.random() < 0.9
        return rng.random() < 0.5
    if spec.enum is not None:
        options = [value for value in spec.enum if fits(spec, value)]
        return rng.choice(options) if options else None
    if kind == "string":
        return _string_for(name, rng)[: spec.max_length]
    low, high = _default_range(name)
    if kind == "integer":
        bounds = _integer_bounds(spec, low, high)
        return None if bounds is None else rng.randint(*bounds)
    lo, hi = _bounds(spec, low, high)
    value = lo + (hi - lo) * rng.random() if math.isfinite(hi - lo) else lo / 2 + hi / 2
    rounded = round(value, 2)
    return rounded if fits(spec, rounded) else (value if fits(spec, value) else None)


def _string_for(name: str, rng: random.Random) -> str:
    if name.endswith("_id"):
        return f"{name.removesuffix('_id').replace('_', '-')}-{hex_id(rng, 8)}"
    if "version" in name:
        return f"{rng.randint(0, 2)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
    if "locale" in name:
        return rng.choice(("en-US", "de-DE", "fr-FR", "es-ES", "ja-JP"))
    return f"{rng.choice(_WORDS)}-{rng.randint(1, 12)}"


def repair(spec: FieldSpec, value: Any) -> Any:
    """The nearest acceptable value to a script's hint, or None when there is no obvious one."""
    if spec.enum is not None or type(value) not in (str, int, float, bool):
        return None
    if spec.type == "string":
        text = value if type(value) is str else str(value).lower() if type(value) is bool else str(value)
        return text[: spec.max_length]
    if spec.type in ("integer", "number") and type(value) in (int, float) and math.isfinite(value):
        if spec.type == "integer":
            bounds = _integer_bounds(spec, float(value), float(value))
            return None if bounds is None else min(max(round(value), bounds[0]), bounds[1])
        low = -math.inf if spec.min is None else spec.min
        high = math.inf if spec.max is None else spec.max
        return float(min(max(value, low), high))
    return None


class PayloadFitter:
    """Turns a script's field values into a payload that the app's validator accepts."""

    def __init__(self, config: AppConfig, rng: random.Random, fill_optional: float) -> None:
        self.config = config
        self.rng = rng
        self.fill_optional = fill_optional

    def value(self, name: str, spec: FieldSpec, hint: Any) -> Any:
        if hint is not None:
            if fits(spec, hint):
                return hint
            repaired = repair(spec, hint)
            if repaired is not None and fits(spec, repaired):
                return repaired
        return generate(name, spec, self.rng)

    def payload(self, event_type: str, hints: Mapping[str, Any]) -> Payload | None:
        """None when the app has no such event type or a required field admits no value."""
        spec = self.config.events.get(event_type)
        if spec is None:
            return None
        payload: Payload = {}
        for name, field in spec.fields.items():
            if name in hints:
                if hints[name] is None and not field.required:
                    continue
            elif not field.required and self.rng.random() >= self.fill_optional:
                continue
            value = self.value(name, field, hints.get(name))
            if value is None:
                if field.required:
                    return None
                continue
            payload[name] = value
        return payload


# ---------------------------------------------------------------------------------------------------
# generic sessions (any app)


def generic_session(plan: SessionPlan) -> None:
    """Events drawn from the taxonomy, plus one walk down a funnel and start/end pairs of the spans."""
    rng, config = plan.rng, plan.config
    plan.platform = rng.choice(config.platforms)
    plan.user_id = f"user-{rng.randrange(1000):04d}"
    plan.client_version = f"1.{rng.randint(0, 3)}.{rng.randint(0, 9)}"
    plan.content_version = f"{rng.randint(1, 3)}.0.0"
    event_types = [name for name in config.events if name not in ("session_start", "session_end")]
    t = 0.0
    if plan.has("session_start"):
        plan.emit(t, "session_start")
    if config.funnels:
        funnel = config.funnels[rng.choice(list(config.funnels))]
        for step in funnel.steps:
            t += rng.uniform(5, 60)
            plan.emit(t, step)
            if rng.random() > 0.8:
                break
    for span in config.spans.values():
        if rng.random() > 0.7:
            continue
        start_spec = config.events[span.start].fields[span.key]
        end_spec = config.events[span.end].fields[span.key]
        key = None
        for _ in range(5):
            candidate = generate(span.key, start_spec, rng)
            if candidate is not None and fits(end_spec, candidate):
                key = candidate
                break
        if key is None:
            continue
        start_at = rng.uniform(0, 20 * 60)
        plan.emit(start_at, span.start, **{span.key: key})
        plan.emit(start_at + rng.uniform(10, 15 * 60), span.end, **{span.key: key})
    if event_types:
        for _ in range(rng.randint(5, 30)):
            t += rng.uniform(2, 60)
            plan.emit(t, rng.choice(event_types))
    if plan.has("session_end"):
        plan.emit(max(t, 20 * 60) + rng.uniform(1, 30), "session_end")


# ---------------------------------------------------------------------------------------------------
# Abyssal Architect (seeds/004): sessions of roguelike runs


_CARDS = {
    "trap": ("fire_glyph", "spike_pit", "frost_rune", "arc_coil", "poison_vent"),
    "monster": ("ember_guard", "bone_hound", "mire_lurker", "gloom_bat"),
    "relic": ("architects_compass", "abyssal_lens", "blood_chalice", "warden_sigil"),
    "layout": ("spiral_hall", "twin_gates", "sunken_vault"),
}
_LOCALES = {"en-US": 55, "de-DE": 10, "fr-FR": 9, "pt-BR": 9, "es-ES": 9, "ja-JP": 8}
_RUN_START_LATEST = MAX_SESSION_SECONDS - 32 * 60  # a run lasts at most ~30 minutes


def abyssal_session(plan: SessionPlan) -> None:
    rng = plan.rng
    plan.choose_platform({"web": 5, "android": 3, "desktop": 2})
    plan.user_id = f"player-{rng.randrange(2500):05d}"
    plan.client_version = pick(rng, {"0.6.0": 70, "0.5.2": 22, "0.6.1-rc1": 8})
    plan.content_version = pick(rng, {"1.1.0": 75, "1.0.3": 25})
    variant = sticky(plan.user_id, ("control", "more_relics"))
    live_event = pick(rng, {"event_fire_festival_01": 55, "season_shadow_architect_01": 35, "": 10}) or None
    t = 0.0
    plan.emit(t, "session_start", launch=pick(rng, {"cold": 80, "resume": 20}), locale=pick(rng, _LOCALES))
    t += rng.uniform(3, 25)
    challenge = None
    if rng.random() < 0.35:
        kind = pick(rng, {"daily": 70, "weekly": 20, "event": 10})
        challenge = {
            "daily": f"daily_{plan.now:%Y-%m-%d}",
            "weekly": f"weekly_{plan.now:%G-W%V}",
            "event": "event_fire_festival_01",
        }[kind]
        plan.emit(t, "challenge_join", challenge_id=challenge, challenge_type=kind)
        t += rng.uniform(2, 10)
    wants_to_play = rng.uniform(6, 45) * 60
    runs = 0
    level = rng.randint(1, 60)
    while runs == 0 or (runs < 4 and t < wants_to_play and t < _RUN_START_LATEST):
        t, won = _abyssal_run(plan, t, challenge if runs == 0 else None, live_event, variant)
        runs += 1
        if won and rng.random() < 0.35:
            kind = pick(rng, {"trap": 30, "monster": 25, "relic": 20, "layout": 10, "cosmetic": 15})
            item = rng.choice(_CARDS.get(kind, ("abyss_banner", "gilded_frame", "shadow_cloak")))
            plan.emit(
                t + rng.uniform(1, 4), "unlock_obtained", content_type=kind, content_id=f"{kind}_{item}"
            )
        if rng.random() < (0.45 if won else 0.2) and level < 200:
            plan.emit(t + rng.uniform(1, 5), "profile_level_up", old_level=level, new_level=level + 1)
            level += 1
        t += rng.uniform(8, 40)
    scene = pick(rng, {"menu": 2, "draft": 3, "battle": 8, "results": 1})
    if rng.random() < 0.05:
        code = pick(rng, {"E_AUDIO_CTX": 3, "E_ASSET_404": 2, "E_SAVE_SYNC": 2, "E_WEBGL_CONTEXT_LOST": 1})
        plan.emit(rng.uniform(min(30, t), t), "client_error", error_code=code, fatal=False, scene=scene)
    if rng.random() < 0.008:  # a crash: the session never reports its end
        plan.emit(t, "client_error", error_code="E_UNCAUGHT_EXCEPTION", fatal=True, scene=scene)
        return
    plan.emit(t, "session_end", duration_ms=round(t * 1000), runs_played=runs)


def _abyssal_run(
    plan: SessionPlan, t: float, challenge: str | None, live_event: str | None, variant: str
) -> tuple[float, bool]:
    """Plan one run from `t`; returns when it ended and whether it was won."""
    rng = plan.rng
    run_id = f"run-{hex_id(rng, 12)}"
    start = t
    ascension = pick(rng, {0: 40, 1: 20, 2: 15, 3: 10, 5: 8, 8: 5, 12: 2})
    plan.emit(
        t,
        "run_start",
        run_id=run_id,
        seed=rng.getrandbits(32),
        challenge_id=challenge,
        live_event_id=live_event,
        ascension=ascension,
        draft_variant=variant,
    )
    win = 0.47 if variant == "more_relics" else 0.43
    win -= 0.01 * ascension
    outcome = pick(rng, {"win": win, "loss": 0.9 - win, "abandon": 0.1})
    stop = (0, 0)
    if outcome == "loss":
        stop = (pick(rng, {1: 15, 2: 25, 3: 30, 4: 20, 5: 10}), rng.randint(1, 3))
    elif outcome == "abandon":
        stop = (rng.randint(1, 5), rng.randint(1, 3))
    relic_weight = 28 if variant == "more_relics" else 18
    waves = tiers = score = 0
    finished = False
    for tier in range(1, 6):
        t += rng.uniform(4, 12)
        plan.emit(t, "draft_offered", run_id=run_id, tier=tier, option_count=3, rerolled=rng.random() < 0.15)
        t += rng.uniform(5, 30)
        picked = rng.random() < (0.9 if variant == "more_relics" else 0.86)
        card_type = (
            pick(rng, {"trap": 40, "monster": 30, "relic": relic_weight, "layout": 12}) if picked else None
        )
        card = f"{card_type}_{rng.choice(_CARDS[card_type])}" if card_type else None
        plan.emit(
            t,
            "draft_pick",
            run_id=run_id,
            tier=tier,
            picked=picked,
            picked_id=card,
            picked_type=card_type,
            draft_variant=variant,
        )
        for wave in range(1, 4):
            t += rng.uniform(25, 75) * (1 + 0.08 * tier)
            if (tier, wave) == stop:
                if outcome == "loss":
                    plan.emit(
                        t,
                        "wave_fail",
                        run_id=run_id,
                        tier=tier,
                        wave_idx=wave,
                        heroes_escaped=rng.randint(1, 6),
                    )
                finished = True
                break
            waves += 1
            score += 100 * tier + rng.randint(0, 60)
            plan.emit(
                t, "wave_clear", run_id=run_id, tier=tier, wave_idx=wave, heroes_remaining=rng.randint(0, 4)
            )
        if finished:
            break
        tiers += 1
    won = outcome == "win"
    if won:
        score += 1000 + 50 * ascension
    t += rng.uniform(1, 3)
    plan.emit(
        t,
        "run_end",
        run_id=run_id,
        outcome=outcome,
        score=score,
        tiers_cleared=tiers,
        waves_cleared=waves,
        duration_ms=round((t - start) * 1000),
        boss_defeated=won,
        challenge_id=challenge,
        live_event_id=live_event,
        draft_variant=variant,
    )
    return t, won


# ---------------------------------------------------------------------------------------------------
# AWF (seeds/001): AI narrative adventures, turn by turn, down the seven-step funnel


_WORLDS = {
    "mystika": ("whispering_woods", "crystal_caves", "the_drowned_court"),
    "ironreach": ("gearfall_heist", "smog_and_mirrors"),
    "verdant_sea": ("tidebound", "pearl_of_the_deep"),
}
_AWF_LOCALES = {"en-US": 50, "es-ES": 12, "fr-FR": 10, "de-DE": 10, "pt-BR": 10, "ja-JP": 8}
_MODELS = {"narrator-large-v3": 55, "narrator-medium-v3": 35, "narrator-small-v2": 10}
_MODEL_MEDIAN_MS = {"narrator-large-v3": 2600.0, "narrator-medium-v3": 1700.0, "narrator-small-v2": 900.0}
_FALLBACK_MODEL = "narrator-small-v2"
# funnel steps after adventure_start, with the chance that a player who reaches one goes on to it
_AWF_STEPS = (
    ("choice_made", 0.93),
    ("npc_joined", 0.72),
    ("item_crafted", 0.62),
    ("vendor_trade", 0.75),
    ("boss_encounter", 0.6),
    ("adventure_complete", 0.88),
)


def awf_session(plan: SessionPlan) -> None:
    rng = plan.rng
    plan.choose_platform({"web": 6, "ios": 2, "android": 2})
    user = f"awf-user-{rng.randrange(1200):05d}"
    plan.user_id = user
    plan.client_version = pick(rng, {"2.4.0": 65, "2.3.2": 30, "2.5.0-beta": 5})
    plan.content_version = pick(rng, {"cp-2025.12": 80, "cp-2025.11": 20})
    world = sticky(user + "/world", list(_WORLDS))
    variation = sticky(user + "/exp_memory_budget_v2", ("control", "tight_budget"))
    story = {
        "world": world,
        "adventure": rng.choice(_WORLDS[world]),
        "locale": sticky(user + "/locale", [k for k, w in _AWF_LOCALES.items() for _ in range(w)]),
        "experiment": "exp_memory_budget_v2",
        "variation": variation,
    }
    model = pick(rng, _MODELS)
    token_budget = 3500 if variation == "tight_budget" else 4500
    t = 0.0
    plan.emit(t, "session_start", **story)
    t += rng.uniform(2, 8)
    step = 0
    started_at: float | None = None
    if rng.random() < 0.7:
        plan.emit(t, "adventure_start", **story, content_pack=plan.content_version)
        started_at = t
    else:  # picking up an adventure begun in an earlier session
        step = rng.randint(1, 4)
    session_length = rng.uniform(6, 45) * 60
    turn = rng.randint(1, 5) if started_at is not None else rng.randint(10, 80)
    first_turn = turn
    since_progress = 0
    dropped_at: int | None = None
    while t < session_length:
        t += rng.uniform(15, 50)
        latency = lognormal(rng, _MODEL_MEDIAN_MS[model], 0.45, 150, 120_000)
        retried = rng.random() < 0.06
        fallback = rng.random() < (0.2 if retried else 0.02)
        used = _FALLBACK_MODEL if fallback else model
        if retried:
            latency += lognormal(rng, 1500, 0.4, 200, 30_000)
        if fallback:
            latency += 4000  # the primary timed out first
        input_tokens = max(200, int(1400 + 25 * min(turn, 200) + rng.gauss(0, 350)))
        if rng.random() < 0.03:  # the prompt builder failed to trim the memory
            input_tokens = token_budget + rng.randint(1, 800)
        else:
            input_tokens = min(input_tokens, int(token_budget * rng.uniform(0.85, 0.99)))
        stuck = since_progress >= 6
        plan.emit(
            t,
            "turn_generated",
            **story,
            model=used,
            turn_index=turn,
            latency_ms=round(latency, 1),
            input_tokens=input_tokens,
            output_tokens=rng.randint(120, 700),
            retries=(1 + (rng.random() < 0.2)) if retried else 0,
            retried=retried,
            fallback=fallback,
            validator_retry=rng.random() < 0.04,
            stuck=stuck,
            budget_overrun=input_tokens > token_budget,
            tool_calls=pick(rng, {0: 30, 1: 35, 2: 20, 3: 10, 4: 5}),
            choices=rng.randint(2, 4),
        )
        turn += 1
        since_progress = 0 if rng.random() < 0.3 else since_progress + 1  # a quest objective moved on
        if stuck and rng.random() < 0.5:
            plan.emit(
                t + 1,
                "softlock_hint",
                **story,
                node_id=f"node-{rng.randint(1, 40):02d}",
                turns_without_progress=since_progress,
            )
        if dropped_at is not None:
            if turn - dropped_at > 3:
                break  # the player lost interest
            continue
        if step >= len(_AWF_STEPS) or rng.random() > 0.25:
            continue
        name, goes_on = _AWF_STEPS[step]
        if rng.random() > goes_on:
            dropped_at = turn
            continue
        at = t + rng.uniform(2, 10)
        since_progress = 0
        if name == "choice_made":
            plan.emit(
                at, name, **story, node_id=f"node-{rng.randint(1, 40):02d}", option_count=rng.randint(2, 4)
            )
        elif name == "npc_joined":
            plan.emit(
                at, name, **story, npc_id=f"npc-{world}-{rng.randint(1, 12)}", party_size=rng.randint(2, 4)
            )
        elif name == "item_crafted":
            success = rng.random() < 0.82
            plan.emit(at, name, **story, item_id=f"item-{rng.randint(1, 60):03d}", success=success)
            if not success:
                continue  # tries again later
        elif name == "vendor_trade":
            direction = pick(rng, {"buy": 65, "sell": 35})
            delta = rng.randint(20, 400) * (-1 if direction == "buy" else 1)
            plan.emit(at, name, **story, direction=direction, gold_delta=delta)
        elif name == "boss_encounter":
            outcome = pick(rng, {"victory": 62, "defeat": 30, "fled": 8})
            plan.emit(at, name, **story, boss_id=f"boss-{story['adventure']}", outcome=outcome)
            if outcome != "victory":
                continue  # another attempt later
        else:
            duration = round((at - started_at) * 1000) if started_at is not None else None
            plan.emit(at, name, **story, turns=turn - first_turn, duration_ms=duration)
            step += 1
            break
        step += 1


# ---------------------------------------------------------------------------------------------------
# The Great Work (seeds/000): players' slash commands, and the bot's own scheduler


# command: (weight, median ms, chance of an ephemeral reply, uses the LLM)
_COMMANDS: dict[str, tuple[float, float, float, bool]] = {
    "status": (22, 180, 0.85, False),
    "gazette": (10, 250, 0.6, False),
    "submit_theory": (12, 650, 0.2, False),
    "wager": (8, 400, 0.3, False),
    "recruit": (9, 500, 0.3, False),
    "expedition": (10, 1600, 0.2, True),
    "conference": (6, 1400, 0.2, True),
    "mentor": (6, 500, 0.3, False),
    "assign_lab": (5, 350, 0.3, False),
    "symposium_vote": (6, 220, 0.5, False),
    "table_talk": (5, 300, 0.1, False),
    "telemetry_report": (1, 900, 0.9, False),
}
_PRESS_TYPES = {
    "academic_bulletin": 15,
    "research_manifesto": 10,
    "discovery_report": 15,
    "retraction_notice": 4,
    "academic_gossip": 25,
    "recruitment_report": 10,
    "mentorship_update": 10,
    "symposium_summary": 6,
    "admin_notice": 5,
}
_GW_CHANNELS = ("1094783456012345801", "1094783456012345802", "1094783456012345803", "1094783456012345804")
_GW_BOT_VERSION = {"3.2.1": 85, "3.2.0": 15}


def great_work_session(plan: SessionPlan) -> None:
    """One player's burst of commands, or (one session in five) the bot's own scheduler at work."""
    rng = plan.rng
    plan.choose_platform({"discord": 1})
    plan.client_version = pick(rng, _GW_BOT_VERSION)
    plan.content_version = "season-4"
    if rng.random() < 0.2:  # drawn, not by index: `liveops demo` asks for one session at a time
        _great_work_scheduler(plan)
        return
    plan.user_id = str(1094783000000000000 + rng.randrange(400) * 7919)
    names = list(_COMMANDS)
    weights = [_COMMANDS[name][0] for name in names]
    channel = rng.choice(_GW_CHANNELS)
    t = 0.0
    for _ in range(rng.randint(2, 14)):
        name = rng.choices(names, weights=weights)[0]
        _, median, ephemeral, uses_llm = _COMMANDS[name]
        success = rng.random() < (0.92 if uses_llm else 0.96)
        error = None
        if not success:
            errors = {"validation": 40, "cooldown": 30, "permission": 10, "internal": 8}
            if uses_llm:
                errors["llm_timeout"] = 30
            error = pick(rng, errors)
        duration = lognormal(rng, median, 0.5, 15, 60_000)
        if error == "llm_timeout":
            duration = rng.uniform(10_000, 15_000)
        plan.emit(
            t,
            "command_invoked",
            command=name,
            duration_ms=round(duration, 1),
            success=success,
            error_type=error,
            ephemeral=rng.random() < ephemeral or not success,
            channel_id=channel,
        )
        t += rng.uniform(10, 180)


def _great_work_scheduler(plan: SessionPlan) -> None:
    rng = plan.rng
    length = rng.uniform(35, 48) * 60
    depth = rng.randint(2, 12)
    t = 0.0
    while t < length:  # queue depth sampled every five minutes
        depth = max(0, depth + rng.randint(-3, 3) + (8 if rng.random() < 0.03 else 0))
        plan.emit(t, "queue_depth_sampled", depth=depth, horizon_hours=48)
        t += 300
    released = 0
    digest_at = rng.uniform(5, 25) * 60
    for _ in range(rng.randint(4, 12)):
        at = rng.uniform(0, length)
        press_id = f"press-{hex_id(rng, 10)}"
        press_type = pick(rng, _PRESS_TYPES)
        cadence = pick(rng, {"immediate": 30, "flash": 50, "long_form": 20})
        delay = (
            0.0
            if cadence == "immediate"
            else rng.uniform(1, 90)
            if cadence == "flash"
            else rng.uniform(120, 2880)
        )
        plan.emit(
            at,
            "press_scheduled",
            press_id=press_id,
            press_type=press_type,
            cadence=cadence,
            delay_minutes=round(delay, 1),
        )
        release_at = at + delay * 60 + rng.uniform(0.5, 5)
        if release_at <= length:
            plan.emit(
                release_at, "press_released", press_id=press_id, press_type=press_type, scheduled=delay > 0
            )
            released += release_at <= digest_at
    for _ in range(rng.randint(3, 15)):
        purpose = pick(rng, {"press": 45, "npc_reply": 40, "symposium": 15})
        ok = rng.random() < 0.97
        latency = lognormal(rng, 1800, 0.5, 200, 60_000) if ok else 30_000.0
        plan.emit(
            rng.uniform(0, length), "llm_request", purpose=purpose, latency_ms=round(latency, 1), success=ok
        )
    summary_ms = lognormal(rng, 2500, 0.4, 300, 30_000)
    plan.emit(
        digest_at, "llm_request", purpose="digest_summary", latency_ms=round(summary_ms, 1), success=True
    )
    digest_ms = lognormal(rng, 9000, 0.45, 1500, 55_000) + summary_ms
    done_at = digest_at + digest_ms / 1000
    plan.emit(
        done_at,
        "digest_completed",
        digest_id=f"digest-{plan.now:%Y%m%d}-{rng.randint(1, 4)}",
        duration_ms=round(digest_ms, 1),
        releases=0 if rng.random() < 0.03 else released + rng.randint(1, 6),
        expeditions_resolved=rng.randint(0, 6),
        active_players=rng.randint(15, 80),
    )
    publish_ok = rng.random() < 0.97
    plan.emit(
        done_at + rng.uniform(2, 10),
        "archive_published",
        provider=pick(rng, {"container": 85, "s3": 15}),
        duration_ms=round(lognormal(rng, 4200, 0.4, 500, 120_000), 1),
        success=publish_ok,
        snapshots_kept=30 if publish_ok else 29,
        pages=rng.randint(80, 400),
    )
    if rng.random() < 0.05:
        paused_at = rng.uniform(0, length - 16 * 60)
        paused_s = rng.uniform(2, 15) * 60
        plan.emit(paused_at, "system_paused", reason="llm_outage")
        plan.emit(
            paused_at + paused_s, "system_resumed", reason="llm_outage", paused_ms=round(paused_s * 1000)
        )


# ---------------------------------------------------------------------------------------------------
# Ash-Bot (seeds/002): one crisis alert's lifecycle per session


_SEVERITIES = {"low": 25, "medium": 45, "high": 24, "critical": 6}
_ACK_MEDIAN_S = {"low": 240.0, "medium": 150.0, "high": 90.0, "critical": 45.0}
_CRISIS_SCORE = {"low": (0.35, 0.55), "medium": (0.55, 0.75), "high": (0.75, 0.9), "critical": (0.9, 1.0)}
_RESPONDERS = [pseudonym("crt", i) for i in range(9)]
_RESPONDER_WEIGHTS = (14, 11, 9, 7, 5, 4, 3, 2, 1)
_AUTO_INITIATE_S = 300.0  # Ash reaches out by itself when nobody acknowledged within five minutes


def ash_bot_session(plan: SessionPlan) -> None:
    rng = plan.rng
    plan.choose_platform({"discord": 1})
    plan.user_id = pseudonym("member", rng.randrange(600))
    plan.client_version = pick(rng, {"5.0.2": 90, "5.0.1": 10})
    alert = f"alert_{hex_id(rng, 12)}"
    severity = pick(rng, _SEVERITIES)
    low, high = _CRISIS_SCORE[severity]

    def emit(at: float, event_type: str, **fields: Any) -> bool:
        """Events past the window have not happened yet: the alert is still open."""
        if at > MAX_SESSION_SECONDS:
            return False
        plan.emit(at, event_type, alert_id=alert, severity=severity, **fields)
        return True

    emit(
        0.0,
        "alert_created",
        channel_sensitivity=pick(rng, {0.5: 1, 0.8: 2, 1.0: 5, 1.2: 2, 1.5: 1}),
        crisis_score=round(rng.uniform(low, high), 3),
    )
    acknowledged = rng.random() < 0.96
    ack_at = lognormal(rng, _ACK_MEDIAN_S[severity], 0.6, 8, 1500) if acknowledged else math.inf
    responder = rng.choices(_RESPONDERS, weights=_RESPONDER_WEIGHTS)[0]
    if ack_at > _AUTO_INITIATE_S and rng.random() < 0.8:
        _ash_session(plan, emit, _AUTO_INITIATE_S + rng.uniform(0, 5), "auto")
    elif acknowledged:
        mode = pick(rng, {"manual": 60, "opted_out": 15, "": 25})
        if mode:
            _ash_session(plan, emit, ack_at + rng.uniform(10, 120), mode)
    if not acknowledged or not emit(ack_at, "alert_acknowledged", responder_id=responder):
        return
    contact_at = ack_at + lognormal(rng, 60, 0.6, 5, 600)
    if not emit(
        contact_at,
        "responder_contacted",
        responder_id=responder,
        via=pick(rng, {"thread": 6, "dm": 3, "voice": 1}),
    ):
        return
    first_at = contact_at + lognormal(rng, 240, 0.7, 20, 1800)
    if not emit(first_at, "first_response", responder_id=responder):
        return
    resolution = pick(rng, {"supported": 70, "false_positive": 15, "escalated": 10, "member_left": 5})
    resolved_at = first_at + lognormal(rng, 900 if resolution == "supported" else 300, 0.6, 60, 3600)
    emit(resolved_at, "alert_resolved", responder_id=responder, resolution=resolution)


def _ash_session(plan: SessionPlan, emit: Callable[..., bool], at: float, mode: str) -> None:
    rng = plan.rng
    if not emit(at, "session_started", mode=mode) or mode == "opted_out":
        return
    length = lognormal(rng, 12 * 60, 0.5, 60, 3600)
    emit(at + length, "session_ended", duration_ms=round(length * 1000), messages=rng.randint(4, 80))


# ---------------------------------------------------------------------------------------------------
# web game QA / CI (seeds/003): one Playwright test run per session


_SUITES = {"smoke": 35, "tutorial": 20, "cascade_mission": 20, "full_regression": 15, "perf": 10}
_SUITE_SCENES = {
    "smoke": ("boot", "main_menu"),
    "tutorial": ("boot", "main_menu", "tutorial"),
    "cascade_mission": ("boot", "main_menu", "world_map", "cascade_mission"),
    "full_regression": ("boot", "main_menu", "tutorial", "world_map", "cascade_mission"),
    "perf": ("boot", "world_map", "cascade_mission"),
}
_SUITE_TESTS = {"smoke": 12, "tutorial": 24, "cascade_mission": 30, "full_regression": 140, "perf": 6}
_LOAD_MEDIAN_MS = {
    "boot": 1400.0,
    "main_menu": 600.0,
    "tutorial": 900.0,
    "world_map": 1100.0,
    "cascade_mission": 1300.0,
}
_BROWSERS = {"chromium": 60, "firefox": 20, "webkit": 20}
_BROWSER_FPS = {"chromium": 59.0, "firefox": 56.0, "webkit": 52.0}
_BROWSER_SLOWDOWN = {"chromium": 1.0, "firefox": 1.1, "webkit": 1.25}


def web_qa_session(plan: SessionPlan) -> None:
    rng = plan.rng
    platform = plan.choose_platform({"ci": 8, "web": 2})
    build = rng.randrange(4180, 4200)
    sha = hashlib.sha1(f"build-{build}".encode()).hexdigest()
    build_id = f"build-{build}-{sha[:7]}"
    plan.client_version = f"0.9.{build - 4180}"
    plan.content_version = "content-2025.12.1"
    if platform == "ci":
        plan.user_id = f"ci-runner-{rng.randrange(12):02d}"
        provider = pick(rng, {"github_actions": 80, "gitlab": 20})
    else:
        plan.user_id = f"qa-tester-{rng.randrange(8)}"
        provider = "local"
    suite = pick(rng, _SUITES)
    browser = pick(rng, _BROWSERS)
    run_id = f"run-{hex_id(rng, 10)}"
    common = {"run_id": run_id, "build_id": build_id}
    slow_build = build == 4197  # the build with a state-store regression
    t = 0.0
    plan.emit(
        t,
        "test_run_start",
        **common,
        commit_sha=sha,
        branch=pick(rng, {"main": 70, "release/0.9": 15, "feature/telemetry-export": 15}),
        suite=suite,
        browser=browser,
        ci_provider=provider,
        shard=rng.randint(1, 4),
    )
    fatal = False
    for scene in _SUITE_SCENES[suite]:
        t += rng.uniform(1, 4)
        load = lognormal(rng, _LOAD_MEDIAN_MS[scene] * _BROWSER_SLOWDOWN[browser], 0.35, 120, 60_000)
        t += load / 1000
        plan.emit(
            t,
            "page_load",
            **common,
            browser=browser,
            scene=scene,
            load_ms=round(load, 1),
            transfer_kb=rng.randint(300, 4200),
        )
        samples = rng.randint(20, 40) if suite == "perf" else rng.randint(3, 12)
        for _ in range(samples):
            t += 10
            fps = max(
                5.0,
                min(
                    60.0,
                    _BROWSER_FPS[browser] - abs(rng.gauss(0, 3)) - (6 if scene == "cascade_mission" else 0),
                ),
            )
            dispatch = lognormal(rng, 0.28 if slow_build else 0.1, 0.35, 0.01, 5)
            plan.emit(
                t,
                "frame_stats",
                **common,
                browser=browser,
                scene=scene,
                fps_avg=round(fps, 1),
                frame_ms_p95=round(1000 / fps * rng.uniform(1.1, 1.6), 2),
                dropped_frames=max(0, int(rng.gauss(60 - fps, 3))),
                dispatch_ms_p95=round(dispatch, 3),
            )
        if rng.random() < 0.06:
            kind = pick(
                rng, {"js_exception": 30, "console_error": 35, "network": 15, "assertion": 12, "timeout": 8}
            )
            fatal = rng.random() < 0.2
            plan.emit(
                t - rng.uniform(0, 5),
                "error",
                **common,
                browser=browser,
                kind=kind,
                fingerprint=hex_id(rng, 16),
                fatal=fatal,
            )
            if fatal:
                break
    total = _SUITE_TESTS[suite]
    result = "error" if fatal else pick(rng, {"pass": 93, "fail": 4, "flaky": 3})
    failed = rng.randint(1, 3) if result in ("fail", "error") else 0
    t += rng.uniform(1, 5)
    plan.emit(
        t,
        "test_run_end",
        **common,
        suite=suite,
        browser=browser,
        result=result,
        tests_passed=total - failed,
        tests_failed=failed,
        duration_ms=round(t * 1000),
    )
    writers = ("filesystem", "ci_publisher") if platform == "ci" else ("filesystem",)
    for writer in writers:
        for fmt in ("json", "csv"):
            t += rng.uniform(0.01, 0.2)
            ok = rng.random() < (0.98 if writer == "filesystem" else 0.95)
            plan.emit(
                t,
                "artifact_write",
                **common,
                writer=writer,
                format=fmt,
                duration_ms=round(lognormal(rng, 4 if fmt == "json" else 3, 0.5, 0.3, 500), 2),
                bytes=rng.randint(2_000, 90_000),
                success=ok,
            )


SCENARIOS: dict[str, Callable[[SessionPlan], None]] = {
    "abyssal-architect": abyssal_session,
    "awf": awf_session,
    "great-work": great_work_session,
    "ash-bot": ash_bot_session,
    "web-qa": web_qa_session,
}
