"""Find calls to pool routines in x86/x64 code and read the tag they pass.

Disassembling a whole driver instruction by instruction in Python is far too slow
for a folder of large binaries, so the scan works from *anchors*: numpy finds every
place whose 32-bit displacement (x64, RIP-relative) or absolute address (x86)
points at the IAT slot of a pool routine, and every ``call``/``jmp rel32`` into a
``jmp [IAT]`` thunk.  Only a short window of code before each call is then decoded
(capstone's light mode) and walked forward with a small value tracker: constants
moved into registers, copies between registers, one model of the stack for pushes and
``[esp+N]``/``[rsp+N]`` stores (outgoing arguments, locals and struct fields at -O0),
frame-pointer slots, and loads from read-only sections.  When the tag is still unknown
at the call the window is widened to 2 KB, or to the start of the function when .pdata
(x64) says it is closer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from capstone import CS_ARCH_X86, CS_MODE_32, CS_MODE_64, Cs

from analyzer.owners.scan.image import Image, Section
from analyzer.owners.scan.routines import X64_ARG_REGS, Routine

#: Bytes decoded before a call on the first try, then on the wider retry.
SHORT_WINDOW = 64
LONG_WINDOW = 2048
#: How far after a ``mov reg, [IAT]`` the matching ``call reg`` is looked for.
FORWARD_WINDOW = 1024

_FAMILIES = {
    "rax": "rax eax ax al ah",
    "rbx": "rbx ebx bx bl bh",
    "rcx": "rcx ecx cx cl ch",
    "rdx": "rdx edx dx dl dh",
    "rsi": "rsi esi si sil",
    "rdi": "rdi edi di dil",
    "rbp": "rbp ebp bp bpl",
    "rsp": "rsp esp sp spl",
    **{f"r{n}": f"r{n} r{n}d r{n}w r{n}b" for n in range(8, 16)},
}
_CANON: dict[str, str] = {name: fam for fam, names in _FAMILIES.items() for name in names.split()}
_FULL32 = {n for n in _CANON if n.startswith("e") or n.endswith("d")} - {"ebp", "esp"} | {"ebp", "esp"}

_VOLATILE = {
    "x64": ("rax", "rcx", "rdx", "r8", "r9", "r10", "r11"),
    "x86": ("rax", "rcx", "rdx"),
}
# Instructions that write registers they do not name as their first operand.
_IMPLICIT = {
    "cdq": ("rdx",), "cqo": ("rdx",), "cwd": ("rdx",), "cwde": ("rax",), "cdqe": ("rax",), "cbw": ("rax",),
    "mul": ("rax", "rdx"), "div": ("rax", "rdx"), "idiv": ("rax", "rdx"),
    "rdtsc": ("rax", "rdx"), "rdtscp": ("rax", "rdx", "rcx"), "cpuid": ("rax", "rbx", "rcx", "rdx"),
    "rdmsr": ("rax", "rdx"), "xgetbv": ("rax", "rdx"), "lahf": ("rax",), "in": ("rax",),
    "syscall": ("rcx", "r11"), "sysenter": ("rcx", "rdx"), "loop": ("rcx",), "loope": ("rcx",),
    "loopne": ("rcx",), "cmpxchg": ("rax",), "cmpxchg8b": ("rax", "rdx"), "cmpxchg16b": ("rax", "rdx"),
}
_STRING_OPS = re.compile(r"^(?:rep\w* )?(?:lods|stos|movs|scas|cmps|ins|outs)")
_NO_FIRST_WRITE = {"cmp", "test", "push", "bt", "nop", "prefetch", "prefetchw", "clflush", "invlpg",
                   "lock", "ud2", "int3", "hlt", "pause", "out", "ltr", "lgdt", "lidt", "wrmsr"}
_MEM = re.compile(r"^(?:(\w+) ptr )?(?:(\w+):)?\[([^\]]+)\]$")
_SIZES = {"byte": 1, "word": 2, "dword": 4, "qword": 8}


_Insn = tuple[int, int, str, str]  # capstone's light form: address, size, mnemonic, operands


@dataclass(frozen=True)
class DataRef:
    """A value loaded from a static address in writable data: its initial contents, not a proof.

    ``ExAllocatePoolWithTag(type, cfg.size, cfg.tag)`` with ``cfg`` a global reads the tag
    from ``.data``; the bytes there are the tag the driver was built with, but code may
    change them before the call, hence the weaker ``data`` evidence.
    """

    address: int
    value: int


@dataclass(frozen=True)
class TableRef:
    """The WDF function table (``WdfFunctions_XXXXX``'s value) in a register, plus a byte offset.

    Unoptimised code adds the entry's offset first (``add rax, 0x600``) and loads ``[rax]``.
    """

    address: int
    offset: int = 0

    def moved(self, delta: int) -> TableRef:
        return TableRef(self.address, self.offset + delta)


@dataclass(frozen=True)
class CallSite:
    """One call (or tail jump) to a pool routine and the tag value it passes, when provable."""

    address: int
    routine: Routine
    tag_value: int | None
    #: when the tag is not provable but was loaded from a static address in writable data
    data: DataRef | None = None


@dataclass(frozen=True)
class _Mem:
    size: int
    base: str | None
    index: str | None
    disp: int
    absolute: int | None  # address when RIP-relative or a bare absolute address


_TERMS = re.compile(r"([+-]?)\s*([^+\-\s]+)")


@functools.lru_cache(maxsize=65536)
def _parse_mem_text(text: str) -> tuple[int, str | None, str | None, int, str] | None:
    """(size, base, index, disp, kind) of a memory operand; kind is "rip", "abs", "seg" or "reg"."""
    m = _MEM.match(text)
    if m is None:
        return None
    size = _SIZES.get(m.group(1) or "", 0)
    if m.group(2) in ("fs", "gs"):
        return (size, None, "segment", 0, "seg")
    base = index = None
    disp = 0
    rip = False
    for sign, term in _TERMS.findall(m.group(3)):
        if term == "rip":
            rip = True
        elif term in _CANON:
            base = _CANON[term]
        elif "*" in term:
            index = _CANON.get(term.split("*")[0], "?")
        else:
            try:
                value = int(term, 0)
            except ValueError:
                return None
            disp += -value if sign == "-" else value
    if rip:
        return (size, None, None, disp, "rip")
    if base is None and index is None:
        return (size, None, None, disp, "abs")
    return (size, base, index, disp, "reg")


def _parse_mem(text: str, insn_end: int) -> _Mem | None:
    parsed = _parse_mem_text(text)
    if parsed is None:
        return None
    size, base, index, disp, kind = parsed
    if kind == "rip":
        return _Mem(size, None, None, disp, insn_end + disp)
    if kind == "abs":
        return _Mem(size, None, None, disp, disp & 0xFFFFFFFF)
    return _Mem(size, base, index, disp, None)


class _State:
    """Register and stack-slot values along one straight run of code."""

    __slots__ = ("delta", "regs", "slots")

    def __init__(self) -> None:
        self.regs: dict[str, object] = {}
        #: ("stack", offset from the stack pointer at the start of the run) or ("rbp", disp)
        self.slots: dict[tuple[str, int], object] = {}
        #: where the stack pointer is now, relative to the start of the run
        self.delta = 0

    def reset(self) -> None:
        self.regs.clear()
        self.slots.clear()
        self.delta = 0

    def reset_stack(self) -> None:
        """The stack pointer moved by an unknown amount: stack slots mean nothing any more."""
        for key in [k for k in self.slots if k[0] == "stack"]:
            del self.slots[key]
        self.delta = 0


class Tracker:
    """Walks decoded instructions of one image and reports pool-routine call sites."""

    def __init__(self, image: Image, thunks: dict[int, Routine],
                 callee_pops: Callable[[int], int | None] | None = None) -> None:
        self.image = image
        self.thunks = thunks
        self.x64 = image.arch == "x64"
        self.mask = 0xFFFFFFFFFFFFFFFF if self.x64 else 0xFFFFFFFF
        self.volatile = _VOLATILE[image.arch]
        self.word = 8 if self.x64 else 4
        #: x86: bytes a called function pops on return (`ret N`), None when unknown.
        self.callee_pops = callee_pops

    # -- operand values ---------------------------------------------------------------
    def _load(self, state: _State, mem: _Mem) -> object:
        if mem.absolute is not None:
            routine = self.image.slots.get(mem.absolute)
            if routine is not None:
                return routine
            if mem.absolute == self.image.wdf_table:
                return TableRef(mem.absolute)
            const = self.image.read_const(mem.absolute, mem.size or 4)
            if const is not None:
                return const
            data = self.image.read_data(mem.absolute, mem.size or 4)
            return None if data is None else DataRef(mem.absolute, data)
        table = state.regs.get(mem.base) if mem.index is None and mem.base is not None else None
        if isinstance(table, TableRef):
            # `mov rax, [rax + 8 * index]`: an entry of the WDF function table
            offset = table.offset + mem.disp
            return self.image.wdf_routine(offset // self.word) if offset % self.word == 0 else None
        if mem.index is None and mem.base == "rsp":
            return state.slots.get(("stack", state.delta + mem.disp))
        if mem.index is None and mem.base == "rbp":
            return state.slots.get(("rbp", mem.disp))
        return None

    def _value(self, state: _State, text: str, insn_end: int) -> object:
        if text in _CANON:
            value = state.regs.get(_CANON[text])
            if isinstance(value, int) and text in _FULL32:
                return value & 0xFFFFFFFF
            return value
        if "[" in text:
            mem = _parse_mem(text, insn_end)
            return None if mem is None else self._load(state, mem)
        try:
            return int(text, 0) & self.mask
        except ValueError:
            return None

    def _write_reg(self, state: _State, name: str, value: object) -> None:
        fam = _CANON[name]
        if fam == "rbp":
            # A new frame pointer: what was addressed from the old one is out of reach.
            for key in [k for k in state.slots if k[0] == "rbp"]:
                del state.slots[key]
        elif fam == "rsp":
            state.reset_stack()
        if value is None or not (name in _FULL32 or name == fam):
            state.regs.pop(fam, None)  # a partial write leaves nothing we can vouch for
        else:
            state.regs[fam] = value & 0xFFFFFFFF if isinstance(value, int) and name in _FULL32 else value

    def _write_mem(self, state: _State, text: str, insn_end: int, value: object) -> None:
        mem = _parse_mem(text, insn_end)
        if mem is None or mem.index is not None or mem.base not in ("rsp", "rbp"):
            return
        key = ("stack", state.delta + mem.disp) if mem.base == "rsp" else ("rbp", mem.disp)
        if value is None or mem.size not in (4, 8):
            state.slots.pop(key, None)
        else:
            state.slots[key] = value & 0xFFFFFFFF if isinstance(value, int) and mem.size == 4 else value

    def _table_moved(self, state: _State, mnemonic: str, ops: list[str], end: int) -> TableRef | None:
        """``add rax, 0x600`` / ``lea rax, [rax + 0x600]`` on a register holding the WDF table."""
        if mnemonic == "lea":
            mem = _parse_mem(ops[1], end)
            if mem is None or mem.index is not None or mem.base is None:
                return None
            base, delta = state.regs.get(mem.base), mem.disp
        else:
            base = state.regs.get(_CANON[ops[0]])
            try:
                delta = int(ops[1], 0) * (1 if mnemonic == "add" else -1)
            except ValueError:
                return None
        return base.moved(delta) if isinstance(base, TableRef) else None

    # -- call sites -------------------------------------------------------------------
    def _target(self, state: _State, operand: str, insn_end: int) -> Routine | None:
        if "[" in operand:
            mem = _parse_mem(operand, insn_end)
            if mem is None:
                return None
            if mem.absolute is not None:
                routine = self.image.slots.get(mem.absolute)
                if routine is None and self.x64 and (mem.absolute == self.image.guard_dispatch
                                                     or isinstance(state.regs.get("rax"), Routine)):
                    # CFG: `call [__guard_dispatch_icall_fptr]` calls the target held in rax
                    # (rax carries no argument, so a routine there is the call's target).
                    value = state.regs.get("rax")
                    return value if isinstance(value, Routine) else None
                return routine
            value = self._load(state, mem)
            return value if isinstance(value, Routine) else None
        if operand in _CANON:
            value = state.regs.get(_CANON[operand])
            return value if isinstance(value, Routine) else None
        try:
            return self.thunks.get(int(operand, 0))
        except ValueError:
            return None

    def is_guard_check(self, state: _State, operand: str, insn_end: int) -> bool:
        """x86 CFG: ``call [__guard_check_icall_fptr]`` validates the target in ecx and returns.

        It pops nothing and keeps ecx, which the real ``call ecx`` (or a copy) uses next.
        """
        if self.x64 or "[" not in operand or not isinstance(state.regs.get("rcx"), Routine):
            return False
        mem = _parse_mem(operand, insn_end)
        return mem is not None and mem.absolute is not None and mem.absolute not in self.image.slots

    def _pops_of(self, operand: str) -> int | None:
        """Bytes of arguments a direct x86 call removes (0 for cdecl), None when not known."""
        if self.x64 or self.callee_pops is None:
            return None
        try:
            target = int(operand, 0)
        except ValueError:
            return None
        return self.callee_pops(target)

    def _arg_value(self, state: _State, routine: Routine, skip: int = 0) -> object:
        if self.x64:
            if routine.arg <= 4:
                return state.regs.get(X64_ARG_REGS[routine.arg - 1])
            return state.slots.get(("stack", state.delta + skip + 0x20 + 8 * (routine.arg - 5)))
        # Pushed or stored with `mov [esp+N]`, the slot is where the stack pointer says.
        return state.slots.get(("stack", state.delta + skip + 4 * routine.x86_slot))

    def _site_of(self, address: int, state: _State, routine: Routine, skip: int = 0) -> CallSite:
        value = self._arg_value(state, routine, skip)
        if isinstance(value, int):
            return CallSite(address, routine, value & 0xFFFFFFFF)
        return CallSite(address, routine, None, value if isinstance(value, DataRef) else None)

    def _after_call(self, state: _State, pops: int | None = None) -> None:
        """Forget what a call may change; ``pops`` bytes of pushed arguments were its own."""
        for reg in self.volatile:
            state.regs.pop(reg, None)
        if self.x64:
            # The callee owns its home area and stack arguments.
            for key in [k for k in state.slots if k[0] == "stack" and state.delta <= k[1] < state.delta + 0x60]:
                del state.slots[key]
        elif pops is None:
            state.reset_stack()
        else:
            # stdcall: the callee popped its arguments; what was pushed before them (MSVC
            # interleaves pushes with inner calls) is still there.
            state.delta += pops

    # -- the walk ---------------------------------------------------------------------
    def walk(self, insns: list[tuple[int, int, str, str]], stop: int | None = None) -> Iterator[CallSite]:
        """Track values through ``insns``; yield call sites (only the one ending at ``stop`` if given).

        Matching on the end address keeps a prefixed instruction (``rex.W jmp [IAT]``)
        and its unprefixed reading the same site.
        """
        state = _State()
        for address, size, mnemonic, op_str in insns:
            end = address + size
            ops = op_str.split(", ") if op_str else []
            if mnemonic in ("call", "jmp") and ops:
                routine = self._target(state, ops[0], end)
                if routine is not None and (stop is None or end == stop):
                    # A tail jump leaves the caller's return address on top of the arguments.
                    skip = self.word if mnemonic == "jmp" else 0
                    yield self._site_of(address, state, routine, skip)
                if stop is not None and end >= stop:
                    return
                if mnemonic == "call" and self.is_guard_check(state, ops[0], end):
                    continue
                if mnemonic == "call":
                    self._after_call(state, None if routine is not None else self._pops_of(ops[0]))
                else:
                    state.reset()
                continue
            if mnemonic in ("add", "sub") and len(ops) == 2 and _CANON.get(ops[0]) == "rsp":
                try:
                    amount = int(ops[1], 0)
                except ValueError:
                    state.reset_stack()
                    continue
                state.delta += amount if mnemonic == "add" else -amount
                continue
            if mnemonic in ("ret", "retf", "int3", "ud2", "hlt", "iretq", "iretd"):
                state.reset()
                continue
            if mnemonic in ("mov", "movabs") and len(ops) == 2:
                value = self._value(state, ops[1], end)
                if ops[0] in _CANON:
                    self._write_reg(state, ops[0], value)
                elif "[" in ops[0]:
                    self._write_mem(state, ops[0], end, value)
                continue
            if mnemonic == "xor" and len(ops) == 2 and ops[0] == ops[1] and ops[0] in _CANON:
                self._write_reg(state, ops[0], 0)
                continue
            if mnemonic == "push" and ops:
                value = self._value(state, ops[0], end)
                state.delta -= self.word
                if value is None:
                    state.slots.pop(("stack", state.delta), None)
                else:
                    state.slots[("stack", state.delta)] = value
                continue
            if mnemonic == "pop" and ops:
                value = state.slots.pop(("stack", state.delta), None)
                state.delta += self.word
                if ops[0] in _CANON:
                    self._write_reg(state, ops[0], value)
                continue
            if mnemonic in ("leave", "enter"):
                state.regs.pop("rbp", None)
                state.slots.clear()
                state.delta = 0
                continue
            self._generic(state, mnemonic, ops, end)

    def _generic(self, state: _State, mnemonic: str, ops: list[str], end: int) -> None:
        if mnemonic in ("add", "sub", "lea") and len(ops) == 2 and ops[0] in _CANON:
            moved = self._table_moved(state, mnemonic, ops, end)
            if moved is not None:
                state.regs[_CANON[ops[0]]] = moved
                return
        for reg in _IMPLICIT.get(mnemonic, ()):
            state.regs.pop(reg, None)
        if _STRING_OPS.match(mnemonic):
            for reg in ("rsi", "rdi", "rcx", "rax"):
                state.regs.pop(reg, None)
        if not ops or mnemonic.startswith("j") or mnemonic in _NO_FIRST_WRITE:
            return
        first = ops[0]
        if first in _CANON:
            fam = _CANON[first]
            state.regs.pop(fam, None)
            if fam == "rsp":
                state.reset_stack()  # moved by an amount we do not follow (and, lea, ...)
            elif fam == "rbp":
                for key in [k for k in state.slots if k[0] == "rbp"]:
                    del state.slots[key]
        elif "[" in first:
            self._write_mem(state, first, end, None)
        if mnemonic in ("xchg", "xadd") and len(ops) == 2 and ops[1] in _CANON:
            state.regs.pop(_CANON[ops[1]], None)


# -- anchors and windows --------------------------------------------------------------


def _dwords_at(b: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The little-endian 32-bit values starting at offsets ``idx`` of the byte array ``b``."""
    out = b[idx].astype(np.uint32)
    out |= b[idx + 1].astype(np.uint32) << 8
    out |= b[idx + 2].astype(np.uint32) << 16
    out |= b[idx + 3].astype(np.uint32) << 24
    return out


@dataclass(frozen=True)
class _Anchor:
    offset: int  # of the displacement (mem kinds) or of the E8/E9 opcode (rel)
    kind: str  # "mem" or "rel"


def _mem_anchors(image: Image, sec: Section) -> np.ndarray:
    """Offsets of displacements that point at a pool routine's IAT slot.

    Only the encodings the scan follows are considered: ``call/jmp [m]`` (FF 15/25),
    ``mov r, [m]`` (8B with a disp32-only ModRM) and x86 ``mov eax, [moffs]`` (A1).
    Values are computed at those places only, which keeps a megabyte to a few milliseconds.
    """
    targets = set(image.slots) | ({image.wdf_table} if image.wdf_table is not None else set())
    slots = np.array(sorted(targets), dtype=np.int64)
    b = np.frombuffer(sec.data, dtype=np.uint8)
    if not len(slots) or len(b) < 6:
        return np.zeros(0, dtype=np.int64)
    op, modrm = b[:-5], b[1:-4]  # the two bytes before a displacement at offset i + 2
    shape = ((op == 0xFF) & ((modrm == 0x15) | (modrm == 0x25))) | ((op == 0x8B) & ((modrm & 0xC7) == 0x05))
    cand = np.nonzero(shape)[0] + 2
    if image.arch == "x86":
        cand = np.union1d(cand, np.nonzero(b[:-4] == 0xA1)[0] + 1)
    if not len(cand):
        return cand
    values = _dwords_at(b, cand)
    if image.arch == "x64":
        target = values.view(np.int32).astype(np.int64) + (sec.va + 4) + cand
    else:
        target = values.astype(np.int64)
    return cand[np.isin(target, slots)]


def _rel_anchors(sec: Section, thunks: dict[int, Routine]) -> np.ndarray:
    """Offsets of ``call/jmp rel32`` instructions whose target is a ``jmp [IAT]`` stub."""
    b = np.frombuffer(sec.data, dtype=np.uint8)
    if not thunks or len(b) < 5:
        return np.zeros(0, dtype=np.int64)
    head = b[:-4]
    idx = np.nonzero((head == 0xE8) | (head == 0xE9))[0]
    if not len(idx):
        return idx
    target = _dwords_at(b, idx + 1).view(np.int32).astype(np.int64) + (sec.va + 5) + idx
    return idx[np.isin(target, np.array(sorted(thunks), dtype=np.int64))]


def _starts_code(window: list[tuple[int, int, str, str]], end: int) -> bool:
    """True when the instruction ending at ``end`` follows no code of its own function."""
    for i, insn in enumerate(window):
        if insn[0] + insn[1] == end:
            return i == 0 or window[i - 1][2] in ("jmp", "ret", "int3", "nop", "(bad)", "ud2")
    return False


class Scanner:
    """Call sites of pool routines in one image."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.md = Cs(CS_ARCH_X86, CS_MODE_64 if image.arch == "x64" else CS_MODE_32)
        self.md.skipdata = False
        self.thunks: dict[int, Routine] = {}
        self._pops: dict[int, int | None] = {}
        self.tracker = Tracker(image, self.thunks, self._callee_pops)

    def _decode(self, sec: Section, start: int, end: int) -> list[tuple[int, int, str, str]]:
        out: list[tuple[int, int, str, str]] = []
        pos = start
        data = sec.data
        while pos < end:
            before = len(out)
            out.extend(self.md.disasm_lite(data[pos:end], sec.va + pos))
            if len(out) == before:
                pos += 1  # undecodable byte: step over it
                continue
            last = out[-1]
            pos = last[0] + last[1] - sec.va
            if pos < end:
                out.append((sec.va + pos, 1, "(bad)", ""))
                pos += 1
        return out

    def _window(self, sec: Section, insn_off: int, back: int, insn_end: int) -> list[tuple[int, int, str, str]]:
        """Instructions from about ``back`` bytes before ``insn_off`` up to the instruction there."""
        va = sec.va + insn_off
        func = self.image.function_of(va)
        lo = max(0, insn_off - back)
        if func is not None and func[0] - sec.va >= lo:
            return self._decode(sec, func[0] - sec.va, insn_end)
        # Find a start from which decoding falls onto the call instruction itself.
        for start in range(lo, min(lo + 16, insn_off + 1)):
            insns = self._decode(sec, start, insn_end)
            if any(i[0] + i[1] == sec.va + insn_end for i in insns[-8:]):
                return insns
        return self._decode(sec, insn_off, insn_end)

    def _insn_at(self, sec: Section, anchor: _Anchor) -> tuple[_Insn | None, list[_Insn]]:
        """The instruction an anchor belongs to (its displacement is the instruction's last field),
        and the decoded run ending with it when one was needed."""
        if anchor.kind == "rel":
            got = list(self.md.disasm_lite(sec.data[anchor.offset : anchor.offset + 5], sec.va + anchor.offset))
            return (got[0] if got else None), []
        end = anchor.offset + 4
        off = anchor.offset
        if off >= 2 and sec.data[off - 2] == 0xFF and sec.data[off - 1] in (0x15, 0x25):
            # `call/jmp [IAT]`, by far the commonest form: no decoding needed here, and
            # _site() only accepts it if a synchronised decode ends on the same byte.
            start = off - 3 if off >= 3 and 0x40 <= sec.data[off - 3] <= 0x4F and self.image.arch == "x64" else off - 2
            mnemonic = "call" if sec.data[off - 1] == 0x15 else "jmp"
            raw = int.from_bytes(sec.data[off:end], "little")
            if self.image.arch == "x64":
                disp = raw - (1 << 32) if raw & 0x80000000 else raw
                operand = f"qword ptr [rip + {disp:#x}]" if disp >= 0 else f"qword ptr [rip - {-disp:#x}]"
            else:
                operand = f"dword ptr [{raw:#x}]"
            return (sec.va + start, end - start, mnemonic, operand), []
        # Decode up to the displacement from a synchronised start: guessing the start
        # byte-by-byte would drop a REX prefix and misread the register.
        window = self._window(sec, anchor.offset, 32, end)
        for insn in reversed(window[-4:]):
            if insn[0] + insn[1] == sec.va + end and "[" in insn[3]:
                return insn, window[: window.index(insn) + 1]
        return None, []

    def _nearby(self, patterns: Sequence[bytes]) -> Callable[[Section, np.ndarray], np.ndarray] | None:
        """A filter "which anchors could see one of the patterns", or None when all could."""
        for sec in self.image.sections:
            if not sec.executable and any(p in sec.data for p in patterns):
                return None  # a constant or a global: any load anywhere may use it
        reach = LONG_WINDOW + FORWARD_WINDOW + 16
        spots: dict[int, np.ndarray] = {}
        for sec in self.image.sections:
            if not sec.executable:
                continue
            found = []
            for p in patterns:
                pos = sec.data.find(p)
                while pos != -1:
                    found.append(pos)
                    pos = sec.data.find(p, pos + 1)
            spots[id(sec)] = np.array(sorted(found), dtype=np.int64)

        def keep(sec: Section, offs: np.ndarray) -> np.ndarray:
            arr = spots.get(id(sec))
            if arr is None or not len(arr):
                return np.zeros(len(offs), dtype=bool)
            # Before the call for immediates; after a `mov reg, [IAT]` for the calls it feeds.
            i = np.searchsorted(arr, offs - reach, side="left")
            ok = i < len(arr)
            ok[ok] = arr[i[ok]] <= offs[ok] + reach
            return ok

        return keep

    def _site(self, sec: Section, insn: _Insn, decoded: list[_Insn] | None = None) -> CallSite | None:
        off = insn[0] - sec.va
        end = off + insn[1]
        if decoded:
            # The run already decoded from the IAT load to the call: often enough.
            found = list(self.tracker.walk(decoded, stop=sec.va + end))
            if found and found[0].tag_value is not None:
                return found[0]
        for back in (SHORT_WINDOW, LONG_WINDOW):
            window = self._window(sec, off, back, end)
            found = list(self.tracker.walk(window, stop=sec.va + end))
            if not found:
                continue
            site = found[0]
            if site.tag_value is None and insn[2] == "jmp" and _starts_code(window, sec.va + end):
                return None  # a `jmp [IAT]` stub, not a tail call: its callers are the sites
            if site.tag_value is not None or back == LONG_WINDOW:
                return site
        return None

    def _callee_pops(self, target: int) -> int | None:
        """`ret N` of the function at ``target``: how many argument bytes it pops (x86 stdcall)."""
        if target in self._pops:
            return self._pops[target]
        sec = self.image.section_at(target)
        pops: int | None = None
        if sec is not None and sec.executable:
            for insn in self._forward(sec, target - sec.va, limit=4096):
                if insn[2] == "ret":
                    try:
                        pops = int(insn[3], 0) if insn[3] else 0
                    except ValueError:
                        pops = None
                    break
                if insn[2] in ("(bad)", "int3", "hlt", "ud2"):
                    break
        self._pops[target] = pops
        return pops

    def _forward(self, sec: Section, start: int, limit: int | None = None) -> Iterator[tuple[int, int, str, str]]:
        """Instructions from ``start`` on, decoded in small chunks: the call is usually near."""
        pos, limit = start, min(len(sec.data), start + (limit or FORWARD_WINDOW))
        while pos < limit:
            chunk_end = min(limit, pos + 64)
            chunk = self._decode(sec, pos, chunk_end)
            if not chunk:
                return
            if chunk_end < limit:
                # An instruction the chunk boundary cut decodes as (bad) and desynchronises
                # what follows: keep only those starting 15 bytes (the longest x86
                # instruction) or more before the boundary; the rest is decoded again.
                chunk = [i for i in chunk if i[0] + 15 <= sec.va + chunk_end] or chunk[:1]
            yield from chunk
            pos = chunk[-1][0] + chunk[-1][1] - sec.va

    def _register_calls(self, sec: Section, mov: _Insn, before: list[_Insn]) -> Iterator[tuple[_Insn, list[_Insn]]]:
        """Calls through a register loaded from the IAT or from the WDF function table.

        Covers ``call reg``, ``call [reg + 8 * index]`` (KMDF's ``WdfFunctions[index]``) and
        CFG's ``call [__guard_dispatch_icall_fptr]`` with the target in rax; each comes with
        the instructions decoded from ``before`` (ending with the load) up to it.
        """
        if _CANON.get(mov[3].split(", ")[0]) is None:
            return
        state = _State()
        self._step(state, mov)
        seen = list(before)
        for insn in self._forward(sec, mov[0] + mov[1] - sec.va):
            seen.append(insn)
            mnemonic = insn[2]
            if mnemonic in ("call", "jmp") and insn[3] and self.tracker._target(state, insn[3], insn[0] + insn[1]):
                yield insn, list(seen)
            if mnemonic in ("ret", "int3", "jmp"):
                return
            self._step(state, insn)
            if not any(isinstance(v, (Routine, TableRef)) for v in state.regs.values()):
                return

    def _step(self, state: _State, insn: tuple[int, int, str, str]) -> None:
        # Re-use the tracker's semantics on a persistent state for one instruction.
        tracker = self.tracker
        address, size, mnemonic, op_str = insn
        ops = op_str.split(", ") if op_str else []
        end = address + size
        if mnemonic == "call" and ops and tracker.is_guard_check(state, ops[0], end):
            return
        if mnemonic == "call":
            tracker._after_call(state)
        elif mnemonic in ("mov", "movabs") and len(ops) == 2:
            value = tracker._value(state, ops[1], end)
            if ops[0] in _CANON:
                tracker._write_reg(state, ops[0], value)
            elif "[" in ops[0]:
                tracker._write_mem(state, ops[0], end, value)
        else:
            tracker._generic(state, mnemonic, ops, end)

    def call_sites(self, near: Sequence[bytes] | None = None) -> list[CallSite]:
        """Every call site; with ``near``, only those that could pass one of these byte patterns.

        A tag the tracker can prove is an immediate in the code before the call (within the
        windows above) or a constant in a read-only section; when every pattern is absent
        from read-only data, anchors far from any occurrence in the code are skipped.
        """
        if not self.image.slots and self.image.wdf_table is None:
            return []
        sites: dict[int, CallSite] = {}
        code = [s for s in self.image.sections if s.executable and s.data]
        pending: list[tuple[Section, _Anchor, bool]] = []  # (section, anchor, analyse its call)
        keep = self._nearby(near) if near is not None else None
        for sec in code:
            offs = _mem_anchors(self.image, sec)
            wanted = np.ones(len(offs), dtype=bool) if keep is None or not len(offs) else keep(sec, offs)
            if keep is not None and len(offs):
                data = np.frombuffer(sec.data, dtype=np.uint8)
                # `jmp [IAT]` anchors are read anyway: a stub's callers may be anywhere.
                is_jmp = (data[offs - 2] == 0xFF) & (data[offs - 1] == 0x25)
                offs, wanted = offs[is_jmp | wanted], wanted[is_jmp | wanted]
            pending.extend((sec, _Anchor(int(off), "mem"), bool(w)) for off, w in zip(offs, wanted, strict=True))
        # Thunks first, so that calls into them become anchors too.
        insns: list[tuple[Section, _Insn, list[_Insn]]] = []
        for sec, anchor, analyse in pending:
            insn, before = self._insn_at(sec, anchor)
            if insn is None:
                continue
            if analyse:
                insns.append((sec, insn, before))
            if insn[2] == "jmp":
                mem = _parse_mem(insn[3], insn[0] + insn[1])
                if mem is not None and mem.absolute in self.image.slots:
                    routine = self.image.slots[mem.absolute]
                    self.thunks[insn[0]] = routine
                    if insn[1] == 7:
                        # Taken as REX-prefixed; the byte may belong to the instruction before.
                        self.thunks[insn[0] + 1] = routine
        for sec in code:
            offs = _rel_anchors(sec, self.thunks)
            if keep is not None and len(offs):
                offs = offs[keep(sec, offs)]
            for off in offs:
                insn, _ = self._insn_at(sec, _Anchor(int(off), "rel"))
                if insn is not None:
                    insns.append((sec, insn, []))
        for sec, insn, before in insns:
            mnemonic = insn[2]
            targets: list[tuple[_Insn, list[_Insn]]]
            if mnemonic in ("call", "jmp"):
                targets = [(insn, [])]
            elif mnemonic == "mov" and insn[3].split(", ")[0] in _CANON:
                targets = list(self._register_calls(sec, insn, before))
            else:
                continue
            for target, decoded in targets:
                end = target[0] + target[1]
                if end in sites:
                    continue
                site = self._site(sec, target, decoded)
                if site is not None:
                    sites[end] = site
        return sorted(sites.values(), key=lambda s: s.address)
