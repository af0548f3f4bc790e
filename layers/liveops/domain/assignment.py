"""Experiment assignment, bucket for bucket the same as GrowthBook's SDKs.

The reference functions mirror GrowthBook's (JS `util.ts` / Python `growthbook.core`) one for one:

- `fnv1a32(text)`: FNV-1a 32 over the UTF-16 code units of `text` (JS `charCodeAt`), so accented, CJK
  and astral (emoji) ids hash as in the browser. Lone surrogates are code units too.
- `hash_v2(seed, value)`: `(fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000`;
  `hash_v1(seed, value)`: `(fnv1a32(value + seed) % 1000) / 1000` (namespaces use it).
- `bucket_ranges(n, coverage, weights)`: GrowthBook's getBucketRanges — coverage clamped to [0, 1],
  a weight vector that is not one finite, non-negative number per variation summing to within
  [0.99, 1.01] replaced by equal weights, then `[start, start + coverage * w)` ranges laid at the
  cumulative weight, with the same floating-point operations in the same order.
- `choose_variation(n, ranges)`: the first half-open range holding `n`, else -1.
- `in_namespace(user_id, namespace_id, (start, end))`: `start <= hash_v1("__" + id, user_id) < end`.

`assign(plan, user_id, ...)` is what GrowthBook's `run(Experiment(key, variations, weights,
coverage, namespace, hashVersion=2))` answers for `attributes={"id": user_id}` (seed = key): an empty
id is never in an experiment, the namespace is checked before the variation, and a user whose bucket
falls past the coverage of every variation is not in the experiment. Platform and client-version
targeting are ours (GrowthBook would express them as a condition); they are checked first.

Admin configs carry relative weights (`1, 1` or `10, 30, 60`): `ExperimentPlan.build` normalises
them to fractions (`w / sum`) once, and those fractions (`plan.weights`) are what the SDK is given in
the conformance tests. GrowthBook itself would treat `[10, 30, 60]` as invalid and split equally.

Conformance notes (checked against the `growthbook` Python SDK 4.x in the unit tests):
- That SDK hashes UTF-16 code units like the JS SDK. Earlier Python SDK releases XORed code points
  (`ord(c)`), which differs for astral characters (emoji, CJK extension B): an id like "😀" bucketed
  differently there than in the browser. We follow JS / SDK 4.x.
- Weight validation: the JS SDK only checks length and sum (so `[1.2, -0.2]` gives an inverted
  range); the Python SDK 4.x also requires every weight to be finite and >= 0, and so do we. Plans
  never reach this path with bad weights: `ExperimentPlan.build` refuses them.

Speed: ids whose code units are all below 256 (ASCII, Latin-1: nearly every id) are hashed by
`fnv_hash_fast` (FNV-1a 32 in C) over their Latin-1 bytes, which are exactly their UTF-16 code
units: ~10x the Python loop. The seed is prepended as bytes once per plan, and the namespace suffix
appended likewise. Other ids take the Python path: a plan keeps the FNV state after its seed (hash
v2 hashes `seed + value`, so only the user id is hashed per call), the digits of the intermediate
hash go through a table of the FNV states of every 1-4 digit decimal prefix. Either way a
10,000-entry table maps each possible hash-v2 bucket straight to its variant (built from the same
float comparisons as `choose_variation`), and a 1,000-entry table does the same for the namespace
range.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fnv_hash_fast import fnv1a_32 as fnv1a32_bytes

from liveops.domain.semver import SemVer, in_version_range, parse_semver

FNV_OFFSET_BASIS = 0x811C9DC5
FNV_PRIME = 0x01000193
_MASK = 0xFFFFFFFF
# memoryview.cast("H") reads native-endian code units.
_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"
# Below this many code units the FNV product is left unreduced until the end (one `& mask` instead
# of one per unit, ~25 % faster); longer inputs reduce every step so the integer never grows large.
_LAZY_MASK_MAX = 96

WEIGHT_SUM_MIN = 0.99
WEIGHT_SUM_MAX = 1.01
MAX_VARIANTS = 254
_NO_VARIANT = 255
_BUCKETS_V2 = 10000

Range = tuple[float, float]


# --- FNV-1a 32 over UTF-16 code units -----------------------------------------------------------


def code_units(text: str) -> Iterable[int]:
    """The UTF-16 code units of `text`, as JS `charCodeAt` sees them (ASCII: its bytes)."""
    if text.isascii():
        return text.encode()
    return memoryview(text.encode(_UTF16, "surrogatepass")).cast("H")


def _feed(state: int, text: str) -> int:
    """Continue an FNV-1a 32 state over the code units of `text` (returns the reduced state)."""
    if text.isascii():
        units: Iterable[int] = text.encode()
        count = len(text)
    else:
        raw = text.encode(_UTF16, "surrogatepass")
        units = memoryview(raw).cast("H")
        count = len(raw) >> 1
    if count <= _LAZY_MASK_MAX:
        # XOR with a unit below 2**16 and multiplication both commute with reduction mod 2**32.
        for unit in units:
            state = (state ^ unit) * 16777619
        return state & 4294967295
    for unit in units:
        state = ((state ^ unit) * 16777619) & 4294967295
    return state


def _feed_units(state: int, units: Sequence[int]) -> int:
    if len(units) > _LAZY_MASK_MAX:
        for unit in units:
            state = ((state ^ unit) * 16777619) & 4294967295
        return state
    for unit in units:
        state = (state ^ unit) * 16777619
    return state & 4294967295


def fnv1a32(text: str) -> int:
    """FNV-1a 32 of `text`'s UTF-16 code units (GrowthBook's `hashFnv32a`)."""
    return _feed(FNV_OFFSET_BASIS, text)


# FNV states of the decimal strings "1" .. "4294" (every value of h // 10**6 for a 32-bit h), each
# derived from its prefix in one step: hash v2 hashes str(h), and this covers all but its last 6 digits.
_DIGIT_PREFIX_STATES: list[int] = [FNV_OFFSET_BASIS]
for _p in range(1, _MASK // 1000000 + 1):
    _DIGIT_PREFIX_STATES.append(((_DIGIT_PREFIX_STATES[_p // 10] ^ (48 + _p % 10)) * FNV_PRIME) & _MASK)
del _p


def _v2_bucket(first: int) -> int:
    """`fnv1a32(str(first)) % 10000` for a 32-bit `first`: hash v2's bucket, 0..9999."""
    if first < 1000000:
        return _feed(FNV_OFFSET_BASIS, str(first)) % 10000
    a, b, c, d, e, f = b"%06d" % (first % 1000000)
    state = _DIGIT_PREFIX_STATES[first // 1000000]
    state = (((state ^ a) * 16777619) ^ b) * 16777619
    state = (((state ^ c) * 16777619) ^ d) * 16777619
    state = (((state ^ e) * 16777619) ^ f) * 16777619
    return (state & 4294967295) % 10000


def hash_v2(seed: str, value: str) -> float | None:
    """GrowthBook hash version 2, in [0, 1) in steps of 1/10000; None for an empty value (no id)."""
    if not value:
        return None
    return _v2_bucket(_feed(FNV_OFFSET_BASIS, seed + value)) / 10000


def hash_v1(seed: str, value: str) -> float | None:
    """GrowthBook hash version 1 (namespaces), in [0, 1) in steps of 1/1000; None for an empty value."""
    if not value:
        return None
    return (_feed(FNV_OFFSET_BASIS, value + seed) % 1000) / 1000


# --- bucket ranges ------------------------------------------------------------------------------


def equal_weights(n: int) -> list[float]:
    return [1 / n for _ in range(n)] if n >= 1 else []


def _valid_weights(weights: Sequence[float] | None, n: int) -> bool:
    if weights is None or len(weights) != n:
        return False
    try:
        if not all(
            isinstance(w, int | float) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
            for w in weights
        ):
            return False
        return WEIGHT_SUM_MIN <= sum(weights) <= WEIGHT_SUM_MAX
    except OverflowError:
        return False


def bucket_ranges(n: int, coverage: float = 1, weights: Sequence[float] | None = None) -> list[Range]:
    """GrowthBook's getBucketRanges: one `[start, start + coverage * w)` range per variation."""
    if coverage < 0:
        coverage = 0
    if coverage > 1:
        coverage = 1
    used: Sequence[float] = (
        weights if weights is not None and _valid_weights(weights, n) else equal_weights(n)
    )
    cumulative: float = 0
    ranges: list[Range] = []
    for w in used:
        start = cumulative
        cumulative += w
        ranges.append((start, start + coverage * w))
    return ranges


def choose_variation(n: float, ranges: Sequence[Range]) -> int:
    """Index of the first range with `start <= n < end`; -1 when there is none."""
    for i, (start, end) in enumerate(ranges):
        if start <= n < end:
            return i
    return -1


def in_namespace(user_id: str, namespace_id: str, range_: Range) -> bool:
    """GrowthBook's inNamespace: hash v1 of the id with seed `__<namespace id>`, half-open range."""
    n = hash_v1("__" + namespace_id, user_id)
    if n is None:
        return False
    return range_[0] <= n < range_[1]


def _first_bucket_at_or_above(x: float, buckets: int) -> int:
    """Smallest k in 0..buckets with k / buckets >= x (buckets when none), by the exact float test."""
    k = min(max(math.ceil(x * buckets), 0), buckets)
    while k > 0 and (k - 1) / buckets >= x:
        k -= 1
    while k < buckets and k / buckets < x:
        k += 1
    return k


def variant_table(ranges: Sequence[Range], buckets: int = _BUCKETS_V2) -> bytes:
    """`table[k] == choose_variation(k / buckets, ranges)` for every k, with 255 standing for -1."""
    if len(ranges) > MAX_VARIANTS:
        raise ValueError(f"at most {MAX_VARIANTS} variants")
    table = bytearray([_NO_VARIANT]) * buckets
    # k / buckets is increasing in k, so each range holds a run of buckets; filling the ranges last
    # to first lets an earlier range win any bucket two ranges share, as choose_variation's loop does.
    for index in range(len(ranges) - 1, -1, -1):
        start, end = ranges[index]
        if not start < end:  # also false for NaN
            continue
        lo = _first_bucket_at_or_above(start, buckets)
        hi = _first_bucket_at_or_above(end, buckets)
        table[lo:hi] = bytes([index]) * (hi - lo)
    return bytes(table)


def namespace_table(start: float, end: float) -> bytes:
    """`table[k] == 1` when `start <= k / 1000 < end` (hash v1's 1000 buckets), else 0."""
    return bytes(1 if start <= k / 1000 < end else 0 for k in range(1000))


# --- plans --------------------------------------------------------------------------------------


def normalise_weights(weights: Sequence[float] | None, n: int) -> tuple[float, ...]:
    """Relative weights (`1, 1`, `10, 30, 60`, `0.2, 0.8`) as fractions summing to ~1.

    ValueError unless there is one finite, non-negative weight per variant and their sum is > 0.
    None means equal weights (exactly GrowthBook's `1 / n` each).
    """
    if weights is None:
        return tuple(equal_weights(n))
    if len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} variants")
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            raise ValueError(f"weights must be finite numbers >= 0, got {w!r}")
    total = math.fsum(weights)
    if not total > 0 or not math.isfinite(total):
        raise ValueError("weights must not all be 0")
    return tuple(w / total for w in weights)


