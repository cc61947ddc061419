"""Cost-aware packing against exhaustive search on small instances: every bin is valid, costs what
its type and copies say, the packing is never cheaper than the optimum (it is a packing), and the
lower bound is never above it (it is a bound)."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.serving.packing import Offer, Piece, Unplaceable, cheapest, lower_bound, pack

# Linear prices within a family, cheaper per MB in bigger-memory families, one odd type out.
OFFERS = {
    "s": Offer("s", 1_000, 1.0),
    "m": Offer("m", 2_000, 2.0),
    "l": Offer("l", 4_000, 4.0),
    "r": Offer("r", 4_000, 3.0),  # more memory per dollar
    "rr": Offer("rr", 8_000, 6.0),
    "x": Offer("x", 3_000, 3.5),  # never the cheapest way to get its memory
}
TYPES = sorted(OFFERS)

pieces = st.builds(
    Piece,
    name=st.from_regex(r"[a-z]{1,4}", fullmatch=True),
    memory_mb=st.integers(1, 8_000),
    allowed=st.frozensets(st.sampled_from(TYPES), min_size=1),
    copies=st.integers(1, 3),
)


def _holdable(piece: Piece) -> bool:
    return any(OFFERS[t].capacity_mb >= piece.memory_mb for t in piece.allowed)


small_sets = st.lists(pieces.filter(_holdable), min_size=1, max_size=6, unique_by=lambda p: p.name)


def _block_cost(block: tuple[Piece, ...]) -> float | None:
    common = frozenset.intersection(*(p.allowed for p in block))
    used = sum(p.memory_mb for p in block)
    holding = [t for t in common if OFFERS[t].capacity_mb >= used]
    if not holding:
        return None
    return OFFERS[cheapest(holding, OFFERS)].hourly_usd * max(p.copies for p in block)


def _optimum(items: tuple[Piece, ...]) -> float:
    """The cheapest partition into endpoints, by exhaustive search."""

    @cache
    def best(rest: tuple[Piece, ...]) -> float:
        if not rest:
            return 0.0
        first, others = rest[0], rest[1:]
        result = float("inf")
        for mask in range(1 << len(others)):
            block = (first, *(p for i, p in enumerate(others) if mask >> i & 1))
            cost = _block_cost(block)
            if cost is not None:
                remaining = tuple(p for i, p in enumerate(others) if not mask >> i & 1)
                result = min(result, cost + best(remaining))
        return result

    return best(items)


@settings(max_examples=300, deadline=None)
@given(small_sets)
def test_bound_never_above_the_optimum_and_packing_never_below(items):
    bins = pack(items, OFFERS, max_models=10)
    packed = sum(b.hourly(OFFERS) for b in bins)
    optimum = _optimum(tuple(sorted(items, key=lambda p: p.name)))
    assert lower_bound(items, OFFERS) <= optimum + 1e-9 <= packed + 2e-9


@settings(max_examples=300, deadline=None)
@given(small_sets, st.integers(1, 4))
def test_every_bin_is_valid_and_on_its_cheapest_type(items, max_models):
    bins = pack(items, OFFERS, max_models)
    assert sorted(p.name for b in bins for p in b.pieces) == sorted(p.name for p in items)
    for each in bins:
        assert each.pieces and len(each.pieces) <= max_models
        assert all(each.instance_type in p.allowed for p in each.pieces)
        assert each.used_mb <= OFFERS[each.instance_type].capacity_mb
        # No cheaper type every piece allows holds them all.
        common = frozenset.intersection(*(p.allowed for p in each.pieces))
        assert each.allowed == {t for t in common if OFFERS[t].capacity_mb >= each.used_mb}
        assert all(
            OFFERS[t].hourly_usd >= OFFERS[each.instance_type].hourly_usd
            for t in common
            if OFFERS[t].capacity_mb >= each.used_mb
        )
        assert each.hourly(OFFERS) == OFFERS[each.instance_type].hourly_usd * max(
            p.copies for p in each.pieces
        )


@settings(max_examples=100, deadline=None)
@given(small_sets, st.randoms(use_true_random=False))
def test_packing_does_not_depend_on_input_order(items, rng):
    shuffled = list(items)
    rng.shuffle(shuffled)
    first = [(b.instance_type, sorted(p.name for p in b.pieces)) for b in pack(items, OFFERS, 5)]
    again = [(b.instance_type, sorted(p.name for p in b.pieces)) for b in pack(shuffled, OFFERS, 5)]
    assert sorted(first) == sorted(again)


def test_small_pieces_share_the_cheapest_type_that_holds_them_all():
    items = [Piece(n, 600, frozenset(TYPES)) for n in "abc"]  # 1,800 MB together
    (only,) = pack(items, OFFERS, 10)
    assert only.instance_type == "m"  # 2,000 MB for 2.0, not "s" twice, not "r"


def test_a_piece_of_exactly_a_types_capacity_fits_it_and_one_more_mb_does_not():
    (fits,) = pack([Piece("a", 1_000, frozenset({"s", "m"}))], OFFERS, 10)
    assert fits.instance_type == "s"
    (over,) = pack([Piece("a", 1_001, frozenset({"s", "m"}))], OFFERS, 10)
    assert over.instance_type == "m"
    with pytest.raises(Unplaceable, match="a: no allowed instance type holds 1001 MB"):
        pack([Piece("a", 1_001, frozenset({"s"}))], OFFERS, 10)


def test_an_exact_type_is_kept_and_others_fill_its_room():
    exact = Piece("exact", 500, frozenset({"x"}))
    small = Piece("small", 2_000, frozenset(TYPES))
    (only,) = pack([exact, small], OFFERS, 10)  # 2,500 MB fit "x" (3.5) < "x" + "m" (5.5)
    assert only.instance_type == "x"


def test_pieces_needing_more_copies_do_not_force_them_on_others_when_that_costs_more():
    one = [Piece(f"one{i}", 3_500, frozenset(TYPES), copies=1) for i in range(2)]
    three = [Piece("three", 500, frozenset(TYPES), copies=3)]
    bins = pack(one + three, OFFERS, 10)
    assert sum(b.hourly(OFFERS) for b in bins) == pytest.approx(6.0 + 3.0)  # rr x1, s x3


def test_merging_respects_the_model_count():
    items = [Piece(n, 10, frozenset(TYPES)) for n in "abcde"]
    bins = pack(items, OFFERS, max_models=2)
    assert len(bins) == 3 and all(len(b.pieces) <= 2 for b in bins)


# The lower bound is as strong as each of its arguments, on instances small enough to check.


def test_no_pieces_cost_nothing_and_one_piece_costs_its_copies_of_its_cheapest_type():
    assert lower_bound([], OFFERS) == 0.0
    alone = (Piece("a", 500, frozenset({"m", "l"}), copies=3),)
    assert lower_bound(alone, OFFERS) == pytest.approx(3 * 2.0) == _optimum(alone)


def test_pieces_that_cannot_share_a_type_each_cost_at_least_their_own_floor():
    apart = (Piece("a", 100, frozenset({"s"})), Piece("b", 100, frozenset({"m"})))
    assert lower_bound(apart, OFFERS) == pytest.approx(1.0 + 2.0) == _optimum(apart)


def test_the_endpoints_of_the_most_copied_pieces_cost_their_floor_however_little_they_hold():
    """A 2-copy 100 MB piece (s or rr) and a 1-copy 7,000 MB piece (rr only); rate 0.00075 $/MB
    (rr). The 2-copy endpoints cost at least 2.0 while their memory pays 0.15; at most 1.85 of
    the big piece's memory can fill that gap, saving it at most half as much (1 copy of 2)."""
    upper = Piece("upper", 100, frozenset({"s", "rr"}), copies=2)
    lower = Piece("lower", 7_000, frozenset({"rr"}))
    bound = lower_bound((upper, lower), OFFERS)
    assert bound == pytest.approx(0.15 + 1.85 + 5.25 - 1.85 / 2)
    assert 6.0 < bound <= _optimum((upper, lower))  # above the apart floors (6.0)


