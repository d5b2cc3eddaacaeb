"""The one error type for bad input: it names the file, the place and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    file: str
    message: str
    line: int | None = None
    checkup_id: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.checkup_id:
            where += f", checkup {self.checkup_id}"
        text = f"{where}: {self.message}"
        if self.fix:
            text += f" (fix: {self.fix})"
        return text


class DataError(Exception):
    """Bad input data. Carries every problem found; str() lists them one per line."""

    def __init__(self, problems: Problem | list[Problem]):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, message: str, **where: object) -> DataError:
        return cls(Problem(file=file, message=message, **where))  # type: ignore[arg-type]


class UsageError(Exception):
    """A command was called wrongly (flags that contradict, an output path that is a
    file, an unknown task): one line, exit 2."""
