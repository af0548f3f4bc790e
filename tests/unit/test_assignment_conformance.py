"""Experiment assignment against the `growthbook` SDK, the published GrowthBook vectors, and semver.

Conformance: for 12,000+ user ids (ASCII, UUIDs, digits, accented, CJK, emoji / astral, mixed,
very long, lone surrogates and other edge cases) and eleven (weights, coverage, namespace) setups,
`assign(plan, id)` equals what `GrowthBook(attributes={"id": id}).run(Experiment(...,
hashVersion=2))` answers (`variationId` when `inExperiment`, else None), and so does the bucket.
"""

from __future__ import annotations

import itertools
import math
import random
import string
import uuid
from collections import Counter
from collections.abc import Sequence

import pytest
from growthbook import Experiment, GrowthBook
from growthbook import core as gb_core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from liveops.domain.assignment import (
    ExperimentPlan,
    assign,
    bucket_ranges,
    choose_variation,
    fnv1a32,
    hash_v1,
    hash_v2,
    in_namespace,
    normalise_weights,
    variant_table,
)
from liveops.domain.semver import compare_semver, in_version_range, is_semver, parse_semver

# --- user ids -----------------------------------------------------------------------------------


def _chars(rng: random.Random, ranges: Sequence[tuple[int, int]], k: int) -> str:
    return "".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(k))


LATIN_ACCENTED = [(0x00C0, 0x00FF), (0x0100, 0x017F), (0x1E00, 0x1EFF)]
COMBINING = [(0x0300, 0x036F)]
CJK = [(0x4E00, 0x9FFF), (0x3040, 0x30FF), (0xAC00, 0xD7A3)]
ASTRAL = [(0x1F300, 0x1F64F), (0x1F900, 0x1F9FF), (0x20000, 0x2A6DF), (0x1D400, 0x1D7FF), (0x10000, 0x100FF)]
OTHER_SCRIPTS = [(0x0400, 0x04FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F)]
ZWJ_FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
FLAG_FR = "\U0001f1eb\U0001f1f7"

EDGE_IDS = [
    " ",
    "\x00",
    "0",
    "00",
    "\t\n",
    "a",
    "é",
    "e\u0301",  # NFD é: a different id from NFC é
    "\ufeff",
    "\uffff",
    "\U00010000",
    "\U0010ffff",
    "\ud83d",  # lone high surrogate
    "\ude00x",  # lone low surrogate
    "x\ud83d\ude00",  # surrogate pair spelled out: the same code units as "x😀"
    "x😀",
    ZWJ_FAMILY,
    FLAG_FR,
    "❤️",
    "user@example.com",
    "12345678901234567890",
    "-1",
    "1e3",
    "null",
    "undefined",
    "__proto__",
    "a" * 96,
    "a" * 97,
    "é" * 96,
    "😀" * 48,
    "😀" * 49,
    "x" * 5000,
]


def user_ids(count_per_kind: int = 1700, seed: int = 20240611) -> list[str]:
    """A deterministic mix of ids of every kind, edge cases first; no duplicates, no empty id."""
    rng = random.Random(seed)
    printable = string.ascii_letters + string.digits + string.punctuation + " "
    ids: list[str] = list(EDGE_IDS)
    for _ in range(count_per_kind):
        ids.append("".join(rng.choices(printable, k=rng.randint(1, 40))))
        ids.append(str(uuid.UUID(int=rng.getrandbits(128))))
        ids.append(str(rng.randrange(10 ** rng.randint(1, 19))))
        accented = _chars(rng, LATIN_ACCENTED, rng.randint(1, 12))
        if rng.random() < 0.3:
            accented += "e" + _chars(rng, COMBINING, 1)
        ids.append(f"joueur_{accented}" if rng.random() < 0.5 else accented)
        ids.append(_chars(rng, CJK, rng.randint(1, 10)))
        emoji = _chars(rng, ASTRAL, rng.randint(1, 6))
        ids.append(emoji + rng.choice(["", ZWJ_FAMILY, FLAG_FR, "\ufe0f"]))
        ids.append(
            "".join(
                rng.choice(
                    [
                        _chars(rng, ASTRAL, 1),
                        _chars(rng, CJK, 1),
                        _chars(rng, LATIN_ACCENTED, 1),
                        _chars(rng, OTHER_SCRIPTS, 1),
                        rng.choice(printable),
                    ]
                )
                for _ in range(rng.randint(1, 24))
            )
        )
        if rng.random() < 0.2:
            ids.append(_chars(rng, [(0x20, 0x7E), *CJK, *ASTRAL, *LATIN_ACCENTED], rng.randint(90, 300)))
    return list(dict.fromkeys(ids))