def test_pieces_apart_are_chosen_dearest_floor_first():
    """l-only (4.0) and m-only (2.0) pieces cannot share; a piece that fits any type could share
    with either, so counting it first (1.0, on s) would block both."""
    items = (
        Piece("dear", 100, frozenset({"l"})),
        Piece("mid", 100, frozenset({"m"})),
        Piece("any", 100, frozenset({"s", "m", "l"})),
    )
    assert lower_bound(items, OFFERS) == pytest.approx(4.0 + 2.0) == _optimum(items)


def test_lower_pieces_pay_their_own_copies_in_the_layered_bound():
    """Four 2-copy 3,000 MB pieces (rr) pay 4 x 3,000 x 2 x 0.00075 = 18; the 3-copy piece's
    endpoints cost 3.0 while its memory pays 0.225, a gap of 2.775 that lower memory fills at
    best for 2/3 of what it saves."""
    upper = Piece("upper", 100, frozenset({"s", "rr"}), copies=3)
    lower = tuple(Piece(f"low{i}", 3_000, frozenset({"rr"}), copies=2) for i in range(4))
    bound = lower_bound((upper, *lower), OFFERS)
    assert bound == pytest.approx(0.225 + 2.775 + 18 - 2.775 * 2 / 3)
    assert bound <= _optimum((upper, *lower))


