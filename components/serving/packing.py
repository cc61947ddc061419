"""Cost-aware bin packing: which models share an endpoint, and the instance type it runs on.

Pure arithmetic, no declarations. Each piece (a model) may run only on some instance types (its
kind, its declared minimum or exact type) and needs its endpoint to run at least ``copies``
instances (its minimum count; each instance holds a copy). Each type offers a capacity (its
memory's share left to models) at an hourly price; a bin costs its type's price times the most
copies any of its pieces needs. ``pack``: first-fit decreasing per copy count, every bin sized
as large as its pieces allow while it fills, then shrunk to the cheapest type that holds what
it got; then bins are merged pairwise while a merge is cheaper than the two (the last, partly
filled bins of each copy count, mostly). ``lower_bound`` is what no packing can beat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Offer:
    """An instance type an endpoint may run on."""

    instance_type: str
    capacity_mb: int  # memory left to models
    hourly_usd: float


@dataclass(frozen=True)
class Piece:
    name: str
    memory_mb: int
    allowed: frozenset[str]  # instance types it may run on
    copies: int = 1  # instances its endpoint must run at least


@dataclass
class Bin:
    pieces: list[Piece] = field(default_factory=list)
    allowed: frozenset[str] = frozenset()  # types that hold every piece so far
    instance_type: str = ""

    @property
    def used_mb(self) -> int:
        return sum(piece.memory_mb for piece in self.pieces)

    @property
    def copies(self) -> int:
        return max(piece.copies for piece in self.pieces)

    def hourly(self, offers: Mapping[str, Offer]) -> float:
        return offers[self.instance_type].hourly_usd * self.copies


class Unplaceable(ValueError):
    """A piece that no offered type may hold."""

    def __init__(self, piece: Piece) -> None:
        self.piece = piece
        super().__init__(f"{piece.name}: no allowed instance type holds {piece.memory_mb} MB")


def _holding(types: Iterable[str], offers: Mapping[str, Offer], memory_mb: int) -> frozenset[str]:
    return frozenset(t for t in types if t in offers and offers[t].capacity_mb >= memory_mb)


def cheapest(types: Iterable[str], offers: Mapping[str, Offer]) -> str:
    """The cheapest of ``types``; at equal price the larger, then by name (deterministic)."""
    return min(types, key=lambda t: (offers[t].hourly_usd, -offers[t].capacity_mb, t))


def pack(pieces: Sequence[Piece], offers: Mapping[str, Offer], max_models: int) -> list[Bin]:
    """Bins holding every piece, each on the cheapest type that holds it (deterministic)."""
    bins: list[Bin] = []
    for copies in sorted({piece.copies for piece in pieces}, reverse=True):
        level = sorted(
            (p for p in pieces if p.copies == copies), key=lambda p: (-p.memory_mb, p.name)
        )
        # First into the room left on bins that already run more copies (free: their type is
        # chosen), then first-fit decreasing into bins of this level.
        level = [p for p in level if not _into_room(p, bins, offers, max_models)]
        bins += _first_fit(level, offers, max_models)
    return _downsized(_merged(bins, offers, max_models), offers, max_models)


def _into_room(piece: Piece, bins: list[Bin], offers: Mapping[str, Offer], max_models: int) -> bool:
    fitting = [
        b
        for b in bins
        if len(b.pieces) < max_models
        and b.instance_type in piece.allowed
        and b.used_mb + piece.memory_mb <= offers[b.instance_type].capacity_mb
    ]
    if not fitting:
        return False
    chosen = max(fitting, key=lambda b: b.used_mb)  # the fullest: best fit
    chosen.pieces.append(piece)
    chosen.allowed = _holding(chosen.allowed & piece.allowed, offers, chosen.used_mb)
    return True


def _first_fit(pieces: Sequence[Piece], offers: Mapping[str, Offer], max_models: int) -> list[Bin]:
    bins: list[Bin] = []
    for piece in pieces:
        best: tuple[int, int] | None = None  # (-used after, index): the fullest bin it fits
        for index, candidate in enumerate(bins):
            if len(candidate.pieces) >= max_models:
                continue
            after = candidate.used_mb + piece.memory_mb
            if _holding(candidate.allowed & piece.allowed, offers, after):
                best = min(best or (-after, index), (-after, index))
        if best is None:
            allowed = _holding(piece.allowed, offers, piece.memory_mb)
            if not allowed:
                raise Unplaceable(piece)
            bins.append(Bin([piece], allowed))
            continue
        chosen = bins[best[1]]
        chosen.pieces.append(piece)
        chosen.allowed = _holding(chosen.allowed & piece.allowed, offers, chosen.used_mb)
    for each in bins:
        each.instance_type = cheapest(each.allowed, offers)
    return bins


def _merged(bins: list[Bin], offers: Mapping[str, Offer], max_models: int) -> list[Bin]:
    """Merge the pair of bins that saves most, while any merge saves."""
    bins = list(bins)
    while True:
        best: tuple[float, int, int, Bin] | None = None
        for i, first in enumerate(bins):
            for j in range(i + 1, len(bins)):
                second = bins[j]
                if len(first.pieces) + len(second.pieces) > max_models:
                    continue
                allowed = _holding(
                    first.allowed & second.allowed, offers, first.used_mb + second.used_mb
                )
                if not allowed:
                    continue
                union = Bin([*first.pieces, *second.pieces], allowed, cheapest(allowed, offers))
                saving = first.hourly(offers) + second.hourly(offers) - union.hourly(offers)
                if saving > 1e-9 and (best is None or saving > best[0]):
                    best = (saving, i, j, union)
        if best is None:
            return bins
        _, i, j, union = best
        bins = [b for k, b in enumerate(bins) if k not in (i, j)] + [union]


def _downsized(bins: list[Bin], offers: Mapping[str, Offer], max_models: int) -> list[Bin]:
    """Empty or shrink the dearest bins by moving some of their pieces into the room other bins
    have left on the types they run (which stay), while that makes a bin cheaper."""
    improved = True
    while improved:
        improved = False
        for source in sorted(bins, key=lambda b: (-b.hourly(offers), b.used_mb)):
            common = frozenset.intersection(*(p.allowed for p in source.pieces))
            cheaper = sorted(
                (
                    t
                    for t in common
                    if t in offers
                    if offers[t].hourly_usd < offers[source.instance_type].hourly_usd
                ),
                key=lambda t: (offers[t].hourly_usd, t),
            )
            for target in [None, *cheaper]:  # None: the bin emptied altogether
                capacity = offers[target].capacity_mb if target else 0
                moves = _moves_out(source, bins, offers, max_models, source.used_mb - capacity)
                if moves is None:
                    continue
                for piece, into in moves:
                    source.pieces.remove(piece)
                    into.pieces.append(piece)
                    into.allowed = _holding(into.allowed & piece.allowed, offers, into.used_mb)
                if source.pieces:
                    common = frozenset.intersection(*(p.allowed for p in source.pieces))
                    source.allowed = _holding(common, offers, source.used_mb)
                    source.instance_type = cheapest(source.allowed, offers)
                else:
                    bins.remove(source)
                improved = True
                break
            if improved:
                break
    return bins


def _moves_out(
    source: Bin, bins: list[Bin], offers: Mapping[str, Offer], max_models: int, excess: int
) -> list[tuple[Piece, Bin]] | None:
    """Pieces of ``source`` (smallest first) and the bins with room to take them, freeing at
    least ``excess`` MB; None when the room is not there."""
    if excess <= 0:
        return []
    room = {id(b): offers[b.instance_type].capacity_mb - b.used_mb for b in bins}
    counts = {id(b): len(b.pieces) for b in bins}
    moves: list[tuple[Piece, Bin]] = []
    freed = 0
    for piece in sorted(source.pieces, key=lambda p: (p.memory_mb, p.name)):
        if freed >= excess:
            break
        fitting = [
            b
            for b in bins
            if b is not source
            and b.instance_type in piece.allowed
            and piece.copies <= b.copies
            and counts[id(b)] < max_models
            and room[id(b)] >= piece.memory_mb
        ]
        if not fitting:
            continue
        into = min(fitting, key=lambda b: (room[id(b)], b.instance_type))  # the tightest room
        room[id(into)] -= piece.memory_mb
        counts[id(into)] += 1
        moves.append((piece, into))
        freed += piece.memory_mb
    return moves if freed >= excess else None


def lower_bound(pieces: Sequence[Piece], offers: Mapping[str, Offer]) -> float:
    """An hourly cost no packing of ``pieces`` can go below, the largest of three valid bounds:

    - ``fractional``: each copy of a piece pays its memory at the lowest price per MB of the
      types that may hold it;
    - ``apart``: pieces no one type may hold together (their holding types are disjoint: an
      exact ml.m5.xlarge and one that needs more memory) are on different endpoints, each
      costing at least its piece's floor (its copies of the cheapest type that holds it);
    - ``layered``: the endpoints of the pieces with the most copies cost at least their floor
      even when their own memory pays less, the gap being filled at best by pieces of fewer
      copies, each of which then pays more than on its own (see ``_layered``).
    """
    if not pieces:
        return 0.0
    rate, floor, holding = {}, {}, {}
    for piece in pieces:
        holding[piece.name] = _holding(piece.allowed, offers, piece.memory_mb)
        rate[piece.name] = min(
            offers[t].hourly_usd / offers[t].capacity_mb for t in holding[piece.name]
        )
        floor[piece.name] = piece.copies * min(offers[t].hourly_usd for t in holding[piece.name])
    fractional = sum(p.memory_mb * p.copies * rate[p.name] for p in pieces)
    return max(fractional, _apart(pieces, floor, holding), _layered(pieces, rate, floor))


def _apart(pieces: Sequence[Piece], floor: Mapping[str, float], holding) -> float:
    """The floors of pieces that pairwise cannot share an endpoint (chosen greedily, dearest
    floor first: any such set is a valid bound, the greedy one is a good one)."""
    chosen: list[frozenset[str]] = []
    total = 0.0
    for piece in sorted(pieces, key=lambda p: (-floor[p.name], p.name)):
        if all(not (holding[piece.name] & other) for other in chosen):
            chosen.append(holding[piece.name])
            total += floor[piece.name]
    return total


def _layered(pieces: Sequence[Piece], rate: Mapping[str, float], floor: Mapping[str, float]):
    """Let E be the endpoints hosting the pieces with the most copies (``top``). E costs at least
    ``floor_top`` and at least what the copies on it pay at their rates; the other pieces pay at
    least their own fractional share. Moving memory worth x (at ``top`` copies) of lower pieces
    onto E raises E's share by x and lowers theirs by at most ``x * ratio`` (ratio = their most
    copies / top < 1), so the total is least when x just fills E's gap to its floor."""
    top = max(piece.copies for piece in pieces)
    upper = [p for p in pieces if p.copies == top]
    lower = [p for p in pieces if p.copies < top]
    share_top = sum(p.memory_mb * top * rate[p.name] for p in upper)
    share_low = sum(p.memory_mb * p.copies * rate[p.name] for p in lower)
    gap = max(0.0, max(floor[p.name] for p in upper) - share_top)
    ratio = max((p.copies for p in lower), default=0) / top
    return share_top + gap + share_low - min(gap * ratio, share_low)
