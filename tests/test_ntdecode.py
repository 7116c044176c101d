"""NtQuerySystemInformation decoders on synthetic buffers laid out by hand for x86 and x64."""

from __future__ import annotations

import struct

import pytest

from analyzer.live.capture import _ntdecode as nt
from analyzer.live.capture import _windows

# (tag, paged allocs, paged frees, paged used, nonpaged allocs, nonpaged frees, nonpaged used)
TAGS = [
    (b"Abcd", 0, 0, 0, 1520331, 1519870, 147520),
    (b"Dh 2", 731, 700, 9920, 0, 0, 0),
    (b"Ntfx", 40, 30, 1280, 88120, 87993, 40640),
    (b"\x01bc\xff", 3, 1, 64, 0, 0, 0),
    (b"Idle", 0, 0, 0, 0, 0, 0),  # never used: PoolMon lists no row for it
]

# Field offsets of SYSTEM_POOLTAG written out by hand, not taken from the decoder.
OFFSETS = {4: (0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18), 8: (0x00, 0x04, 0x08, 0x10, 0x18, 0x1C, 0x20)}
ENTRY_SIZE = {4: 0x1C, 8: 0x28}


def put_tag(buf: bytearray, at: int, ptr: int, entry: tuple) -> None:
    o = OFFSETS[ptr]
    size_t = "<I" if ptr == 4 else "<Q"
    buf[at + o[0]: at + o[0] + 4] = entry[0]
    struct.pack_into("<I", buf, at + o[1], entry[1])
    struct.pack_into("<I", buf, at + o[2], entry[2])
    struct.pack_into(size_t, buf, at + o[3], entry[3])
    struct.pack_into("<I", buf, at + o[4], entry[4])
    struct.pack_into("<I", buf, at + o[5], entry[5])
    struct.pack_into(size_t, buf, at + o[6], entry[6])


def pooltag_info(ptr: int, tags: list[tuple], size: int | None = None) -> bytearray:
    first = 4 if ptr == 4 else 8  # x64: the array is 8-aligned after the ULONG Count
    buf = bytearray(size or first + ENTRY_SIZE[ptr] * len(tags))
    struct.pack_into("<I", buf, 0, len(tags))
    for i, t in enumerate(tags):
        put_tag(buf, first + i * ENTRY_SIZE[ptr], ptr, t)
    return buf


def session_chain(ptr: int, sessions: list[tuple[int, list[tuple]]]) -> bytearray:
    head = 12 if ptr == 4 else 16
    buf = bytearray()
    for i, (sid, tags) in enumerate(sessions):
        entry = bytearray(head + ENTRY_SIZE[ptr] * len(tags) + 8)  # 8 bytes slack between entries
        nxt = 0 if i == len(sessions) - 1 else len(entry)
        if ptr == 4:
            struct.pack_into("<III", entry, 0, nxt, sid, len(tags))
        else:
            struct.pack_into("<QII", entry, 0, nxt, sid, len(tags))
        for j, t in enumerate(tags):
            put_tag(entry, head + j * ENTRY_SIZE[ptr], ptr, t)
        buf += entry
    return buf


@pytest.mark.parametrize("ptr", [4, 8])
def test_struct_sizes_match_the_published_layouts(ptr: int) -> None:
    assert nt.pooltag_struct(ptr).size == ENTRY_SIZE[ptr]


@pytest.mark.parametrize("ptr", [4, 8])
def test_pooltag_information_both_pointer_sizes(ptr: int) -> None:
    entries = nt.decode_pooltag_information(bytes(pooltag_info(ptr, TAGS)), ptr)
    assert [e.tag for e in entries] == ["Abcd", "Dh 2", "Ntfx", ".bc.", "Idle"]
    assert entries[0] == nt.PoolTagEntry("Abcd", 0, 0, 0, 1520331, 1519870, 147520)
    assert entries[2] == nt.PoolTagEntry("Ntfx", 40, 30, 1280, 88120, 87993, 40640)


def test_x64_reads_sizes_above_4_gb() -> None:
    big = [(b"Huge", 0, 0, 0, 10, 1, 6 << 30)]
    assert nt.decode_pooltag_information(bytes(pooltag_info(8, big)), 8)[0].nonpaged_used == 6 << 30


def test_a_buffer_decoded_with_the_wrong_pointer_size_does_not_pass_silently() -> None:
    buf = bytes(pooltag_info(4, TAGS))
    with pytest.raises(ValueError, match="overrun"):
        nt.decode_pooltag_information(buf, 8)


