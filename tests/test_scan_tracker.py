"""The value tracker and tag helpers of the scan, on hand-written instruction sequences.

These run without the cross compilers; tests/test_scan_fixtures.py checks the same
machinery on real compiler output.
"""

from __future__ import annotations

import re

import pytest

from analyzer.owners.scan import tag_bytes, tag_from_value
from analyzer.owners.scan.callsites import Tracker
from analyzer.owners.scan.image import Image, NotPE, Section, load_image
from analyzer.owners.scan.routines import ROUTINES

BASE = 0x140000000
BASE86 = 0x10000
RDATA = BASE + 0x3000
DATA = BASE + 0x2000
IAT = BASE + 0x8000
IAT86 = BASE86 + 0x8000
NAMES = ("ExAllocatePoolWithTag", "ExAllocatePool2", "ExFreePoolWithTag", "ExInitializeNPagedLookasideList")
ABCD = int.from_bytes(b"Abcd", "little")


def image(arch: str = "x64") -> Image:
    base = BASE if arch == "x64" else BASE86
    sections = [
        Section(".text", base + 0x1000, b"\xcc" * 0x100, executable=True, writable=False),
        Section(".data", base + 0x2000, b"Wrtb" + b"\0" * 12, executable=False, writable=True),
        Section(".rdata", base + 0x3000, b"\0" * 8 + b"Cnst" + b"\0" * 4, executable=False, writable=False),
    ]
    step = 8 if arch == "x64" else 4
    slots = {base + 0x8000 + step * i: ROUTINES[name] for i, name in enumerate(NAMES)}
    return Image(arch, base, sections, slots)


def run(lines: list[str], arch: str = "x64", pops: dict[int, int] | None = None) -> list[tuple[str, str | None]]:
    """Walk ``mnemonic operands`` lines placed one after another; (routine, tag) per call site."""
    insns = []
    address = (BASE if arch == "x64" else BASE86) + 0x1000
    for line in lines:
        mnemonic, _, ops = line.partition(" ")
        if arch == "x64":
            # x64 code reaches data RIP-relative, as compilers emit it
            end = address + 4
            ops = re.sub(r"\[@(0x[0-9a-f]+)\]", lambda m, end=end: f"[rip + {int(m.group(1), 16) - end:#x}]", ops)
        else:
            ops = ops.replace("[@", "[")
        insns.append((address, 4, mnemonic, ops))
        address += 4
    sites = Tracker(image(arch), {}, (pops or {}).get).walk(insns)
    return [(s.routine.name, None if s.tag_value is None else tag_from_value(s.tag_value)) for s in sites]


def iat(slot: int, arch: str = "x64") -> str:
    """The IAT slot operand; ``slot`` is given as an x64 address and mapped for x86."""
    if arch == "x64":
        return f"qword ptr [@{slot:#x}]"
    return f"dword ptr [@{IAT86 + (slot - IAT) // 2:#x}]"


def test_x64_register_argument() -> None:
    assert run(["mov r8d, 0x64636241", "mov edx, 0x40", "xor ecx, ecx", f"call {iat(IAT)}"]) == [
        ("ExAllocatePoolWithTag", "Abcd")
    ]


def test_x64_copies_between_registers_and_stack_slots() -> None:
    assert run([
        "mov dword ptr [rbp - 4], 0x64636241",
        "mov eax, dword ptr [rbp - 4]",
        "mov r8d, eax",
        f"call {iat(IAT)}",
    ]) == [("ExAllocatePoolWithTag", "Abcd")]


def test_x64_stack_argument_for_the_sixth_parameter() -> None:
    assert run(["mov dword ptr [rsp + 0x28], 0x64636241", f"call {iat(IAT + 24)}"]) == [
        ("ExInitializeNPagedLookasideList", "Abcd")
    ]


def test_x64_call_through_register_loaded_from_iat() -> None:
    assert run([f"mov r14, {iat(IAT + 16)}", "mov edx, 0x64636241", "call r14", "mov edx, 0x68676645",
                "call r14"]) == [("ExFreePoolWithTag", "Abcd"), ("ExFreePoolWithTag", "Efgh")]


def test_constant_from_read_only_data_but_not_from_writable_data() -> None:
    assert run([f"mov r8d, dword ptr [@{RDATA + 8:#x}]", f"call {iat(IAT)}",
                f"mov r8d, dword ptr [@{DATA:#x}]", f"call {iat(IAT)}"]) == [
        ("ExAllocatePoolWithTag", "Cnst"),
        ("ExAllocatePoolWithTag", None),
    ]


def test_calls_clobber_volatile_registers() -> None:
    assert run(["mov r8d, 0x64636241", "call 0x140001800", f"call {iat(IAT)}"]) == [("ExAllocatePoolWithTag", None)]


def test_partial_and_implicit_writes_forget_the_value() -> None:
    assert run(["mov r8d, 0x64636241", "mov r8b, 1", f"call {iat(IAT)}"]) == [("ExAllocatePoolWithTag", None)]
    assert run(["mov edx, 0x64636241", "cdq", f"call {iat(IAT + 16)}"]) == [("ExFreePoolWithTag", None)]
    assert run(["mov r8d, 0x64636241", "add r8d, 1", f"call {iat(IAT)}"]) == [("ExAllocatePoolWithTag", None)]


