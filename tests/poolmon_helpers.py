"""Shared PoolMon text builders for the poolmon, pasted and timestamps tests."""

from __future__ import annotations

from dataclasses import dataclass

from parsers import ParseResult, parse_text

HEADER = (
    " Memory: 8388020K Avail: 3125332K  PageFlts:   412   InRam Krnl: 5124K P:61312K\n"
    " Commit:4411208K Limit:9830400K Peak:5120332K            Pool N:310228K P:402116K\n"
    " System pool information\n"
    " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n"
    "\n"
)

SCREEN = HEADER + (
    " Abcd Nonp     1520331 (  12)    1519870 (  10)      461   147520 (   640)    320\n"
    " Io   Nonp       88120 (   0)      87993 (   0)      127    40640 (     0)    320\n"
    " Dh 2 Paged        731 (   0)        700 (   0)       31     9920 (     0)    320\n"
    " Qrst Paged   10233456( -3)    10233000 (   1)      456   291840 ( -1088)    640\n"
)

#: (tag, pool, allocs, frees, outstanding, bytes) of SCREEN.
SCREEN_ROWS = [
    ("Abcd", "nonpaged", 1520331, 1519870, 461, 147520),
    ("Io  ", "nonpaged", 88120, 87993, 127, 40640),
    ("Dh 2", "paged", 731, 700, 31, 9920),
    ("Qrst", "paged", 10233456, 10233000, 456, 291840),
]


@dataclass(frozen=True)
class GenRow:
    """A row to render in PoolMon's layouts."""

    tag: str
    pool: str
    allocs: int
    frees: int
    bytes_per: int
    changes: tuple[int, int, int] = (0, 0, 0)
    driver: str | None = None

    @property
    def diff(self) -> int:
        return self.allocs - self.frees

    @property
    def nbytes(self) -> int:
        return self.diff * self.bytes_per

    @property
    def per_alloc(self) -> int:
        return self.nbytes // self.diff if self.diff > 0 else 0

    def screen(self, touch: bool = False) -> str:
        ca, cf, cb = self.changes
        typ = "Nonp " if self.pool == "nonpaged" else "Paged"
        sep = "" if touch else " "
        line = (
            f" {self.tag} {typ} {self.allocs:>10}{sep}({ca:>4}) {self.frees:>10}{sep}({cf:>4}) "
            f"{self.diff:>8} {self.nbytes:>9}{sep}({cb:>6}) {self.per_alloc:>6}"
        )
        return line + (f" {self.driver}" if self.driver else "")

    def snapshot(self, wide: bool = True) -> str:
        typ = "Nonp " if self.pool == "nonpaged" else "Paged"
        if wide:
            line = (
                f" {self.tag} {typ} {self.allocs:>18} {self.frees:>18} {self.diff:>17} "
                f"{self.nbytes:>14} {self.per_alloc:>16}"
            )
        else:
            line = (
                f" {self.tag} {typ} {self.allocs:>9} {self.frees:>9} {self.diff:>7} "
                f"{self.nbytes:>9} {self.per_alloc:>6}"
            )
        return line + (f"        {self.driver}" if self.driver else "")

    def key(self) -> tuple[str, str, int, int, int, int]:
        return (self.tag, self.pool, self.allocs, self.frees, self.diff, self.nbytes)


def rows_of(result: ParseResult, index: int = 0) -> list[tuple[str, str, int, int, int, int]]:
    snap = result.snapshots[index]
    return [(r.tag, r.pool, r.allocs, r.frees, r.outstanding, r.bytes) for r in snap.rows]  # type: ignore[misc]


def parse_str(text: str, name: str = "pasted.txt", **kwargs: object) -> ParseResult:
    return parse_text(text, name, **kwargs)  # type: ignore[arg-type]


def messages(result: ParseResult) -> list[str]:
    return [str(w) for w in result.warnings]