@pytest.mark.parametrize("ptr", [4, 8])
def test_rows_follow_poolmon(ptr: int) -> None:
    rows = nt.entries_to_rows(nt.decode_pooltag_information(bytes(pooltag_info(ptr, TAGS)), ptr))
    assert [(r.tag, r.pool, r.allocs, r.frees, r.outstanding, r.bytes) for r in rows] == [
        ("Abcd", "nonpaged", 1520331, 1519870, 461, 147520),
        ("Dh 2", "paged", 731, 700, 31, 9920),
        ("Ntfx", "nonpaged", 88120, 87993, 127, 40640),
        ("Ntfx", "paged", 40, 30, 10, 1280),
        (".bc.", "paged", 3, 1, 2, 64),
    ]


def test_outstanding_survives_a_wrapped_32_bit_alloc_counter() -> None:
    wrapped = [(b"Wrap", 0, 0, 0, 5, 0xFFFFFFF0, 1344)]  # allocs wrapped past 2^32, frees not yet
    row = next(iter(nt.entries_to_rows(nt.decode_pooltag_information(bytes(pooltag_info(8, wrapped)), 8))))
    assert row.outstanding == 21


@pytest.mark.parametrize("ptr", [4, 8])
def test_session_chain(ptr: int) -> None:
    buf = bytes(session_chain(ptr, [(0, TAGS[:2]), (1, TAGS[2:3]), (3, TAGS[:1])]))
    chain = nt.decode_session_chain(buf, ptr)
    assert [(sid, [e.tag for e in tags]) for sid, tags in chain] == [
        (0, ["Abcd", "Dh 2"]), (1, ["Ntfx"]), (3, ["Abcd"])]
    merged = {e.tag: e for e in nt.merge_entries(tags for _sid, tags in chain)}
    assert merged["Abcd"].nonpaged_used == 2 * 147520
    assert merged["Abcd"].nonpaged_allocs == 2 * 1520331


@pytest.mark.parametrize("ptr", [4, 8])
def test_session_chain_that_loops_or_overruns_is_an_error(ptr: int) -> None:
    buf = session_chain(ptr, [(0, TAGS[:1]), (1, TAGS[:1])])
    loop = bytearray(buf)
    second = 12 + ENTRY_SIZE[ptr] + 8 if ptr == 4 else 16 + ENTRY_SIZE[ptr] + 8
    struct.pack_into("<I", loop, second, (1 << 32) - second if ptr == 4 else 0)  # points back to 0
    if ptr == 8:
        struct.pack_into("<q", loop, second, -second)
    with pytest.raises(ValueError):
        nt.decode_session_chain(bytes(loop), ptr)
    with pytest.raises(ValueError, match="overrun"):
        nt.decode_session_chain(bytes(buf[:40]), ptr)


@pytest.mark.parametrize("ptr", [4, 8])
def test_prefill_puts_the_session_id_where_the_kernel_reads_it(ptr: int) -> None:
    buf = bytearray(64)
    nt.prefill_session(nt.ALL_SESSIONS, ptr)(buf)
    assert struct.unpack_from("<I", buf, 4 if ptr == 4 else 8)[0] == 0xFFFFFFFF
    assert buf[:4] == b"\0\0\0\0"


# -- the retry loop -------------------------------------------------------------------------------


class FakeKernel:
    """Answers like NtQuerySystemInformation: too small -> STATUS_INFO_LENGTH_MISMATCH with the needed size."""

    def __init__(self, answers: dict[int, bytes], grow_each_call: int = 0, status: int | None = None) -> None:
        self.answers = dict(answers)
        self.grow = grow_each_call
        self.status = status
        self.calls: list[tuple[int, int]] = []
        self.inputs: list[bytes] = []

    def __call__(self, info_class: int, buf: bytearray) -> tuple[int, int]:
        self.calls.append((info_class, len(buf)))
        self.inputs.append(bytes(buf[:16]))
        if self.status is not None:
            return self.status, 0
        data = self.answers[info_class]
        if self.grow:
            # The tag list grew since the last call: the size it reports is already stale.
            self.answers[info_class] = data + bytes(self.grow)
        if len(buf) < len(data):
            return nt.STATUS_INFO_LENGTH_MISMATCH, len(data)
        buf[: len(data)] = data
        return nt.STATUS_SUCCESS, len(data)


def test_retry_grows_the_buffer_after_length_mismatch() -> None:
    data = bytes(pooltag_info(8, TAGS * 400))
    kernel = FakeKernel({22: data})
    out = nt.query(kernel, 22, initial_size=4096)
    assert kernel.calls[0] == (22, 4096)
    assert len(kernel.calls) == 2
    assert kernel.calls[1][1] >= len(data)
    assert len(nt.decode_pooltag_information(out, 8)) == 2000


def test_retry_copes_with_a_list_that_keeps_growing() -> None:
    kernel = FakeKernel({22: bytes(pooltag_info(8, TAGS))}, grow_each_call=50_000)
    nt.query(kernel, 22, initial_size=64)
    assert 2 <= len(kernel.calls) <= 8


