"""What verify reports: one :class:`Finding` per residual identifier, never the value itself.

A finding names where the problem is (output file, attribute path) and what kind of value
leaked, so the report can be shared and logged without becoming a leak of its own. Input
paths are identifying too (real exports are laid out as ``Family_Given_MRN/...``): a
finding about an input names its output, its ledger row (``ledger part-000003.parquet:12``)
or its place in the sorted input list (``input #17``); the input path itself is kept apart
(:attr:`Finding.input_path`) and printed only when asked (``deid verify --show-input-paths``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One residual identifier (or one broken invariant) in the output set."""

    output: str  # output file (relative path), ledger row(s) or "input #N": never an input path
    path: str  # attribute path, "preamble", "file-meta", "raw-bytes", "output-path", "ledger"...
    kind: str  # "patient-name", "date", "uid", ... or an invariant such as "missing-record"
    #: The input the finding is about, when there is one; shown only on request.
    input_path: str = field(default="", compare=False)

    def line(self, show_input_paths: bool = False) -> str:
        """The one-line form the CLI prints: ``output: path: kind`` (with the input path in
        brackets after the output when ``show_input_paths``)."""
        where = self.output
        if show_input_paths and self.input_path:
            where = f"{where} [input {self.input_path}]"
        return f"{where}: {self.path}: {self.kind}"

    def as_tuple(self) -> tuple[str, str, str, str]:
        """What a verify task sends back to the client."""
        return (self.output, self.path, self.kind, self.input_path)


def ledger_row(part: str, row: int) -> str:
    """A ledger row as findings name it: the part's file name and the row's index in it."""
    return f"{part}:{row}"


def input_number(position: int) -> str:
    """An input as findings name it without its path: its 1-based place in the sorted list."""
    return f"input #{position + 1}"


#: How many findings a report keeps in memory; the counts always cover all of them.
MAX_KEPT_FINDINGS = 10_000


@dataclass
class VerifyReport:
    """Counts for the whole run plus the first :data:`MAX_KEPT_FINDINGS` findings."""

    inputs: int = 0
    ledger_records: int = 0
    outputs_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    finding_count: int = 0
    by_kind: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        self.finding_count += 1
        self.by_kind[finding.kind] += 1
        if len(self.findings) < MAX_KEPT_FINDINGS:
            self.findings.append(finding)

    @property
    def clean(self) -> bool:
        return self.finding_count == 0

    def summary_lines(self) -> list[str]:
        lines = [
            f"inputs: {self.inputs}, ledger records: {self.ledger_records}, "
            f"outputs checked: {self.outputs_checked}",
            "statuses: "
            + (", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())) or "none"),
        ]
        if self.clean:
            lines.append("findings: 0 (clean)")
        else:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.by_kind.items()))
            lines.append(f"findings: {self.finding_count} ({kinds})")
        return lines