IDS = user_ids()

# (key, variants, relative weights, coverage, namespace)
SETUPS: list[tuple[str, int, list[float] | None, float, tuple[str, float, float] | None]] = [
    ("exp_draft_weights_v1", 2, None, 1.0, None),
    ("exp_split_10_30_60", 3, [10, 30, 60], 1.0, None),
    ("exp-cov-half", 3, [0.1, 0.3, 0.6], 0.5, None),
    ("exp.tiny.coverage", 4, None, 0.05, None),
    ("exp_ns_pricing", 2, [0.2, 0.8], 0.75, ("pricing", 0.0, 0.5)),
    ("exp_ns_ui", 3, [1, 1, 1], 1.0, ("ui-layout", 0.37, 0.911)),
    ("exp_zero_weight", 3, [0, 1, 1], 0.9, None),
    ("exp_seven", 7, [3, 1, 4, 1, 5, 9, 2], 0.999, None),
    ("expérience_☃_実験_🎲", 2, [0.5, 0.5], 0.42, ("名前空間🎯", 0.25, 1.0)),
    ("exp_no_coverage", 2, None, 0.0, None),
    ("exp_ns_edge", 2, [0.999, 0.001], 1.0, ("edge", 0.999, 1.0)),
]


def make_plan(
    setup: tuple[str, int, list[float] | None, float, tuple[str, float, float] | None],
) -> ExperimentPlan:
    key, n, weights, coverage, namespace = setup
    return ExperimentPlan.build(key, [f"v{i}" for i in range(n)], weights, coverage, namespace)


def sdk_experiment(plan: ExperimentPlan) -> Experiment[int]:
    return Experiment(
        key=plan.key,
        variations=list(range(len(plan.variant_ids))),
        weights=list(plan.weights),
        coverage=plan.coverage,
        namespace=plan.namespace,
        hashVersion=2,
    )


def sdk_answer(user_id: str, experiment: Experiment[int]) -> tuple[int | None, float | None]:
    result = GrowthBook(attributes={"id": user_id}).run(experiment)
    if not result.inExperiment:
        return None, None
    return result.variationId, result.bucket


# --- conformance with the SDK -------------------------------------------------------------------


def test_the_id_corpus_covers_every_kind() -> None:
    assert len(IDS) >= 10_000
    assert sum(i.isascii() for i in IDS) > 3000
    assert sum(any(0x80 <= ord(c) < 0x3000 for c in i) for i in IDS) > 2000  # accented / other scripts
    assert sum(any(0x4E00 <= ord(c) <= 0xD7A3 for c in i) for i in IDS) > 2000  # CJK / hangul
    assert sum(any(ord(c) > 0xFFFF for c in i) for i in IDS) > 2000  # astral: surrogate pairs
    assert sum(len(i) > 96 for i in IDS) > 200  # the long-id path


