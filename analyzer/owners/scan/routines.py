"""Pool routines whose tag argument the scan reads, and where that argument sits.

Positions follow the documented prototypes (wdm.h, ndis.h, fltkernel.h,
wdfmemory.h).  ``arg`` is the 1-based parameter number, which on x64 picks
rcx/rdx/r8/r9 or the stack slot above the 32-byte home area; ``x86_slot`` is the
0-based dword slot on the x86 stack, which differs from ``arg - 1`` when an
earlier parameter is 64-bit (ExAllocatePool2's POOL_FLAGS).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Routine:
    name: str
    arg: int
    x86_slot: int
    frees: bool = False


_TABLE: tuple[Routine, ...] = (
    # ntoskrnl allocators: (PoolType or Flags, NumberOfBytes, Tag, ...)
    Routine("ExAllocatePoolWithTag", 3, 2),
    Routine("ExAllocatePoolWithQuotaTag", 3, 2),
    Routine("ExAllocatePoolWithTagPriority", 3, 2),
    Routine("ExAllocatePool2", 3, 3),  # POOL_FLAGS is a ULONG64
    Routine("ExAllocatePool3", 3, 3),
    # wdm.h inline wrappers; they only show up as imports when a driver exports its own copy.
    Routine("ExAllocatePoolZero", 3, 2),
    Routine("ExAllocatePoolQuotaZero", 3, 2),
    Routine("ExAllocatePoolPriorityZero", 3, 2),
    Routine("ExAllocatePoolUninitialized", 3, 2),
    Routine("ExAllocatePoolQuotaUninitialized", 3, 2),
    Routine("ExAllocatePoolPriorityUninitialized", 3, 2),
    Routine("ExAllocateCacheAwareRundownProtection", 2, 1),
    # Frees: (P, Tag, ...)
    Routine("ExFreePoolWithTag", 2, 1, frees=True),
    Routine("ExFreePool2", 2, 1, frees=True),
    # Lookaside lists allocate their entries with the tag given here.
    Routine("ExInitializeNPagedLookasideList", 6, 5),
    Routine("ExInitializePagedLookasideList", 6, 5),
    Routine("ExInitializeLookasideListEx", 7, 6),
    # NDIS: (NdisHandle or VirtualAddress, Length, Tag, ...)
    Routine("NdisAllocateMemoryWithTag", 3, 2),
    Routine("NdisAllocateMemoryWithTagPriority", 3, 2),
    Routine("NdisFreeMemoryWithTagPriority", 3, 2, frees=True),
    # Filter manager: (Instance, PoolType, NumberOfBytes, Tag) and (Instance, Buffer, Tag)
    Routine("FltAllocatePoolAlignedWithTag", 4, 3),
    Routine("FltFreePoolAlignedWithTag", 3, 2, frees=True),
    # NDIS: (DriverHandle, Tag, Size)
    Routine("NdisAllocateGenericObject", 2, 1),
    # NDIS: (NdisHandle, OidRequest, PoolTag, CloneRequest)
    Routine("NdisAllocateCloneOidRequest", 3, 2),
    # Io: (RemoveLock, AllocateTag, MaxLockedMinutes, HighWatermark, RemlockSize)
    Routine("IoInitializeRemoveLockEx", 2, 1),
    # KMDF by name (a driver exporting its own copy): (Attributes, PoolType, PoolTag, ...).
    # The usual KMDF call goes through the function table: see WDF_TABLE.
    Routine("WdfMemoryCreate", 3, 2),
)

ROUTINES: dict[str, Routine] = {r.name: r for r in _TABLE}

#: KMDF routines that take a pool tag, by index in the framework's function table
#: (WDFFUNCENUM; the table only ever grows, so indices hold across KMDF 1.x).  Called as
#: ``WdfFunctions[index](WdfDriverGlobals, ...)``: the globals pointer is argument 1.
WDF_TABLE: dict[int, Routine] = {
    # WdfMemoryCreate(Globals, Attributes, PoolType, PoolTag, BufferSize, Memory, Buffer)
    192: Routine("WdfMemoryCreate", 4, 3),
    # WdfLookasideListCreate(Globals, LookasideAttributes, BufferSize, PoolType, MemoryAttributes, PoolTag, Lookaside)
    198: Routine("WdfLookasideListCreate", 6, 5),
}

#: x64 integer argument registers, in order.
X64_ARG_REGS = ("rcx", "rdx", "r8", "r9")
