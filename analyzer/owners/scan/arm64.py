"""Find calls to pool routines in ARM64 code and read the tag they pass.

ARM64 instructions are four bytes wide and aligned, so every window decodes from a
synchronised start and the anchors are found arithmetically over the whole section:

- an import is reached by ``adrp xN, page`` then ``ldr xT, [xN, #off]`` (page + off is the
  IAT slot), then ``blr xT`` (a call) or ``br xT`` (a tail call, or an import stub that
  ``bl`` instructions elsewhere call);
- KMDF loads ``WdfFunctions_XXXXX`` the same way and calls ``blr`` on the entry it reads
  from the table.

The tag argument (x0-x7 by position) is followed back through ``mov``/``movz``/``movk``
immediates, ``orr`` of known values, register copies, stack slots and loads from static
addresses (read-only constants prove a tag; writable data gives ``data`` evidence).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np
from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs

from analyzer.owners.scan.callsites import CallSite, DataRef, TableRef
from analyzer.owners.scan.image import Image, Section
from analyzer.owners.scan.routines import Routine

#: Instructions decoded before a call when looking for its tag, then on the wider retry.
SHORT_WINDOW = 24
LONG_WINDOW = 256
#: How far after ``ldr xT, [IAT]`` the calls through xT are looked for (instructions).
FORWARD_WINDOW = 256
#: How far back from a ``ldr`` its ``adrp`` may sit (instructions).
ADRP_REACH = 64

_Insn = tuple[int, int, str, str]
_MASK64 = (1 << 64) - 1
_ALIASES = {"fp": "x29", "lr": "x30", "ip0": "x16", "ip1": "x17"}
_REG = re.compile(r"^([wx])(\d+)$")
_MEM = re.compile(r"^\[(\w+)(?:, #(-?(?:0x)?[0-9a-f]+))?\](!?)$")
_IMM = re.compile(r"^#(-?(?:0x)?[0-9a-f]+)$")
_CALLER_SAVED = tuple(f"x{n}" for n in range(19))
_ENDS = ("ret", "b", "br", "brk", "udf", "eret")


def _reg(text: str) -> tuple[str, int] | None:
    """(canonical x name, width in bytes) of a general register operand, or None."""
    text = _ALIASES.get(text, text)
    if text in ("sp", "wsp"):
        return "sp", 8 if text == "sp" else 4
    if text in ("xzr", "wzr"):
        return "zr", 8 if text == "xzr" else 4
    m = _REG.match(text)
    if m is None:
        return None
    return f"x{m.group(2)}", 8 if m.group(1) == "x" else 4


def _imm(text: str) -> int | None:
    m = _IMM.match(text.strip())
    return int(m.group(1), 0) if m else None


class _State:
    __slots__ = ("delta", "regs", "slots")

    def __init__(self) -> None:
        self.regs: dict[str, object] = {}
        self.slots: dict[tuple[str, int], object] = {}  # ("sp", offset) or ("x29", offset)
        self.delta = 0  # sp relative to the start of the run

    def reset(self) -> None:
        self.regs.clear()
        self.slots.clear()
        self.delta = 0


class Arm64Tracker:
    """Values of registers and stack slots along a straight run of ARM64 code."""

    def __init__(self, image: Image) -> None:
        self.image = image

    # -- values ------------------------------------------------------------------------
    def _get(self, state: _State, text: str) -> object:
        reg = _reg(text)
        if reg is None:
            return _imm(text)
        name, width = reg
        if name == "zr":
            return 0
        value = state.regs.get(name)
        if isinstance(value, int) and width == 4:
            return value & 0xFFFFFFFF
        return value

    def _set(self, state: _State, text: str, value: object) -> None:
        reg = _reg(text)
        if reg is None or reg[0] == "zr":
            return
        name, width = reg
        if name == "sp":
            if isinstance(value, int):
                state.delta = value
            else:
                state.slots = {k: v for k, v in state.slots.items() if k[0] != "sp"}
                state.delta = 0
            return
        if name == "x29":
            state.slots = {k: v for k, v in state.slots.items() if k[0] != "x29"}
        if value is None:
            state.regs.pop(name, None)
        elif isinstance(value, int):
            state.regs[name] = value & (0xFFFFFFFF if width == 4 else _MASK64)
        else:
            state.regs[name] = value

    def _address(self, state: _State, mem: str) -> tuple[str, object, bool] | None:
        """("slot"|"abs", key or address, writeback) of a ``[base, #off]`` operand."""
        m = _MEM.match(mem)
        if m is None:
            return None
        base = _reg(m.group(1))
        off = int(m.group(2), 0) if m.group(2) else 0
        if base is None:
            return None
        if base[0] == "sp":
            return "slot", ("sp", state.delta + off), bool(m.group(3))
        if base[0] == "x29":
            return "slot", ("x29", off), bool(m.group(3))
        value = state.regs.get(base[0])
        if isinstance(value, TableRef):
            return "table", value.offset + off, False
        if isinstance(value, int):
            return "abs", (value + off) & _MASK64, False
        return None

    def _load(self, state: _State, mem: str, size: int) -> object:
        where = self._address(state, mem)
        if where is None:
            return None
        kind, key, _ = where
        if kind == "slot":
            return state.slots.get(key)  # type: ignore[arg-type]
        if kind == "table":
            off = int(key)  # type: ignore[arg-type]
            return self.image.wdf_routine(off // 8) if off % 8 == 0 else None
        address = int(key)  # type: ignore[arg-type]
        routine = self.image.slots.get(address)
        if routine is not None:
            return routine
        if address == self.image.wdf_table:
            return TableRef(address)
        const = self.image.read_const(address, size)
        if const is not None:
            return const
        data = self.image.read_data(address, size)
        return None if data is None else DataRef(address, data)

    def _store(self, state: _State, mem: str, value: object, size: int) -> None:
        where = self._address(state, mem)
        if where is None or where[0] != "slot":
            return
        key = where[1]
        if value is None or size not in (4, 8):
            state.slots.pop(key, None)  # type: ignore[arg-type]
        else:
            state.slots[key] = value & 0xFFFFFFFF if isinstance(value, int) and size == 4 else value  # type: ignore[index]

    # -- one instruction ---------------------------------------------------------------
    def step(self, state: _State, insn: _Insn) -> None:
        _, _, mnemonic, op_str = insn
        ops = [o.strip() for o in _split_ops(op_str)]
        if mnemonic == "blr" and isinstance(state.regs.get("x15"), Routine):
            # CFG: `mov x15, target; blr <__guard_check_icall_fptr>` checks x15 and keeps
            # every argument register; the real `blr` follows.
            return
        if mnemonic in ("bl", "blr"):
            for reg in _CALLER_SAVED:
                state.regs.pop(reg, None)
            return
        if mnemonic in _ENDS:
            state.reset()
            return
        if mnemonic in ("mov", "movz") and len(ops) >= 2:
            value = self._get(state, ops[1])
            if mnemonic == "movz" and isinstance(value, int) and len(ops) > 2:
                value <<= _shift(ops[2])
            self._set(state, ops[0], value)
            return
        if mnemonic == "movn" and len(ops) >= 2:
            value = self._get(state, ops[1])
            if isinstance(value, int):
                value = ~(value << (_shift(ops[2]) if len(ops) > 2 else 0))
            self._set(state, ops[0], value)
            return
        if mnemonic == "movk" and len(ops) >= 2:
            old, imm = self._get(state, ops[0]), _imm(ops[1])
            shift = _shift(ops[2]) if len(ops) > 2 else 0
            self._set(state, ops[0], (old & ~(0xFFFF << shift)) | (imm << shift)
                      if isinstance(old, int) and imm is not None else None)
            return
        if mnemonic in ("orr", "add", "eor", "and") and len(ops) in (3, 4):
            a, b = self._get(state, ops[1]), self._get(state, ops[2])
            if len(ops) == 4:  # `add w2, w8, #0xfb0, lsl #12` or a shifted register
                b = b << _shift(ops[3]) if isinstance(b, int) and "lsl" in ops[3] else None
            if mnemonic == "add" and isinstance(a, TableRef) and isinstance(b, int):
                self._set(state, ops[0], a.moved(b))
                return
            if isinstance(a, int) and isinstance(b, int):
                value = {"orr": a | b, "add": a + b, "eor": a ^ b, "and": a & b}[mnemonic]
            else:
                value = None
            if mnemonic == "add" and _reg(ops[0]) == ("sp", 8) and isinstance(b, int):
                state.delta += b
                return
            self._set(state, ops[0], value)
            return
        if mnemonic == "sub" and len(ops) == 3 and _reg(ops[0]) == ("sp", 8):
            b = self._get(state, ops[2])
            if isinstance(b, int):
                state.delta -= b
            else:
                self._set(state, "sp", None)
            return
        if mnemonic in ("adrp", "adr") and len(ops) == 2:
            self._set(state, ops[0], _imm(ops[1]))
            return
        if mnemonic in ("ldr", "ldur") and len(ops) >= 2:
            reg = _reg(ops[0])
            size = reg[1] if reg else 8
            if ops[1].startswith("#"):  # literal pool: PC-relative constant
                address = _imm(ops[1])
                value = None if address is None else self.image.read_const(address, size)
            else:
                value = self._load(state, ops[1], size)
            self._after_writeback(state, ops)
            self._set(state, ops[0], value)
            return
        if mnemonic in ("str", "stur") and len(ops) >= 2:
            reg = _reg(ops[0])
            self._store(state, ops[1], self._get(state, ops[0]), reg[1] if reg else 0)
            self._after_writeback(state, ops)
            return
        if mnemonic in ("stp", "ldp") and len(ops) >= 3:
            self._pair(state, mnemonic, ops)
            return
        if ops and _reg(ops[0]) is not None and not mnemonic.startswith(("cmp", "cmn", "tst", "b.", "cb", "tb")):
            self._set(state, ops[0], None)

    def _after_writeback(self, state: _State, ops: Sequence[str]) -> None:
        """Pre-index ``[sp, #-16]!`` and post-index ``[sp], #16`` move sp."""
        m = _MEM.match(ops[1]) if len(ops) > 1 else None
        if m is None or _reg(m.group(1)) != ("sp", 8):
            return
        if m.group(3):
            state.delta += int(m.group(2), 0) if m.group(2) else 0
        elif len(ops) > 2 and _imm(ops[-1]) is not None:
            state.delta += _imm(ops[-1]) or 0

    def _pair(self, state: _State, mnemonic: str, ops: Sequence[str]) -> None:
        first, second, mem = ops[0], ops[1], ops[2]
        reg = _reg(first)
        size = reg[1] if reg else 8
        m = _MEM.match(mem)
        if m is None:
            for r in (first, second):
                if mnemonic == "ldp":
                    self._set(state, r, None)
            return
        off = int(m.group(2), 0) if m.group(2) else 0
        if mnemonic == "stp":
            for i, r in enumerate((first, second)):
                self._store(state, f"[{m.group(1)}, #{off + i * size}]", self._get(state, r), size)
        else:
            values = [self._load(state, f"[{m.group(1)}, #{off + i * size}]", size) for i in range(2)]
            for r, v in zip((first, second), values, strict=True):
                self._set(state, r, v)
        self._after_writeback(state, ops[1:])

    # -- calls -------------------------------------------------------------------------
    def target(self, state: _State, insn: _Insn) -> Routine | None:
        if insn[2] not in ("blr", "br"):
            return None
        value = self._get(state, insn[3].strip())
        return value if isinstance(value, Routine) else None

    def site(self, state: _State, insn: _Insn, routine: Routine) -> CallSite:
        value = state.regs.get(f"x{routine.arg - 1}") if routine.arg <= 8 else None
        if isinstance(value, int):
            return CallSite(insn[0], routine, value & 0xFFFFFFFF)
        return CallSite(insn[0], routine, None, value if isinstance(value, DataRef) else None)


def _split_ops(op_str: str) -> list[str]:
    """Operands split on commas outside brackets (``[x8, #0x10]`` stays one operand)."""
    out, depth, cur = [], 0, ""
    for ch in op_str:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


def _shift(text: str) -> int:
    m = re.search(r"lsl #(\d+)", text)
    return int(m.group(1)) if m else 0


# -- anchors --------------------------------------------------------------------------------


def _words(sec: Section) -> np.ndarray:
    n = len(sec.data) // 4
    return np.frombuffer(sec.data[: n * 4], dtype="<u4").astype(np.int64)


def _slot_loads(image: Image, sec: Section, targets: np.ndarray) -> np.ndarray:
    """Word indices of ``ldr xT, [xN, #off]`` whose ``adrp xN`` page + off is one of ``targets``."""
    w = _words(sec)
    if not len(w) or not len(targets):
        return np.zeros(0, dtype=np.int64)
    is_ldr = (w & 0xFFC00000) == 0xF9400000  # LDR (immediate, unsigned offset), 64-bit
    ldr = np.nonzero(is_ldr)[0]
    if not len(ldr):
        return ldr
    rn = (w[ldr] >> 5) & 31
    off = ((w[ldr] >> 10) & 0xFFF) * 8
    is_adrp = (w & 0x9F000000) == 0x90000000
    found = np.zeros(len(ldr), dtype=bool)
    pcs = sec.va + 4 * np.arange(len(w), dtype=np.int64)
    immlo = (w >> 29) & 3
    immhi = (w >> 5) & 0x7FFFF
    imm = (immhi << 2) | immlo
    imm = np.where(imm & (1 << 20), imm - (1 << 21), imm)
    page = (pcs & ~0xFFF) + (imm << 12)
    rd = w & 31
    pending = np.ones(len(ldr), dtype=bool)
    for back in range(1, ADRP_REACH + 1):
        j = ldr - back
        ok = pending & (j >= 0)
        jj = np.where(ok, j, 0)
        hit = ok & is_adrp[jj] & (rd[jj] == rn)
        found |= hit & np.isin(page[jj] + off, targets)
        # The nearest adrp writing xN decides; an earlier one is overwritten.
        pending &= ~hit
    return ldr[found]


def _bl_calls(sec: Section, thunks: dict[int, Routine]) -> list[tuple[int, Routine]]:
    """(offset, routine) of each ``bl``/``b`` instruction whose target is an import stub."""
    w = _words(sec)
    if not thunks or not len(w):
        return []
    op = w >> 26
    idx = np.nonzero((op == 0b100101) | (op == 0b000101))[0]
    imm = w[idx] & 0x3FFFFFF
    imm = np.where(imm & (1 << 25), imm - (1 << 26), imm)
    target = sec.va + 4 * idx + 4 * imm
    hit = np.isin(target, np.array(sorted(thunks), dtype=np.int64))
    return [(4 * int(i), thunks[int(t)]) for i, t in zip(idx[hit], target[hit], strict=True)]


def immediate_address(image: Image, value: int) -> int | None:
    """Address of code that builds ``value`` in a register (``mov``/``movk``, maybe ``orr``), if any.

    Candidates are the ``movz`` instructions whose 16-bit immediate is the tag's low half;
    a short run after each is tracked to see whether the whole tag appears in a register.
    """
    tracker = Arm64Tracker(image)
    md = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
    low = value & 0xFFFF
    for sec in image.sections:
        if not sec.executable:
            continue
        w = _words(sec)
        movz = np.nonzero(((w & 0x7FE00000) == 0x52800000) & (((w >> 5) & 0xFFFF) == low))[0]
        for i in movz:
            state = _State()
            start = 4 * int(i)
            for insn in md.disasm_lite(sec.data[start : start + 4 * 32], sec.va + start):
                tracker.step(state, insn)
                if any(isinstance(v, int) and v & 0xFFFFFFFF == value for v in state.regs.values()):
                    return insn[0]
    return None


class Arm64Scanner:
    """Call sites of pool routines in one ARM64 image."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.md = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
        self.tracker = Arm64Tracker(image)
        self.thunks: dict[int, Routine] = {}

    def _decode(self, sec: Section, start: int, end: int) -> list[_Insn]:
        start = max(0, start - start % 4)
        out: list[_Insn] = []
        pos = start
        while pos < end:
            got = list(self.md.disasm_lite(sec.data[pos:end], sec.va + pos))
            out.extend(got)
            pos = (got[-1][0] + 4 - sec.va) if got else pos
            if pos < end:
                out.append((sec.va + pos, 4, "(bad)", ""))  # data in code: step over one word
                pos += 4
        return out

    def _tag_site(self, sec: Section, call_off: int, routine: Routine | None) -> CallSite | None:
        """The call at ``call_off`` with its tag, walking a window of code before it."""
        site = None
        for back in (SHORT_WINDOW, LONG_WINDOW):
            window = self._decode(sec, max(0, call_off - 4 * back), call_off + 4)
            state = _State()
            for insn in window[:-1]:
                self.tracker.step(state, insn)
            call = window[-1]
            found = routine or self.tracker.target(state, call)
            if found is None:
                return None
            site = self.tracker.site(state, call, found)
            if site.tag_value is not None:
                return site
        return site

    def call_sites(self, near: Sequence[bytes] | None = None) -> list[CallSite]:
        """Every call site of a pool routine (``near`` is accepted for the x86/x64 interface)."""
        image = self.image
        targets = set(image.slots) | ({image.wdf_table} if image.wdf_table is not None else set())
        if not targets:
            return []
        target_arr = np.array(sorted(targets), dtype=np.int64)
        code = [s for s in image.sections if s.executable and s.data]
        calls: dict[int, tuple[Section, Routine | None]] = {}
        for sec in code:
            for i in _slot_loads(image, sec, target_arr):
                for off, routine in self._calls_after(sec, int(i) * 4):
                    calls.setdefault(off + sec.va, (sec, routine))
        for sec in code:
            for off, routine in _bl_calls(sec, self.thunks):
                calls.setdefault(sec.va + off, (sec, routine))
        sites: list[CallSite] = []
        for va in sorted(calls):
            sec, routine = calls[va]
            site = self._tag_site(sec, va - sec.va, routine)
            if site is not None:
                sites.append(site)
        return sites

    def _calls_after(self, sec: Section, ldr_off: int) -> Iterator[tuple[int, Routine | None]]:
        """``blr``/``br`` through the register an import or table load wrote, as (offset, routine).

        A ``br`` right after its ``adrp``/``ldr`` at the start of code is an import stub:
        it is remembered, and the ``bl`` instructions that reach it become the call sites.
        """
        start = max(0, ldr_off - 4 * ADRP_REACH)
        before = self._decode(sec, start, ldr_off + 4)
        state = _State()
        for insn in before:
            self.tracker.step(state, insn)
        loaded = _reg(_split_ops(before[-1][3])[0]) if before else None
        if loaded is None:
            return
        for insn in self._decode(sec, ldr_off + 4, min(len(sec.data), ldr_off + 4 + 4 * FORWARD_WINDOW)):
            routine = self.tracker.target(state, insn)
            if routine is not None:
                if insn[2] == "br" and _is_stub(before, insn):
                    self.thunks[before[-2][0] if len(before) > 1 and before[-2][2] == "adrp" else insn[0]] = routine
                    return
                yield insn[0] - sec.va, routine
                if insn[2] == "br":
                    return
            if insn[2] in ("ret", "b", "br"):
                return
            self.tracker.step(state, insn)
            if not any(isinstance(v, (Routine, TableRef)) for v in state.regs.values()):
                return


def _is_stub(before: list[_Insn], br: _Insn) -> bool:
    """``adrp x16; ldr x16, [x16, #off]; br x16`` standing alone: an import stub, not a tail call."""
    if len(before) < 2 or before[-2][2] != "adrp" or br[0] != before[-1][0] + 4:
        return False
    prior = before[-3][2] if len(before) >= 3 else "ret"
    return prior in ("ret", "b", "br", "(bad)", "udf", "brk", "nop")

