"""What a run of board_sync_job achieved, read back from its Dagster events (for the CLI's table and JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from boardsync_dagster.assets.member_checks import COMPLETE
from boardsync_dagster.dagster_private import SerializableErrorInfo


@dataclass
class RunSummary:
    date: str
    success: bool
    complete: bool
    table_md: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    missing: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    materialized: list[str] = field(default_factory=list)
    ban_model: dict | None = None  # what adaptive pacing learned (estimate, history, bans)

    @classmethod
    def from_result(cls, day: str, result) -> RunSummary:
        summary = cls(date=day, success=result.success, complete=False)
        for event in result.all_events:
            if event.is_step_failure:
                data = event.step_failure_data
                if data.user_failure_data:  # a dg.Failure: its description is written for the user
                    summary.errors.append(
                        one_line(f"{step_name(event.step_key)}: {data.user_failure_data.description}")
                    )
                    summary.absorb(data.user_failure_data.metadata)
                else:
                    summary.errors.append(f"{step_name(event.step_key)}: {unexpected(data.error)}")
            elif event.is_step_materialization and event.asset_key:
                summary.materialized.append(event.asset_key.to_user_string())
                if event.asset_key.path == ["raw", "board_members"]:
                    summary.absorb(event.step_materialization_data.materialization.metadata)
        for evaluation in result.get_asset_check_evaluations():
            summary.checks[f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"] = (
                evaluation.passed
            )
            if evaluation.check_name == COMPLETE:
                summary.complete = evaluation.passed
                missing = evaluation.metadata.get("missing")
                summary.missing = list(missing.value) if missing is not None else []
        summary.complete = summary.complete and summary.success
        return summary

    def absorb(self, metadata: dict) -> None:
        for key, value in metadata.items():
            if key == "result":
                self.table_md = value.value
            elif key == "ban_model":
                self.ban_model = value.value
            elif isinstance(value.value, int | float):
                self.numbers[key] = value.value

    @property
    def terminated(self) -> bool:
        """The run was stopped by a signal (a user's Ctrl-C, a deploy's SIGTERM)."""
        return any(error.endswith(INTERRUPTED) for error in self.errors)

    def status(self) -> str:
        """complete; incomplete (the completeness check ran and found boards missing); failed (the run stopped
        before it could judge the day: quota, vendor, termination, bad config)."""
        if self.complete:
            return "complete"
        return "incomplete" if any(name.endswith(f":{COMPLETE}") for name in self.checks) else "failed"

    def table(self) -> str:
        """The report for stdout; the errors go to stderr (error_lines)."""
        lines = [f"boardsync {self.date}: {self.status()}"]
        if self.table_md:
            lines += ["", self.table_md]
        failed = [name for name, passed in self.checks.items() if not passed]
        if failed:
            lines.append("failed checks: " + ", ".join(failed))
        for board in self.missing[:20]:
            lines.append(f"  missing {board['board_code']} {board['board_name']}: {board['last_error']}")
        return "\n".join(lines)

    def error_lines(self) -> list[str]:
        """One line per failed step: what failed and what to do; the trace is in --verbose's event log."""
        return [f"boardsync sync: error: {e}" for e in self.errors]

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "status": self.status(),
            "complete": self.complete,
            **self.numbers,
            "checks": self.checks,
            "missing": self.missing,
            "errors": self.errors,
            "materialized": self.materialized,
            "ban_model": self.ban_model,
        }


INTERRUPTED = (
    "Interrupted (the run was terminated). The boards checkpointed so far are kept: run again to resume."
)


def one_line(text: str) -> str:
    return " ".join(text.split())


def unexpected(error: SerializableErrorInfo | None) -> str:
    """An exception nobody turned into words: the innermost cause (Dagster wraps it in its own step error) by
    its bare class name, never a module path, and where to see the rest."""
    while error is not None and error.cause is not None:
        error = error.cause
    if error is not None and error.cls_name == "DagsterExecutionInterruptedError":
        return INTERRUPTED
    if error is None:
        return "failed for an unknown reason. Run again with --verbose to see Dagster's event log."
    first = next((line for line in error.message.splitlines() if line.strip()), error.cls_name or "error")
    kind, colon, text = first.partition(": ")
    if colon and "." in kind and " " not in kind:  # "package.module.SomeError: text": keep SomeError
        first = f"{kind.rsplit('.', 1)[1]}: {text}"
    return f"{one_line(first)}. Run again with --verbose for the stack trace."


def step_name(step_key: str) -> str:
    """A step as the user knows it: its asset key (raw/board_list), not Dagster's step key (raw__board_list)."""
    return step_key.replace("__", "/")