@settings(max_examples=300, deadline=None)
@given(small_sets, st.integers(1, 4))
def test_no_two_endpoints_could_be_one_that_costs_less_than_both(items, max_models):
    """Whatever first-fit left apart (pieces of different copy counts, mostly), two endpoints
    that one endpoint within the model count could hold more cheaply are merged."""
    bins = pack(items, OFFERS, max_models)
    for i, first in enumerate(bins):
        for second in bins[i + 1 :]:
            together = (*first.pieces, *second.pieces)
            cost = _block_cost(together)
            if cost is not None and len(together) <= max_models:
                assert cost >= first.hourly(OFFERS) + second.hourly(OFFERS) - 1e-9


def test_of_merges_that_exclude_each_other_the_one_saving_most_is_made():
    """c (3 copies) starts alone on x (3 x 3.5), a on rr (2 x 6.0), b on r (3.0): 25.5. c with a
    on rr (3 x 6.0) saves 4.5, c with b on l (3 x 4.0) saves 1.5, and a with b fit no type; after
    either, nothing else merges, so only the larger saving reaches the optimum, 21.0."""
    c = Piece("c", 437, frozenset({"x", "rr", "l"}), copies=3)
    a = Piece("a", 7_442, frozenset({"m", "x", "rr", "l"}), copies=2)
    b = Piece("b", 3_144, frozenset(TYPES))
    bins = pack([a, b, c], OFFERS, max_models=4)
    assert sorted(sorted(p.name for p in each.pieces) for each in bins) == [["a", "c"], ["b"]]
    assert sum(each.hourly(OFFERS) for each in bins) == pytest.approx(21.0)
    assert _optimum((a, b, c)) == pytest.approx(21.0)


def test_an_endpoint_shrinks_to_a_cheaper_type_by_handing_a_model_to_room_left_elsewhere():
    """First-fit puts c (4,000 MB) and b (2,204) on rr (8,000), and a (1,798, rr only) 2 MB too
    large for what is left there on a second rr: 12.0. Handing b to the room a's endpoint has
    left lets c's endpoint run on r (4,000 MB, 3.0): 9.0, the optimum."""
    a = Piece("a", 1_798, frozenset({"rr"}))
    b = Piece("b", 2_204, frozenset(TYPES))
    c = Piece("c", 4_000, frozenset({"m", "l", "r", "rr"}))
    bins = pack([a, b, c], OFFERS, max_models=3)
    placed = sorted((each.instance_type, sorted(p.name for p in each.pieces)) for each in bins)
    assert placed == [("r", ["c"]), ("rr", ["a", "b"])]
    assert _optimum((a, b, c)) == pytest.approx(9.0)
    # What each endpoint could run on is kept true for what it now holds: rr alone takes a and b.
    assert {each.instance_type: each.allowed for each in bins} == {
        "r": {"l", "r", "rr"},
        "rr": {"rr"},
    }


def test_a_merge_is_found_past_a_pair_that_no_type_holds():
    """a (3 copies) alone on l: 12.0; b on rr and c on l (2 copies each): 12.0 + 8.0. a with b
    fits no type both allow; a with c fits rr (3 x 6.0), saving 2.0: 30.0, the optimum."""
    a = Piece("a", 3_991, frozenset({"rr", "l", "x"}), copies=3)
    b = Piece("b", 6_957, frozenset({"m", "rr", "r", "x"}), copies=2)
    c = Piece("c", 1_473, frozenset({"rr", "l"}), copies=2)
    bins = pack([a, b, c], OFFERS, max_models=2)
    placed = sorted((each.instance_type, sorted(p.name for p in each.pieces)) for each in bins)
    assert placed == [("rr", ["a", "c"]), ("rr", ["b"])]
    assert _optimum((a, b, c)) == pytest.approx(30.0)


