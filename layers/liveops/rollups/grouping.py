"""Grouped statistics over integer codes with numpy: sorts and counts, no Python loop over groups."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from liveops.rollups.schema import TOTAL

Column = tuple[np.ndarray, int]  # codes and their cardinality (codes in 0..card-1)

_KEY_BITS = 62


def small_codes(codes: np.ndarray, count: int) -> np.ndarray:
    """Codes below `count` (or -1) in the smallest signed type that holds them: memory holds
    several per event. Arithmetic on them must widen first (see `dense_code`)."""
    return codes.astype(np.int16 if count < 2**15 else np.int32 if count < 2**31 else np.int64, copy=False)


def dense_code(columns: Sequence[Column]) -> np.ndarray:
    """One int64 code per row for the combination of columns: (c0 * card1 + c1) * card2 + c2..."""
    code = columns[0][0].astype(np.int64)
    for codes, card in columns[1:]:
        code *= max(int(card), 1)
        code += codes
    return code


def pack(columns: Sequence[Column]) -> tuple[np.ndarray, Callable[[np.ndarray], list[np.ndarray]]]:
    """One int64 key per row ordered like the tuples of `columns`, and the function that unpacks
    keys into the columns again. Each column takes the bits its cardinality needs, so packing and
    unpacking are shifts and masks; where the bits would run out, the key so far is renumbered
    densely first (np.unique keeps the order)."""
    bits = [max(int(card) - 1, 0).bit_length() for _, card in columns]
    key = columns[0][0].astype(np.int64)
    used = bits[0]
    renumbered: dict[int, np.ndarray] = {}
    for position in range(1, len(columns)):
        if used + bits[position] > _KEY_BITS:
            renumbered[position], key = np.unique(key, return_inverse=True)
            used = max(len(renumbered[position]) - 1, 0).bit_length()
        key <<= bits[position]
        key |= columns[position][0]
        used += bits[position]

    def unpack(keys: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        rest = keys
        for position in range(len(columns) - 1, 0, -1):
            out.append(small_codes(rest & ((1 << bits[position]) - 1), 1 << bits[position]))
            rest = rest >> bits[position]
            if position in renumbered:
                rest = renumbered[position][rest]
        out.append(rest)
        return out[::-1]

    return key, unpack


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, ascending. Sorts `keys` in place (callers pass a fresh array): one copy
    of millions of keys is memory enough."""
    keys.sort()
    return keys[run_starts(keys)]


def run_starts(*columns: np.ndarray) -> np.ndarray:
    """True at each row where any column differs from the row before (and at the first row)."""
    rows = len(columns[0])
    starts = np.zeros(rows, dtype=bool)
    if rows:
        starts[0] = True
        for column in columns:
            starts[1:] |= column[1:] != column[:-1]
    return starts


def stable_order(codes: np.ndarray, card: int) -> np.ndarray:
    """The stable sort of small group codes: numpy sorts 16-bit integers by radix, in linear time."""
    if card <= 1:
        return np.arange(len(codes))
    if card <= 2**16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    return np.argsort(codes, kind="stable")


def quantiles(sorted_values: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Exact quantile per group by linear interpolation between closest ranks."""
    pos = (counts - 1) * q
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    low, high = sorted_values[starts + lo], sorted_values[starts + hi]
    return low + (high - low) * (pos - lo)


def distinct_counts(groups: Column, ident: Column) -> np.ndarray:
    """Distinct identities per group code, dense over the group codes."""
    keys, unpack = pack([groups, ident])
    group_of_pair = unpack(sorted_unique(keys))[0]
    return np.bincount(group_of_pair, minlength=max(int(groups[1]), 1))


class Tuples:
    """The distinct (bucket, identity, type, dimension values...) tuples of some rows, sorted in
    that order. One user's events in one hour repeat them a lot, so counting distinct users from
    the tuples sorts a fraction of the rows; a coarser granularity starts from a finer one's."""

    def __init__(self, columns: list[Column]) -> None:
        keys, unpack = pack(columns)
        self.cards = [max(int(card), 1) for _, card in columns]
        self.columns = [
            small_codes(c, card) for c, card in zip(unpack(sorted_unique(keys)), self.cards, strict=True)
        ]

    def rebucketed(self, coarser: np.ndarray, buckets: int) -> Tuples:
        """The tuples of a coarser granularity; `coarser[b]` is the coarse bucket of bucket b."""
        bucket, *rest = self.columns
        return Tuples([(coarser[bucket], buckets), *zip(rest, self.cards[1:], strict=True)])


class DistinctUsers:
    """Distinct identities per (bucket, type, value) of every grouping set, as dense counts:
    `by_type[set]` is shaped (buckets, types, values), `any_type[set]` (buckets, values); the
    total set, TOTAL, has one value. Distinct pairs are read off sorted runs, never hashed."""

    def __init__(self, tuples: Tuples, dims: list[str]) -> None:
        b, i, t, *values = tuples.columns
        buckets, idents, types, *cards = tuples.cards
        # the tuples are sorted by (bucket, identity, type, ...): each distinct pair starts a run
        first = run_starts(b, i, t)
        first_of_user = run_starts(b, i)
        self.by_type = {TOTAL: _count([(b[first], buckets), (t[first], types)], (buckets, types, 1))}
        self.any_type = {TOTAL: _count([(b[first_of_user], buckets)], (buckets, 1))}
        for name, v, card in zip(dims, values, cards, strict=True):
            if not (v[1:] != v[:-1])[~first_of_user[1:]].any():
                # one value per user and bucket (platform, device...): no sort needed
                at = first
                self.by_type[name] = _count(
                    [(b[at], buckets), (t[at], types), (v[at], card)], (buckets, types, card)
                )
                at = first_of_user
                self.any_type[name] = _count([(b[at], buckets), (v[at], card)], (buckets, card))
                continue
            keys, unpack = pack([(b, buckets), (i, idents), (v, card), (t, types)])
            bb, ii, vv, tt = unpack(sorted_unique(keys))
            self.by_type[name] = _count([(bb, buckets), (tt, types), (vv, card)], (buckets, types, card))
            at = run_starts(bb, ii, vv)
            self.any_type[name] = _count([(bb[at], buckets), (vv[at], card)], (buckets, card))

    def of_type(self, name: str, type_code: int) -> np.ndarray:
        """The counts of one type, (buckets, values) flattened."""
        return self.by_type[name][:, type_code, :].ravel()


def _count(columns: list[Column], shape: tuple[int, ...]) -> np.ndarray:
    """How many rows have each combination of the columns' codes, as a dense array of `shape`."""
    return np.bincount(dense_code(columns), minlength=int(np.prod(shape))).reshape(shape)