@dataclass(frozen=True, slots=True)
class ExperimentPlan:
    """A running experiment, ready to assign: build once (`ExperimentPlan.build`), assign many times.

    `weights` are the normalised fractions; `namespace` is `(id, start, end)`; `platforms` None means
    every platform; `min_client_version` / `max_client_version` are inclusive parsed semvers.
    """

    key: str
    variant_ids: tuple[str, ...]
    weights: tuple[float, ...]
    coverage: float
    namespace: tuple[str, float, float] | None = None
    platforms: frozenset[str] | None = None
    min_client_version: SemVer | None = None
    max_client_version: SemVer | None = None
    ranges: tuple[Range, ...] = field(default=(), repr=False)
    _seed_state: int = field(default=FNV_OFFSET_BASIS, repr=False, compare=False)
    _namespace_units: tuple[int, ...] = field(default=(), repr=False, compare=False)
    _namespace_table: bytes = field(default=b"", repr=False, compare=False)
    _table: bytes = field(default=b"", repr=False, compare=False)
    # Latin-1 bytes of the seed and of the namespace suffix "__<id>" (None: a code unit >= 256)
    _seed_bytes: bytes | None = field(default=None, repr=False, compare=False)
    _namespace_suffix: bytes | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        key: str,
        variant_ids: Sequence[str],
        weights: Sequence[float] | None = None,
        coverage: float = 1.0,
        namespace: tuple[str, float, float] | None = None,
        platforms: Iterable[str] | None = None,
        min_client_version: str | None = None,
        max_client_version: str | None = None,
    ) -> ExperimentPlan:
        """Validate a config and precompute its ranges and tables; ValueError when it is invalid."""
        if not isinstance(key, str) or not key:
            raise ValueError("experiment key must be a non-empty string")
        ids = tuple(variant_ids)
        if not 2 <= len(ids) <= MAX_VARIANTS:
            raise ValueError(f"an experiment needs 2 to {MAX_VARIANTS} variants, got {len(ids)}")
        if any(not isinstance(v, str) or not v for v in ids) or len(set(ids)) != len(ids):
            raise ValueError("variant ids must be distinct non-empty strings")
        fractions = normalise_weights(weights, len(ids))
        if isinstance(coverage, bool) or not isinstance(coverage, int | float) or not 0 <= coverage <= 1:
            raise ValueError(f"coverage must be a number in [0, 1], got {coverage!r}")
        ns: tuple[str, float, float] | None = None
        ns_units: tuple[int, ...] = ()
        if namespace is not None:
            ns_id, ns_start, ns_end = namespace
            if not isinstance(ns_id, str) or not ns_id:
                raise ValueError("namespace id must be a non-empty string")
            if not (
                all(isinstance(x, int | float) and not isinstance(x, bool) for x in (ns_start, ns_end))
                and 0 <= ns_start <= ns_end <= 1
            ):
                raise ValueError(f"namespace range must satisfy 0 <= start <= end <= 1, got {namespace!r}")
            ns = (ns_id, float(ns_start), float(ns_end))
            ns_units = tuple(code_units("__" + ns_id))
        platform_set = None if platforms is None else frozenset(platforms)
        low = None if min_client_version is None else parse_semver(min_client_version)
        high = None if max_client_version is None else parse_semver(max_client_version)
        if low is not None and high is not None and low > high:
            raise ValueError("min_client_version is above max_client_version")
        ranges = tuple(bucket_ranges(len(ids), float(coverage), list(fractions)))
        return cls(
            key=key,
            variant_ids=ids,
            weights=fractions,
            coverage=float(coverage),
            namespace=ns,
            platforms=platform_set,
            min_client_version=low,
            max_client_version=high,
            ranges=ranges,
            _seed_state=_feed(FNV_OFFSET_BASIS, key),
            _namespace_units=ns_units,
            _namespace_table=b"" if ns is None else namespace_table(ns[1], ns[2]),
            _table=variant_table(ranges),
            _seed_bytes=_latin1(key),
            _namespace_suffix=None if ns is None else _latin1("__" + ns[0]),
        )

    def bucket(self, user_id: str) -> float | None:
        """The user's hash-v2 bucket in [0, 1) (what GrowthBook reports as `bucket`)."""
        if not user_id:
            return None
        return _v2_bucket(_feed(self._seed_state, user_id)) / 10000

    def variant_id(self, index: int | None) -> str | None:
        return None if index is None else self.variant_ids[index]


