"""``poolscope windbg-script``: where the pykd helper is installed and how to load it in WinDbg."""

from __future__ import annotations

import click


def instructions(path: str) -> str:
    """The text ``windbg-script`` prints (kept apart so docs and tests can check it)."""
    return (
        f"{path}\n"
        "\n"
        "In WinDbg or kd (live kernel session or dump), with pykd installed:\n"
        "  .load pykd\n"
        f"  !py {path} findtag Abcd\n"
        "      which loaded drivers contain the tag: module, image path, hits\n"
        f"  !py {path} snapshot --out C:\\cases\\pool.txt\n"
        "      !poolused 2 and 4 (8 with session pools) and !vm, written as a transcript\n"
        f"  !py {path} snapshot --count 6 --every 600 --out C:\\cases\\pool_hour.txt\n"
        "      on a live target (lkd): one sample every 10 minutes for an hour\n"
        "Then, anywhere: poolscope report FILE, poolscope trend FILE or poolscope triage FILE\n"
    )


@click.command("windbg-script")
@click.option("--path-only", is_flag=True, help="Print only the helper's path (for scripts).")
def windbg_script_command(path_only: bool) -> None:
    """Show where the WinDbg (pykd) helper is installed and how to load it."""
    from analyzer.live.windbg import HELPER_PATH

    click.echo(str(HELPER_PATH) if path_only else instructions(str(HELPER_PATH)), nl=path_only)
