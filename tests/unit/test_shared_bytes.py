"""How much a prepared XML shares with its source at each end (hub.signing.xades, which a
stored request keeps out): block by block, as the plain definition says."""

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.signing.xades import _BLOCK, _shared


def plain_head(a: bytes, b: bytes) -> int:
    shared = 0
    while shared < min(len(a), len(b)) and a[shared] == b[shared]:
        shared += 1
    return shared


def plain_tail(a: bytes, b: bytes, limit: int) -> int:
    shared = 0
    while shared < limit and a[len(a) - 1 - shared] == b[len(b) - 1 - shared]:
        shared += 1
    return shared


# Lengths around the block size, where the block-by-block walk turns.
lengths = st.sampled_from([0, 1, 7, _BLOCK - 1, _BLOCK, _BLOCK + 1, 2 * _BLOCK + 3, 3 * _BLOCK])


@settings(max_examples=300, deadline=None)
@given(
    head=lengths,
    tail=lengths,
    middle_a=st.binary(max_size=40),
    middle_b=st.binary(max_size=40),
    filler=st.binary(min_size=1, max_size=64),
)
def test_the_shared_ends_are_what_comparing_byte_by_byte_finds(
    head: int, tail: int, middle_a: bytes, middle_b: bytes, filler: bytes
) -> None:
    prefix = (filler * (head // len(filler) + 1))[:head]
    suffix = (filler[::-1] * (tail // len(filler) + 1))[:tail]
    a, b = prefix + middle_a + suffix, prefix + middle_b + suffix
    shared = _shared(a, b, min(len(a), len(b)))
    assert shared == plain_head(a, b)
    limit = min(len(a), len(b)) - shared
    assert _shared(a, b, limit, from_end=True) == plain_tail(a, b, limit)