def _latin1(text: str) -> bytes | None:
    """`text`'s bytes when every code unit is below 256 (then they are its UTF-16 code units)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


# Client versions are few: each is parsed once (None when malformed), in a bounded cache.
_VERSION_CACHE: dict[str, SemVer | None] = {}
_VERSION_CACHE_MAX = 4096


def _parsed_client_version(text: str) -> SemVer | None:
    try:
        return _VERSION_CACHE[text]
    except KeyError:
        pass
    try:
        parsed: SemVer | None = parse_semver(text)
    except ValueError:
        parsed = None
    if len(_VERSION_CACHE) >= _VERSION_CACHE_MAX:
        _VERSION_CACHE.clear()
    _VERSION_CACHE[text] = parsed
    return parsed


def targeted(plan: ExperimentPlan, platform: str | None, client_version: str | None) -> bool:
    """Whether the experiment's targeting admits this platform and client version.

    A targeted version range needs a well-formed client version inside it.
    """
    if plan.platforms is not None and platform not in plan.platforms:
        return False
    if plan.min_client_version is not None or plan.max_client_version is not None:
        if not isinstance(client_version, str):
            return False
        version = _parsed_client_version(client_version)
        if version is None or not in_version_range(version, plan.min_client_version, plan.max_client_version):
            return False
    return True


def assign(
    plan: ExperimentPlan, user_id: str, platform: str | None = None, client_version: str | None = None
) -> int | None:
    """The index of the user's variant, or None when the user is not in the experiment.

    Not eligible: an empty user id; a platform outside the targeted ones; a client version that is
    missing, malformed or outside the targeted range (when a range is set); outside the namespace
    range; a bucket beyond the coverage.
    """
    if not user_id or not targeted(plan, platform, client_version):
        return None
    # Hot path: every code unit below 256, hashed in C (see the module docstring)
    try:
        units = user_id.encode("latin-1")
    except UnicodeEncodeError:
        units = None
    seed = plan._seed_bytes
    if (
        units is not None
        and seed is not None
        and (plan.namespace is None or plan._namespace_suffix is not None)
    ):
        if (
            plan._namespace_suffix is not None
            and not plan._namespace_table[fnv1a32_bytes(units + plan._namespace_suffix) % 1000]
        ):
            return None
        index = plan._table[fnv1a32_bytes(b"%d" % fnv1a32_bytes(seed + units)) % 10000]
        return None if index == _NO_VARIANT else index
    # Python path: _v2_bucket(_feed(seed_state, user_id)) inlined for short ASCII ids;
    # with a namespace, the same pass also hashes the id from the offset basis for hash v1.
    state = plan._seed_state
    if len(user_id) <= _LAZY_MASK_MAX and user_id.isascii():
        if plan.namespace is None:
            for unit in user_id.encode():
                state = (state ^ unit) * 16777619
        else:
            ns_state = 2166136261
            for unit in user_id.encode():
                state = (state ^ unit) * 16777619
                ns_state = (ns_state ^ unit) * 16777619
            if not plan._namespace_table[_feed_units(ns_state & 4294967295, plan._namespace_units) % 1000]:
                return None
        first = state & 4294967295
    else:
        if (
            plan.namespace is not None
            and not plan._namespace_table[
                _feed_units(_feed(FNV_OFFSET_BASIS, user_id), plan._namespace_units) % 1000
            ]
        ):
            return None
        first = _feed(state, user_id)
    if first < 1000000:
        bucket = _v2_bucket(first)
    else:
        a, b, c, d, e, f = b"%06d" % (first % 1000000)
        state = _DIGIT_PREFIX_STATES[first // 1000000]
        state = (((state ^ a) * 16777619) ^ b) * 16777619
        state = (((state ^ c) * 16777619) ^ d) * 16777619
        state = (((state ^ e) * 16777619) ^ f) * 16777619
        bucket = (state & 4294967295) % 10000
    index = plan._table[bucket]
    return None if index == _NO_VARIANT else index