def test_assignment_matches_growthbook_sdk_for_every_id_and_setup() -> None:
    plans = [make_plan(setup) for setup in SETUPS]
    experiments = [sdk_experiment(plan) for plan in plans]
    outcomes: dict[str, Counter[int | None]] = {plan.key: Counter() for plan in plans}
    mismatches = []
    for user_id in IDS:
        gb = GrowthBook(attributes={"id": user_id})
        for plan, experiment in zip(plans, experiments, strict=True):
            result = gb.run(experiment)
            expected = result.variationId if result.inExperiment else None
            ours = assign(plan, user_id)
            outcomes[plan.key][ours] += 1
            if ours != expected or (expected is not None and plan.bucket(user_id) != result.bucket):
                mismatches.append((plan.key, user_id, ours, expected, plan.bucket(user_id), result.bucket))
    assert mismatches == []
    # Not vacuous: every setup with coverage has users in and out of it, in every variant with weight.
    for plan in plans:
        seen = outcomes[plan.key]
        if plan.coverage == 0:
            assert set(seen) == {None}
            continue
        width = 1.0 if plan.namespace is None else plan.namespace[2] - plan.namespace[1]
        likely = {i for i, w in enumerate(plan.weights) if len(IDS) * width * plan.coverage * w >= 20}
        assert likely <= set(seen) - {None} <= {i for i, w in enumerate(plan.weights) if w > 0}, plan.key
        if plan.coverage < 1 or plan.namespace is not None:
            assert seen[None] > 0, plan.key


def test_empty_id_is_never_in_an_experiment_like_the_sdk() -> None:
    plan = make_plan(SETUPS[0])
    assert assign(plan, "") is None
    assert sdk_answer("", sdk_experiment(plan)) == (None, None)
    assert plan.bucket("") is None
    assert hash_v2("seed", "") is None
    assert hash_v1("seed", "") is None


def test_weights_are_normalised_before_the_sdk_sees_them() -> None:
    plan = ExperimentPlan.build("k", ["a", "b", "c"], [10, 30, 60])
    assert plan.weights == (0.1, 0.3, 0.6)
    assert plan.ranges == tuple(gb_core.getBucketRanges(3, 1.0, [0.1, 0.3, 0.6]))
    # GrowthBook itself would split [10, 30, 60] equally: it only takes fractions summing to ~1.
    assert gb_core.getBucketRanges(3, 1.0, [10, 30, 60]) == bucket_ranges(3, 1.0, [10, 30, 60])
    assert bucket_ranges(3, 1.0, [10, 30, 60]) == bucket_ranges(3, 1.0, None)
    assert ExperimentPlan.build("k", ["a", "b"]).weights == (0.5, 0.5)


@pytest.mark.parametrize(
    ("weights", "coverage", "namespace"),
    [
        ([1, 2], 1.5, None),
        ([-1, 2], 1.0, None),
        ([0, 0], 1.0, None),
        ([1, math.inf], 1.0, None),
        ([1, math.nan], 1.0, None),
        ([1], 1.0, None),
        ([True, False], 1.0, None),
        ([1, 1], -0.1, None),
        ([1, 1], math.nan, None),
        ([1, 1], 1.0, ("", 0.0, 1.0)),
        ([1, 1], 1.0, ("ns", 0.6, 0.4)),
        ([1, 1], 1.0, ("ns", -0.1, 0.4)),
        ([1, 1], 1.0, ("ns", 0.0, 1.1)),
    ],
)
def test_invalid_plans_are_refused(
    weights: list[float], coverage: float, namespace: tuple[str, float, float] | None
) -> None:
    with pytest.raises(ValueError):
        ExperimentPlan.build("k", ["a", "b"], weights, coverage, namespace)


def test_invalid_variants_and_targeting_are_refused() -> None:
    for variants in (["a"], [], ["a", "a"], ["a", ""], [f"v{i}" for i in range(255)]):
        with pytest.raises(ValueError):
            ExperimentPlan.build("k", variants)
    with pytest.raises(ValueError):
        ExperimentPlan.build("", ["a", "b"])
    with pytest.raises(ValueError):
        ExperimentPlan.build("k", ["a", "b"], min_client_version="1.2")
    with pytest.raises(ValueError):
        ExperimentPlan.build("k", ["a", "b"], min_client_version="2.0.0", max_client_version="1.9.9")