def test_a_merge_is_found_past_a_pair_over_the_model_count():
    """d (2 copies) alone on m: 4.0; b and c on rr: 6.0; a on r: 3.0. d with b and c would be
    three models, over the count of two; d with a fits r (2 x 3.0), saving 1.0: 12.0."""
    a = Piece("a", 2_703, frozenset({"s", "l", "rr", "r", "m"}))
    b = Piece("b", 6_223, frozenset({"s", "rr", "l", "m"}))
    c = Piece("c", 260, frozenset({"rr"}))
    d = Piece("d", 937, frozenset({"x", "l", "rr", "r", "m"}), copies=2)
    bins = pack([a, b, c, d], OFFERS, max_models=2)
    placed = sorted((each.instance_type, sorted(p.name for p in each.pieces)) for each in bins)
    assert placed == [("r", ["a", "d"]), ("rr", ["b", "c"])]
    assert sum(each.hourly(OFFERS) for each in bins) == pytest.approx(12.0)


def test_an_endpoint_whose_models_fit_the_room_left_elsewhere_is_closed():
    """p and q share m (2.0: they allow no other common type); five l-only pieces fill l (4.0)
    to exactly p's size short, y runs alone on r (3.0). No two endpoints share a type to merge
    on, but p fits the room on l exactly and q the room on r, so m's endpoint is emptied and
    closed: 7.0, the optimum."""
    p = Piece("p", 900, frozenset({"m", "l"}))
    q = Piece("q", 800, frozenset({"m", "r"}))
    xs = [Piece(f"x{i}", mb, frozenset({"l"})) for i, mb in enumerate((700, 700, 700, 700, 300))]
    y = Piece("y", 400, frozenset({"r"}))
    bins = pack([p, q, *xs, y], OFFERS, max_models=10)
    placed = sorted((each.instance_type, sorted(i.name for i in each.pieces)) for each in bins)
    assert placed == [("l", ["p", "x0", "x1", "x2", "x3", "x4"]), ("r", ["q", "y"])]
    assert sum(each.hourly(OFFERS) for each in bins) == pytest.approx(7.0)


def test_a_model_that_fits_no_room_elsewhere_stays_while_the_others_move():
    """As above, with z (50 MB, m or s) on m too and p and q allowing s: z, the smallest, fits no
    other endpoint's room, but moving q alone lets m's endpoint run on s (1,000 MB, 1.0)."""
    p = Piece("p", 900, frozenset({"m", "l", "s"}))
    q = Piece("q", 800, frozenset({"m", "r", "s"}))
    z = Piece("z", 50, frozenset({"m", "s"}))
    xs = [Piece(f"x{i}", mb, frozenset({"l"})) for i, mb in enumerate((700, 700, 700, 700, 300))]
    y = Piece("y", 400, frozenset({"r"}))
    bins = pack([p, q, z, *xs, y], OFFERS, max_models=10)
    placed = sorted((each.instance_type, sorted(i.name for i in each.pieces)) for each in bins)
    assert placed == [("l", [f"x{i}" for i in range(5)]), ("r", ["q", "y"]), ("s", ["p", "z"])]


def test_a_model_of_fewer_copies_takes_the_room_left_exactly_on_an_endpoint_of_more():
    """d (2 copies) can only run on rr (2 x 6.0) and leaves exactly e's 3,253 MB: e joins it at
    no cost, b goes on s (1.0): 13.0. Packed on its own level, e would share r (3.0) with b, which
    neither merges with d (8,066 MB) nor frees enough to shrink: 15.0."""
    b = Piece("b", 66, frozenset(TYPES))
    d = Piece("d", 4_747, frozenset({"rr", "x", "m"}), copies=2)
    e = Piece("e", 3_253, frozenset(TYPES))
    bins = pack([b, d, e], OFFERS, max_models=4)
    placed = sorted((each.instance_type, sorted(i.name for i in each.pieces)) for each in bins)
    assert placed == [("rr", ["d", "e"]), ("s", ["b"])]
    assert _optimum((b, d, e)) == pytest.approx(13.0)