def test_retry_is_bounded() -> None:
    kernel = FakeKernel({}, status=nt.STATUS_INFO_LENGTH_MISMATCH)  # never satisfied
    with pytest.raises(nt.NtStatusError, match=r"buffer still too small after 4 tries"):
        nt.query(kernel, 22, initial_size=64, max_tries=4)
    assert [n for _c, n in kernel.calls] == [64, 4096, 8192, 16384]


def test_retry_stops_at_the_ceiling() -> None:
    kernel = FakeKernel({}, status=nt.STATUS_INFO_LENGTH_MISMATCH)
    with pytest.raises(nt.NtStatusError):
        nt.query(kernel, 22, initial_size=1024, ceiling=4096)
    assert [n for _c, n in kernel.calls] == [1024, 4096]


def test_access_denied_is_refused_not_retried() -> None:
    kernel = FakeKernel({}, status=nt.STATUS_ACCESS_DENIED)
    with pytest.raises(nt.NtStatusError) as info:
        nt.query(kernel, 22)
    assert info.value.refused
    assert str(info.value) == "NtQuerySystemInformation(class 22) returned 0xC0000022: access denied"
    assert len(kernel.calls) == 1


# -- header figures and the whole backend ---------------------------------------------------------


def basic_info(ptr: int) -> bytes:
    buf = bytearray(44 if ptr == 4 else 64)
    struct.pack_into("<II", buf, 0x08, 4096, 2097151)  # PageSize, NumberOfPhysicalPages (8 GB)
    struct.pack_into("<b", buf, 0x28 if ptr == 4 else 0x38, 8)
    return bytes(buf)


def perf_info() -> bytes:
    buf = bytearray(0x138)
    for off, value in ((0x2C, 781333), (0x30, 1102802), (0x34, 2457600), (0x38, 1280083),
                       (0x70, 100529), (0x74, 77557)):
        struct.pack_into("<I", buf, off, value)
    return bytes(buf)


@pytest.mark.parametrize("ptr", [4, 8])
def test_header_totals_in_kb(ptr: int) -> None:
    totals = nt.header_totals(nt.decode_basic(basic_info(ptr), ptr), nt.decode_performance(perf_info()))
    assert totals == {
        "nonpaged_kb": 310228, "paged_kb": 402116, "memory_kb": 8388604, "avail_kb": 3125332,
        "commit_kb": 4411208, "commit_limit_kb": 9830400, "commit_peak_kb": 5120332,
    }
    assert nt.decode_basic(basic_info(ptr), ptr).processors == 8


@pytest.mark.parametrize("ptr", [4, 8])
def test_windows_backend_end_to_end_with_a_fake_kernel(ptr: int) -> None:
    kernel = FakeKernel({22: bytes(pooltag_info(ptr, TAGS)), 0: basic_info(ptr), 2: perf_info()})
    snap = _windows.snapshot(query_fn=kernel, ptr=ptr)
    assert snap.scope == "system"
    assert snap.totals["nonpaged_kb"] == 310228
    assert snap.rows.get("Ntfx", "paged").bytes == 1280
    assert len(snap.rows) == 5


@pytest.mark.parametrize("ptr", [4, 8])
def test_windows_backend_sessions(ptr: int) -> None:
    chain = bytes(session_chain(ptr, [(1, TAGS[:2]), (2, TAGS[2:3])]))
    kernel = FakeKernel({67: chain, 0: basic_info(ptr), 2: perf_info()})
    one = _windows.snapshot("2", query_fn=kernel, ptr=ptr)
    assert one.scope == "session:2"
    assert [r.tag for r in one.rows] == ["Ntfx", "Ntfx"]
    # Class 67 gets the wanted session id as input in the buffer it fills.
    first_67 = next(i for i, (c, _n) in enumerate(kernel.calls) if c == 67)
    assert struct.unpack_from("<I", kernel.inputs[first_67], 4 if ptr == 4 else 8)[0] == 2
    every = _windows.snapshot("all", query_fn=kernel, ptr=ptr)
    assert every.scope == "all-sessions"
    assert {r.tag for r in every.rows} == {"Abcd", "Dh 2", "Ntfx"}


def test_missing_header_classes_still_give_a_snapshot() -> None:
    kernel = FakeKernel({22: bytes(pooltag_info(8, TAGS))})

    def picky(info_class: int, buf: bytearray) -> tuple[int, int]:
        if info_class in (0, 2):
            return nt.STATUS_ACCESS_DENIED, 0
        return kernel(info_class, buf)

    snap = _windows.snapshot(query_fn=picky, ptr=8)
    assert snap.totals == {}
    assert len(snap.rows) == 5