# --- targeting ----------------------------------------------------------------------------------


def test_platform_and_client_version_targeting() -> None:
    plan = ExperimentPlan.build(
        "exp_target",
        ["a", "b"],
        platforms=["web", "android"],
        min_client_version="0.5.0",
        max_client_version="0.6.1",
    )
    untargeted = ExperimentPlan.build("exp_target", ["a", "b"])
    user = "player-42"
    expected = assign(untargeted, user)
    assert expected is not None
    assert assign(plan, user, "web", "0.5.0") == expected  # min inclusive
    assert assign(plan, user, "android", "0.6.1") == expected  # max inclusive
    assert assign(plan, user, "web", "0.6.1-rc.1") == expected  # a pre-release of 0.6.1 is below it
    assert assign(plan, user, "web", "0.6.1+build.7") == expected  # build metadata ignored
    assert assign(plan, user, "web", "0.5.0-rc.1") is None  # below 0.5.0
    assert assign(plan, user, "web", "0.6.2") is None
    assert assign(plan, user, "desktop", "0.6.0") is None
    assert assign(plan, user, None, "0.6.0") is None
    assert assign(plan, user, "web", None) is None  # a version range needs a version
    assert assign(plan, user, "web", "garbage") is None  # malformed: not eligible, never an error
    assert assign(plan, user, "web", "v0.6.0") is None
    only_min = ExperimentPlan.build("exp_target", ["a", "b"], min_client_version="1.0.0")
    assert assign(only_min, user, None, "99.0.0") == expected
    assert assign(only_min, user, None, "0.9.9") is None
    assert assign(untargeted, user, "anything", "not-a-version") == expected


def test_targeting_matches_a_growthbook_condition_on_plain_versions() -> None:
    """Our targeting is GrowthBook's condition {platform: {$in}, client_version: {$vgte, $vlte}}."""
    plan = ExperimentPlan.build(
        "exp_cond",
        ["a", "b", "c"],
        [0.2, 0.3, 0.5],
        0.8,
        platforms=["web", "ios"],
        min_client_version="1.2.0",
        max_client_version="2.0.0-rc.2",
    )
    experiment = sdk_experiment(plan)
    experiment.condition = {
        "platform": {"$in": ["web", "ios"]},
        "client_version": {"$vgte": "1.2.0", "$vlte": "2.0.0-rc.2"},
    }
    versions = ["1.1.9", "1.2.0-beta", "1.2.0", "1.10.3", "2.0.0-alpha", "2.0.0-rc.1", "2.0.0-rc.2"]
    versions += ["2.0.0-rc.10", "2.0.0", "10.0.0", "1.2.0+b1"]
    rng = random.Random(7)
    checked = 0
    for user_id in rng.sample(IDS, 400):
        for platform in ("web", "ios", "android"):
            for version in versions:
                gb = GrowthBook(attributes={"id": user_id, "platform": platform, "client_version": version})
                result = gb.run(experiment)
                expected = result.variationId if result.inExperiment else None
                assert assign(plan, user_id, platform, version) == expected, (user_id, platform, version)
                checked += 1
    assert checked == 400 * 3 * len(versions)


# --- distribution -------------------------------------------------------------------------------


def test_10_30_60_split_is_within_tolerance_over_100k_ids() -> None:
    plan = ExperimentPlan.build("exp_split_10_30_60", ["a", "b", "c"], [10, 30, 60])
    total = 100_000
    counts = Counter(assign(plan, f"player-{i:06d}") for i in range(total))
    assert None not in counts
    observed = [counts[0], counts[1], counts[2]]
    shares = [c / total for c in observed]
    for share, target in zip(shares, (0.1, 0.3, 0.6), strict=True):
        assert abs(share - target) < 0.01, shares
    assert chisquare(observed, [total * 0.1, total * 0.3, total * 0.6]).pvalue > 0.001, observed


