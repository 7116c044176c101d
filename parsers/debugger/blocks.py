"""Split a debugger log into commands: each prompt line starts one, its output runs to the next prompt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import PROMPT_RE


@dataclass
class CommandBlock:
    """One command and its output; ``line`` is the 1-based line of the prompt (0 for the preamble)."""

    command: str | None
    prompt: str | None
    line: int
    output: list[str] = field(default_factory=list)

    @property
    def first_output_line(self) -> int:
        return self.line + 1 if self.command is not None else 1

    @property
    def name(self) -> str:
        """The command word, lower case (``!poolused``, ``lm``, ``s``, ``!analyze``), or ``""``."""
        if not self.command:
            return ""
        return self.command.split(None, 1)[0].lower()

    @property
    def text(self) -> str:
        return "\n".join(self.output)


def split_commands(lines: Sequence[str]) -> list[CommandBlock]:
    """Cut ``lines`` at every prompt; text before the first prompt is a preamble block (command None)."""
    blocks = [CommandBlock(None, None, 0)]
    for i, line in enumerate(lines, start=1):
        m = PROMPT_RE.match(line)
        if m:
            blocks.append(CommandBlock(m.group("command").strip(), m.group("prompt"), i))
        else:
            blocks[-1].output.append(line)
    if not blocks[0].output or not any(x.strip() for x in blocks[0].output):
        blocks.pop(0)
    return blocks
