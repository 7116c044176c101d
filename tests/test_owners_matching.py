"""The owner database's matching agrees with a plain reading of PoolMon's rules on generated tags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analyzer.owners.database import OwnerCandidate, OwnerDatabase
from parsers.pooltag import pad_tag

ALPHABET = "AbC d"  # few letters, a space, mixed case: collisions and case matter


def naive_match(pattern: str, tag: str) -> bool:
    """`?` one character, `*` any run of characters, everything else itself (case-sensitive)."""
    if not pattern:
        return not tag
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(naive_match(rest, tag[i:]) for i in range(len(tag) + 1))
    if not tag:
        return False
    return (head == "?" or head == tag[0]) and naive_match(rest, tag[1:])


def naive_candidates(entries: list[tuple[str, str]], tag: str) -> list[tuple[str, str]]:
    key = pad_tag(tag)
    exact = [(p, b) for p, b in entries if "*" not in p and "?" not in p and p == key]
    wild = [(i, p, b) for i, (p, b) in enumerate(entries) if ("*" in p or "?" in p) and naive_match(p, key)]
    wild.sort(key=lambda item: (-sum(ch not in "*?" for ch in item[1]), item[0]))
    out: list[tuple[str, str]] = []
    for p, b in exact + [(p, b) for _, p, b in wild]:
        if (p, b) not in out:  # the same claim twice from one source is one candidate
            out.append((p, b))
    return out


patterns = st.one_of(
    st.text(alphabet=ALPHABET, min_size=1, max_size=4).map(pad_tag),
    st.text(alphabet=ALPHABET + "?", min_size=1, max_size=4).map(pad_tag),
    st.text(alphabet=ALPHABET + "?", min_size=0, max_size=3).map(lambda p: p + "*"),
)
tags = st.text(alphabet=ALPHABET, min_size=1, max_size=4)


@given(st.lists(st.tuples(patterns, st.sampled_from(["a.sys", "b.sys", "nt!c"])), max_size=12), tags)
def test_database_agrees_with_the_naive_rules(entries: list[tuple[str, str]], tag: str) -> None:
    db = OwnerDatabase()
    for pattern, binary in entries:
        db.add(OwnerCandidate(pattern, binary, "", "src"))
    got = [(c.pattern, c.binary) for c in db.candidates(tag)]
    assert got == naive_candidates(entries, tag)


@given(tags)
def test_padding_makes_short_and_padded_tags_one(tag: str) -> None:
    db = OwnerDatabase()
    db.add(OwnerCandidate(pad_tag(tag.rstrip() or tag), "x.sys", "", "src"))
    assert db.candidates(tag.rstrip() or tag) == db.candidates(pad_tag(tag.rstrip() or tag))