def test_coverage_and_namespace_shares_are_within_tolerance() -> None:
    ids = [str(uuid.UUID(int=random.Random(3).getrandbits(128) + i)) for i in range(50_000)]
    half = ExperimentPlan.build("exp-cov", ["a", "b"], coverage=0.5)
    in_half = sum(assign(half, i) is not None for i in ids) / len(ids)
    assert abs(in_half - 0.5) < 0.01
    ns = ExperimentPlan.build("exp-ns", ["a", "b"], namespace=("shop", 0.0, 0.3))
    other = ExperimentPlan.build("exp-ns-2", ["a", "b"], namespace=("shop", 0.3, 1.0))
    in_ns = [assign(ns, i) is not None for i in ids]
    in_other = [assign(other, i) is not None for i in ids]
    assert abs(sum(in_ns) / len(ids) - 0.3) < 0.01
    # Adjacent ranges of one namespace split the users: each user is in exactly one of them.
    assert all(a != b for a, b in zip(in_ns, in_other, strict=True))


# --- hashing: known vectors and properties ------------------------------------------------------

# FNV-1a 32 reference values (Landon Curt Noll's test suite; ASCII, so bytes == UTF-16 code units).
FNV_REFERENCE = {"": 0x811C9DC5, "a": 0xE40C292C, "ab": 0x4D2505CA, "foobar": 0xBF9CF968}

# growthbook/packages/sdk-js/test/cases.json "hash": (seed, value, version, expected).
GROWTHBOOK_HASH_VECTORS = [
    ("", "a", 1, 0.22),
    ("", "b", 1, 0.077),
    ("b", "a", 1, 0.946),
    ("ef", "d", 1, 0.652),
    ("asdf", "8952klfjas09ujk", 1, 0.549),
    ("", "123", 1, 0.011),
    ("", '___)((*":&', 1, 0.563),
    ("seed", "a", 2, 0.0505),
    ("seed", "b", 2, 0.2696),
    ("foo", "ab", 2, 0.2575),
    ("foo", "def", 2, 0.2019),
    ("89123klj", "8952klfjas09ujkasdf", 2, 0.124),
    ("90850943850283058242805", "123", 2, 0.7516),
    ("()**(%$##$%#$#", '___)((*":&', 2, 0.0128),
]

# growthbook cases.json "getBucketRange": ((numVariations, coverage, weights), expected ranges).
GROWTHBOOK_BUCKET_RANGE_VECTORS: list[
    tuple[tuple[int, float, list[float] | None], list[tuple[float, float]]]
] = [
    ((2, 1, None), [(0, 0.5), (0.5, 1)]),
    ((2, 0.5, None), [(0, 0.25), (0.5, 0.75)]),
    ((2, 0, None), [(0, 0), (0.5, 0.5)]),
    ((4, 1, None), [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]),
    ((2, 1, [0.4, 0.6]), [(0, 0.4), (0.4, 1)]),
    ((3, 1, [0.2, 0.3, 0.5]), [(0, 0.2), (0.2, 0.5), (0.5, 1)]),
    ((2, 1, [0.4, 0.1]), [(0, 0.5), (0.5, 1)]),  # weights not summing to 1: equal weights
    ((2, 1, [0.7, 0.6]), [(0, 0.5), (0.5, 1)]),
    ((4, 1, [0.4, 0.4, 0.2]), [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]),  # wrong length
    ((2, -0.2, None), [(0, 0), (0.5, 0.5)]),  # coverage clamped
    ((2, 1.5, None), [(0, 0.5), (0.5, 1)]),
]


def _fnv_over_units(units: Sequence[int]) -> int:
    """Independent FNV-1a 32 over explicit code units (the definition, written out)."""
    h = 0x811C9DC5
    for u in units:
        h ^= u
        h = (h * 16777619) % 2**32
    return h


