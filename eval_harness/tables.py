"""Plain-text tables of a results document for the terminal."""

from __future__ import annotations

from eval_harness.results import ResultsDocument


def _cell(entry: dict) -> str:
    if entry.get("value") is None:
        return "skipped"
    text = f"{entry['value']:.4f}"
    if "ci" in entry:
        low, high = entry["ci"]
        text += f" [{low:.4f}, {high:.4f}]"
    return text


def _diagnosis_lines(tables: dict, top: int = 3) -> list[str]:
    """Where the reports' diagnoses were read, and the commonest substitutions."""
    if "diagnosis_source" not in tables:
        return []
    read = tables["diagnosis_source"]["generated"]
    lines = [f"diagnosis read from: Diagnosis section {read['diagnosis']}, Patient Record "
             f"line {read['preliminary_diagnosis']} (fallback), nothing {read['none']}"]
    for kind in ("findings", "codes"):
        for row in tables["confusions"][kind]["substituted"][:top]:
            lines.append(f"confusion ({kind}): {row['reference']} -> {row['generated']} "
                         f"x{row['count']} (e.g. {', '.join(row['examples'])})")
    return lines


def format_results(document: ResultsDocument) -> str:
    d = document.dataset
    lines = [f"model: {document.model.get('name')} ({document.model.get('backend')})",
             f"data: {d.name} / {d.split} / n={d.size} / fingerprint {d.fingerprint[:12]}"
             + (f" / labels {d.label_map}" if d.label_map else "")]
    for task, result in document.tasks.items():
        lines.append(f"\n{task}: n={result.n}, failed={result.n_failed}, "
                     f"unparseable={result.n_unparseable}; primary metric "
                     f"{result.primary_metric}")
        lines.append(f"  {'metric':<24}{'all samples (95% CI)':<34}answered only")
        for name, entry in result.metrics.items():
            answered = result.answered.get(name)
            lines.append(f"  {name:<24}{_cell(entry):<34}"
                         f"{_cell(answered) if answered else '-'}")
        reasons = dict.fromkeys(f"{name} skipped: {entry['skipped']}"
                                for name, entry in result.metrics.items()
                                if entry.get("value") is None and entry.get("skipped"))
        for line in [*reasons, *_diagnosis_lines(result.tables),
                     *(f"note: {note}" for note in result.notes)]:
            lines.append(f"  {line}")
    if document.status != "ok":
        failures = document.failures
        over = {t: r for t, r in failures["rate"].items() if r > failures["threshold"]}
        lines.append(f"\nSTATUS: {document.status.upper()} (failed or empty answers: "
                     + ", ".join(f"{t} {r:.1%}" for t, r in over.items())
                     + f", above the threshold {failures['threshold']:.0%})")
    return "\n".join(lines)