def test_ret_and_jmp_end_a_straight_run() -> None:
    assert run(["mov r8d, 0x64636241", "ret", f"call {iat(IAT)}"]) == [("ExAllocatePoolWithTag", None)]


def test_x86_pushes_right_to_left() -> None:
    assert run(["push 0x64636241", "push 0x40", "push 0", f"call {iat(IAT, 'x86')}"], "x86") == [
        ("ExAllocatePoolWithTag", "Abcd")
    ]


def test_x86_pool2_flags_take_two_slots() -> None:
    lines = ["push 0x64636241", "push 0x40", "push 0", "push 0x40", f"call {iat(IAT + 8, 'x86')}"]
    assert run(lines, "x86") == [("ExAllocatePool2", "Abcd")]


def test_x86_outgoing_argument_slots_as_gcc_writes_them() -> None:
    lines = ["mov dword ptr [esp + 8], 0x64636241", "mov dword ptr [esp + 4], 0x40", "mov dword ptr [esp], 0",
             f"mov eax, {iat(IAT, 'x86')}", "call eax", "sub esp, 0xc", f"call {iat(IAT, 'x86')}"]
    assert run(lines, "x86") == [("ExAllocatePoolWithTag", "Abcd"), ("ExAllocatePoolWithTag", None)]


STDCALL_F = BASE86 + 0x1080  # a function ending in `ret 4`
CDECL_G = BASE86 + 0x1090  # a function ending in `ret`


def test_x86_pushes_survive_an_inner_stdcall_call() -> None:
    # MSVC pushes the tag, then calls a function for the size, then pushes the rest.
    lines = ["push 0x64636241", "push 5", f"call {STDCALL_F:#x}", "push eax", "push 0",
             f"call {iat(IAT, 'x86')}"]
    assert run(lines, "x86", {STDCALL_F: 4}) == [("ExAllocatePoolWithTag", "Abcd")]


def test_x86_pushes_survive_an_inner_cdecl_call_and_its_cleanup() -> None:
    lines = ["push 0x64636241", "push 5", "push 6", f"call {CDECL_G:#x}", "add esp, 8", "push eax", "push 0",
             f"call {iat(IAT, 'x86')}"]
    assert run(lines, "x86", {CDECL_G: 0}) == [("ExAllocatePoolWithTag", "Abcd")]


def test_x86_unknown_callee_forgets_the_stack() -> None:
    lines = ["push 0x64636241", "push 5", "call eax", "push eax", "push 0", f"call {iat(IAT, 'x86')}"]
    assert run(lines, "x86") == [("ExAllocatePoolWithTag", None)]


def test_x86_prologue_pushes_do_not_hide_argument_slots() -> None:
    lines = ["push esi", "push ebx", "sub esp, 0x14", "mov dword ptr [esp + 4], 0x64636241", "mov dword ptr [esp], 0",
             f"call {iat(IAT + 16, 'x86')}"]
    assert run(lines, "x86") == [("ExFreePoolWithTag", "Abcd")]


def test_x86_tail_jump_reads_arguments_above_the_return_address() -> None:
    lines = ["mov dword ptr [esp + 8], 0x64636241", f"jmp {iat(IAT + 16, 'x86')}"]
    assert run(lines, "x86") == [("ExFreePoolWithTag", "Abcd")]


def test_callee_pops_read_from_the_ret_instruction() -> None:
    from analyzer.owners.scan.callsites import Scanner

    img = image("x86")
    text = bytearray(img.sections[0].data)
    text[0x80:0x86] = bytes.fromhex("8b442404c204")  # mov eax, [esp+4]; ret 4 ...
    text[0x86] = 0x00
    text[0x90:0x92] = bytes.fromhex("31c0")  # xor eax, eax
    text[0x92] = 0xC3  # ret
    img.sections[0].data = bytes(text)
    scanner = Scanner(img)
    assert scanner._callee_pops(STDCALL_F) == 4
    assert scanner._callee_pops(CDECL_G) == 0
    assert scanner._callee_pops(BASE86 + 0x10) is None  # int3 padding, no function


def test_tag_from_value() -> None:
    assert tag_from_value(ABCD) == "Abcd"
    assert tag_from_value(int.from_bytes(b"Abc\0", "little")) == "Abc "
    assert tag_from_value(ABCD | 0x80000000) == "Abcd"  # PROTECTED_POOL bit
    assert tag_from_value(0) is None
    assert tag_from_value(0x00000101) is None
    assert tag_from_value(0xFFFFFFFF) is None
    assert tag_from_value(0x20202020) is None  # four spaces: no tag


def test_tag_bytes() -> None:
    assert tag_bytes("Abcd") == [b"Abcd"]
    assert tag_bytes("Ab") == [b"Ab  ", b"Ab\0\0"]
    assert tag_bytes("Io  ") == [b"Io  ", b"Io\0\0"]
    with pytest.raises(ValueError):
        tag_bytes("Abcde")
    with pytest.raises(ValueError):
        tag_bytes("")


def test_not_pe() -> None:
    with pytest.raises(NotPE, match="no MZ header"):
        load_image(b"ELF" + b"\0" * 100)
    with pytest.raises(NotPE, match="too short"):
        load_image(b"MZ")
    with pytest.raises(NotPE, match="not a PE file"):
        load_image(b"MZ" + b"\0" * 200)