def test_fnv1a32_known_vectors() -> None:
    for text, expected in FNV_REFERENCE.items():
        assert fnv1a32(text) == expected
    # UTF-16 code units, as JS charCodeAt sees them: é is one unit, 😀 is the pair D83D DE00.
    assert fnv1a32("é") == _fnv_over_units([0x00E9])
    assert fnv1a32("😀") == _fnv_over_units([0xD83D, 0xDE00])
    assert fnv1a32("a😀中") == _fnv_over_units([0x61, 0xD83D, 0xDE00, 0x4E2D])
    assert fnv1a32("😀") != _fnv_over_units([0x1F600])  # not code points
    assert fnv1a32("é") != _fnv_over_units([0xC3, 0xA9])  # not UTF-8 bytes
    assert fnv1a32("\ud83d\ude00") == fnv1a32("😀")
    # The lazy-reduction and per-step paths agree at their boundary.
    for text in ("z" * 95, "z" * 96, "z" * 97, "ü" * 96, "ü" * 97, "😀" * 48, "😀" * 49):
        raw = text.encode("utf-16-le")
        assert fnv1a32(text) == _fnv_over_units(
            [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]
        )
        assert fnv1a32(text) == gb_core.fnv1a32(text)


def test_growthbook_hash_vectors() -> None:
    for seed, value, version, expected in GROWTHBOOK_HASH_VECTORS:
        ours = hash_v2(seed, value) if version == 2 else hash_v1(seed, value)
        assert ours == expected, (seed, value, version)
        assert gb_core.gbhash(seed, value, version) == expected


def test_growthbook_bucket_range_vectors() -> None:
    for (n, coverage, weights), expected in GROWTHBOOK_BUCKET_RANGE_VECTORS:
        ours = bucket_ranges(n, coverage, weights)
        assert [(round(a, 6), round(b, 6)) for a, b in ours] == expected
        assert ours == gb_core.getBucketRanges(n, coverage, weights)


def test_choose_variation_and_namespace_vectors() -> None:
    even, reduced, zero = bucket_ranges(2, 1), bucket_ranges(2, 0.5), [(0, 0.5), (0.5, 0.5), (0.5, 1)]
    assert [choose_variation(x, even) for x in (0.2, 0.6, 0.4, 0.8, 0, 0.5)] == [0, 1, 0, 1, 0, 1]
    assert [choose_variation(x, reduced) for x in (0.2, 0.6, 0.4, 0.8)] == [0, 1, -1, -1]
    assert choose_variation(0.5, zero) == 2
    assert choose_variation(1.0, even) == -1
    # cases.json "inNamespace"
    cases = [
        ("1", "namespace1", 0, 0.4, False),
        ("1", "namespace1", 0.4, 1, True),
        ("1", "namespace2", 0, 0.4, False),
        ("1", "namespace2", 0.4, 1, True),
        ("2", "namespace1", 0, 0.4, False),
        ("2", "namespace1", 0.4, 1, True),
        ("2", "namespace2", 0, 0.4, False),
        ("2", "namespace2", 0.4, 1, True),
    ]
    for user, ns, start, end, expected in cases:
        assert in_namespace(user, ns, (start, end)) is expected
        assert gb_core.inNamespace(user, (ns, start, end)) is expected