def test_first_fit_passes_over_a_full_endpoint_to_one_with_room():
    """Two models per endpoint, 3 copies: d and e fill rr; c (l only) opens l, and b, passing
    over the full rr, joins c there (3 x 4.0) rather than opening m (3 x 2.0) beside it; a (1
    copy) then goes alone on r: 18.0 + 12.0 + 3.0."""
    a = Piece("a", 80, frozenset({"rr", "x", "r", "l"}))
    b = Piece("b", 1_744, frozenset({"s", "l", "m"}), copies=3)
    c = Piece("c", 2_166, frozenset({"l"}), copies=3)
    d = Piece("d", 3_630, frozenset(TYPES), copies=3)
    e = Piece("e", 2_627, frozenset({"rr"}), copies=3)
    bins = pack([a, b, c, d, e], OFFERS, max_models=2)
    placed = sorted((each.instance_type, sorted(i.name for i in each.pieces)) for each in bins)
    assert placed == [("l", ["b", "c"]), ("r", ["a"]), ("rr", ["d", "e"])]
    assert sum(each.hourly(OFFERS) for each in bins) == pytest.approx(33.0)


def test_at_equal_price_the_type_with_more_memory_is_the_cheapest():
    """Room costs nothing more there: later pieces may fill it (then by name, deterministic)."""
    offers = {"big": Offer("big", 2_000, 1.0), "small": Offer("small", 1_000, 1.0)}
    assert cheapest(offers, offers) == "big"
    tied = offers | {"also": Offer("also", 2_000, 1.0)}
    assert cheapest(tied, tied) == "also"


def test_two_models_handed_to_one_endpoint_share_the_room_it_has_left():
    """Shrinking g's 3-copy endpoint hands b to e's endpoint and c then f to a's on l, whose
    room after c decides whether f still fits: 27.0, the optimum (found by a random search for
    an instance where each move's room matters; a mutant tracking it wrongly packs 36.0)."""
    a = Piece("a", 1_079, frozenset({"s", "l"}), copies=3)
    b = Piece("b", 214, frozenset(TYPES))
    c = Piece("c", 619, frozenset(TYPES), copies=3)
    e = Piece("e", 2_398, frozenset({"r", "s", "rr", "m"}), copies=2)
    f = Piece("f", 1_380, frozenset(TYPES), copies=3)
    g = Piece("g", 3_828, frozenset({"s", "l", "r", "rr", "x"}), copies=3)
    items = (a, b, c, e, f, g)
    bins = pack(items, OFFERS, max_models=4)
    placed = sorted((each.instance_type, sorted(i.name for i in each.pieces)) for each in bins)
    assert placed == [("l", ["a", "c", "f"]), ("r", ["b", "e"]), ("r", ["g"])]
    assert sum(each.hourly(OFFERS) for each in bins) == pytest.approx(27.0) == _optimum(items)


def test_two_models_handed_to_one_endpoint_count_against_its_model_limit_once_each():
    """With three models per endpoint, c and d both move into b's endpoint (one, then two
    more): 45.0, the optimum (a mutant counting each move twice stops at c and packs 54.0)."""
    a = Piece("a", 5_306, frozenset(TYPES))
    b = Piece("b", 2_911, frozenset({"s", "rr"}), copies=3)
    c = Piece("c", 880, frozenset({"m", "l", "r", "rr", "x"}), copies=2)
    d = Piece("d", 2_941, frozenset({"r", "s", "rr"}), copies=3)
    e = Piece("e", 3_966, frozenset({"m", "s", "r", "rr", "x"}), copies=3)
    f = Piece("f", 3_834, frozenset({"s", "l"}), copies=3)
    items = (a, b, c, d, e, f)
    bins = pack(items, OFFERS, max_models=3)
    placed = sorted((each.instance_type, sorted(i.name for i in each.pieces)) for each in bins)
    assert placed == [("l", ["f"]), ("r", ["e"]), ("rr", ["a"]), ("rr", ["b", "c", "d"])]
    assert sum(each.hourly(OFFERS) for each in bins) == pytest.approx(45.0) == _optimum(items)