def test_namespace_hash_is_v1_of_double_underscore_id() -> None:
    for user_id in IDS[:500]:
        n = hash_v1("__pricing", user_id)
        assert n is not None
        assert in_namespace(user_id, "pricing", (0.2, 0.7)) is (0.2 <= n < 0.7)
        assert n == gb_core.gbhash("__pricing", user_id, 1)


ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHAR, max_size=120), st.text(ANY_CHAR, max_size=30))
def test_hashes_match_the_sdk_for_any_text(value: str, seed: str) -> None:
    assert fnv1a32(value) == gb_core.fnv1a32(value)
    if value:
        assert hash_v2(seed, value) == gb_core.gbhash(seed, value, 2)
        assert hash_v1(seed, value) == gb_core.gbhash(seed, value, 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    user_id=st.text(ANY_CHAR, min_size=1, max_size=60),
    key=st.text(ANY_CHAR, min_size=1, max_size=20),
    weights=st.lists(st.integers(0, 100), min_size=2, max_size=6).filter(lambda w: sum(w) > 0),
    coverage=st.floats(0, 1),
    namespace=st.none() | st.tuples(st.text(min_size=1, max_size=8), st.floats(0, 1), st.floats(0, 1)),
)
def test_assign_matches_the_sdk_for_any_experiment(
    user_id: str,
    key: str,
    weights: list[int],
    coverage: float,
    namespace: tuple[str, float, float] | None,
) -> None:
    if namespace is not None:
        namespace = (namespace[0], min(namespace[1:]), max(namespace[1:]))
    plan = ExperimentPlan.build(key, [f"v{i}" for i in range(len(weights))], weights, coverage, namespace)
    assert assign(plan, user_id) == sdk_answer(user_id, sdk_experiment(plan))[0]


# --- bucket ranges: properties ------------------------------------------------------------------

fractions = st.lists(st.integers(0, 1000), min_size=1, max_size=12).filter(lambda w: sum(w) > 0)


@settings(max_examples=300, deadline=None)
@given(fractions, st.floats(0, 1))
def test_bucket_ranges_properties(relative: list[int], coverage: float) -> None:
    weights = list(normalise_weights(relative, len(relative)))
    ranges = bucket_ranges(len(weights), coverage, weights)
    assert ranges == gb_core.getBucketRanges(len(weights), coverage, weights)
    assert len(ranges) == len(weights)
    assert math.isclose(sum(end - start for start, end in ranges), coverage, abs_tol=1e-9)
    assert ranges[0][0] == 0
    for (start, end), w in zip(ranges, weights, strict=True):
        assert start <= end
        assert math.isclose(end - start, coverage * w, abs_tol=1e-12)
    for (_, end), (next_start, _) in itertools.pairwise(ranges):
        assert end <= next_start  # ordered and non-overlapping
    assert ranges[-1][1] <= 1 + 1e-9


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 8),
    st.floats(-1, 2, allow_nan=False),
    st.none() | st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5), max_size=9),
)
def test_bucket_ranges_match_the_sdk_for_any_input(
    n: int, coverage: float, weights: list[float] | None
) -> None:
    """Invalid weights (wrong length, negative, non-finite, sum outside [0.99, 1.01]) → equal weights."""
    ours = bucket_ranges(n, coverage, weights)
    assert ours == gb_core.getBucketRanges(n, coverage, weights)


@settings(max_examples=40, deadline=None)
@given(fractions.filter(lambda w: len(w) <= 254), st.floats(0, 1))
def test_variant_table_is_choose_variation_for_every_bucket(relative: list[int], coverage: float) -> None:
    ranges = bucket_ranges(len(relative), coverage, list(normalise_weights(relative, len(relative))))
    table = variant_table(ranges)
    assert len(table) == 10_000
    for k in range(10_000):
        index = choose_variation(k / 10_000, ranges)
        assert table[k] == (255 if index < 0 else index)


def test_variant_table_first_range_wins_overlaps() -> None:
    table = variant_table([(0.0, 0.6), (0.4, 1.0), (0.0, 1.0)])
    assert table[3999] == 0 and table[5999] == 0 and table[6000] == 1 and table[9999] == 1
    assert variant_table([(0.5, 0.5), (0.7, 0.2)]) == bytes([255]) * 10_000


# --- semver -------------------------------------------------------------------------------------

SEMVER_ORDER = [
    "0.0.0",
    "0.0.1",
    "0.5.0-rc.1",
    "0.5.0",
    "0.6.0",
    "0.10.0",
    "1.0.0-0",
    "1.0.0-1",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.9.0",
    "1.10.0",
    "1.11.0",
    "2.0.0",
    "2.1.0",
    "2.1.1",
    "10.0.0",
    "123456789.0.0",
]


def test_semver_precedence_follows_the_specification() -> None:
    keys = [parse_semver(v) for v in SEMVER_ORDER]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    for i, a in enumerate(SEMVER_ORDER):
        for j, b in enumerate(SEMVER_ORDER):
            assert compare_semver(a, b) == (i > j) - (i < j)


def test_semver_build_metadata_is_ignored() -> None:
    assert compare_semver("1.0.0+build.1", "1.0.0+other") == 0
    assert compare_semver("1.0.0-rc.1+b", "1.0.0-rc.1") == 0
    assert parse_semver("1.2.3+20130313144700") == parse_semver("1.2.3")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "v1.2.3",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3-a..b",
        "1.2.3-a.",
        "1.2.3+",
        "1.2.3+a..b",
        "1.2.3-\u03b1",  # Greek alpha
        "\u0661.\u0662.\u0663",  # Arabic-Indic digits
        "1.2.x",
        "-1.2.3",
        "1.2.3-rc_1",
        "1." + "1" * 300 + ".0",
    ],
)
def test_malformed_semver_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_semver(text)
    assert not is_semver(text)


def test_semver_edge_cases_that_are_valid() -> None:
    for text in (
        "0.0.0",
        "1.2.3-0",
        "1.2.3-0a",
        "1.2.3--",
        "1.2.3-x-y.z",
        "1.2.3----RC-SNAPSHOT.12.9.1--.12",
    ):
        assert is_semver(text), text
    assert parse_semver("1.2.3-0a") > parse_semver("1.2.3-9")  # alphanumeric above numeric
    with pytest.raises(ValueError):
        parse_semver(None)  # type: ignore[arg-type]
    assert in_version_range(parse_semver("1.0.0"), None, None)
    assert in_version_range(parse_semver("1.0.0"), parse_semver("1.0.0"), parse_semver("1.0.0"))
    assert not in_version_range(parse_semver("1.0.0-rc.1"), parse_semver("1.0.0"), None)


_ident = st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,5}", fullmatch=True) | st.integers(0, 99999).map(str)
_version = st.builds(
    lambda core, pre: ".".join(map(str, core)) + ("-" + ".".join(pre) if pre else ""),
    st.tuples(st.integers(0, 99999), st.integers(0, 99999), st.integers(0, 99999)),
    st.lists(_ident, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(_version, _version)
def test_semver_agrees_with_growthbook_version_conditions_where_both_apply(a: str, b: str) -> None:
    """GrowthBook's $vgt/$vlt pad numbers to 5 characters and split on '-' too: on versions with
    numbers below 100000 and no '-' inside pre-release identifiers, both orders are the same."""
    ours = compare_semver(a, b)
    assert ours == -compare_semver(b, a)
    pa, pb = gb_core.paddedVersionString(a), gb_core.paddedVersionString(b)
    assert ours == (pa > pb) - (pa < pb)


def test_semver_differs_from_growthbook_outside_that_subset() -> None:
    # Numbers of 6+ digits: GrowthBook's padded strings compare "100000" below "99999".
    assert compare_semver("1.0.100000", "1.0.99999") == 1
    assert gb_core.paddedVersionString("1.0.100000") < gb_core.paddedVersionString("1.0.99999")
    # '-' inside a pre-release identifier: GrowthBook splits it, semver does not.
    assert compare_semver("1.0.0-rc-1", "1.0.0-rc.1") == 1
    assert gb_core.paddedVersionString("1.0.0-rc-1") == gb_core.paddedVersionString("1.0.0-rc.1")
