"""Clinical accuracy at the level a clinician reads: fine-grained diagnoses and ICD-10 codes.

The six-class metrics (:mod:`clinical`) ask whether a report affirms the benchmark class;
code-v1 files Angle Class II and Class III under one class, so writing the opposite
malocclusion still counts as right there. These metrics compare what the *Diagnosis* of a
generated report affirms with what the reference's Diagnosis affirms: the fine-grained anomalies
of the label map and the ICD-10 codes (full code, and the three-character category), read by
:mod:`eval_harness.labels.findings`.

Where a Diagnosis is read, declared per report (``DiagnosisRead.source``):

- ``diagnosis``: the Diagnosis section(s), when one has text;
- ``preliminary_diagnosis``: else the Patient Record's diagnosis line ("Preliminary
  Diagnosis: ...", or "Diagnosis: ..." inside the record, as COde's own records write it),
  with an "ICD-10 code: ..." line right after it;
- ``none``: else nothing (the report affirms no diagnosis).

Affirmed means status "present" (or "uncertain" with ``uncertain_positive``); negated and
hypothetical mentions are not diagnoses. Every per-sample value keeps its (tp, fp, fn) counts,
so CIs and paired tests recompute each metric from resampled sums (:mod:`counts`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np

from eval_harness.labels.findings import find_codes, find_findings, findings_id
from eval_harness.labels.report_labeler import section_spans
from eval_harness.metrics import counts
from eval_harness.metrics.base import MetricResult

SOURCES = ("diagnosis", "preliminary_diagnosis", "none")
# The Patient Record's diagnosis label; the body runs to the end of its line.
_DIAGNOSIS_LABEL = {
    "en": re.compile(r"(?<![A-Za-z])(?:(?:preliminary|initial|provisional|working|clinical)"
                     r"\s+)?diagnos[ie]s(?![A-Za-z])[\s*_]*[:：][\s*_]*", re.IGNORECASE),
    "cn": re.compile(r"(?:初步|临床)?诊断[\s*_]*[:：][\s*_]*"),
}
# A line right after it that gives the codes ("*   **ICD-10 Code:** K07.31").
_ICD_LINE = re.compile(r"\n[ \t]*(?:[-*•>]\s*)*[*_]*\s*icd-?10[^\n:：]{0,24}[:：][^\n]*",
                       re.IGNORECASE)
TOP_CONFUSIONS = 10


@dataclass(frozen=True)
class DiagnosisRead:
    """What one report's diagnosis affirms, and where it was read."""

    source: str  # one of SOURCES
    segments: tuple[tuple[int, int], ...]  # character spans read, in the report
    findings: frozenset[str]  # affirmed fine-grained anomalies (the map's English names)
    codes: frozenset[str]  # affirmed ICD-10 codes, normalised

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(code[:3] for code in self.codes)


def _has_text(s: str) -> bool:
    return any(ch.isalnum() for ch in s)


def diagnosis_segments(text: str, language: str = "en") -> tuple[str, tuple[tuple[int, int], ...]]:
    """(source, spans) of the diagnosis to read in a report; see the module docstring."""
    spans = section_spans(text, language)
    diagnosis = tuple(s for s in spans.get("diagnosis", []) if _has_text(text[s[0]:s[1]]))
    if diagnosis:
        return "diagnosis", diagnosis
    label = _DIAGNOSIS_LABEL["cn" if language in ("cn", "zh") else "en"]
    for start, end in spans.get("patient_record", []):
        m = label.search(text, start, end)
        if m is None:
            continue
        stop = text.find("\n", m.end(), end)
        stop = end if stop < 0 else stop
        if (codes := _ICD_LINE.match(text, stop, end)) is not None:
            stop = codes.end()
        if _has_text(text[m.end():stop]):
            return "preliminary_diagnosis", ((m.end(), stop),)
    return "none", ()


@lru_cache(maxsize=1 << 15)
def read_diagnosis(text: str, language: str = "en",
                   uncertain_positive: bool = False) -> DiagnosisRead:
    """The affirmed findings and codes of a report's diagnosis. Cached by text: the
    reference reports are read once per process, whatever number of runs is scored."""
    source, segments = diagnosis_segments(text, language)
    affirmed = {"present", "uncertain"} if uncertain_positive else {"present"}
    findings: set[str] = set()
    codes: set[str] = set()
    for start, end in segments:  # only the segment is scanned: a fraction of the report
        part = text[start:end]
        findings.update(f.anomaly for f in find_findings(part, language)
                        if f.status in affirmed)
        codes.update(c.code for c in find_codes(part, language=language)
                     if c.status in affirmed)
    return DiagnosisRead(source, segments, frozenset(findings), frozenset(codes))


# ------------------------------------------------------------------------------ metrics

FINDING_METRICS = ("diagnosis_f1_micro", "diagnosis_f1_macro")
CODE_METRICS = tuple(f"icd{level}_{m}" for level in ("", "_category")
                     for m in ("precision", "recall", "f1"))
SECTION_METRIC = "diagnosis_section_rate"
METRICS = FINDING_METRICS + CODE_METRICS + (SECTION_METRIC,)


@dataclass
class DiagnosisAgreement:
    """Every diagnosis metric with the per-sample data its CIs need (RadEval's shape:
    aggregate, per-sample values, details), plus the tables a board shows."""

    results: dict[str, MetricResult]
    # metric -> (per-sample data, statistic of summed rows, or None for a mean)
    data: dict[str, tuple[np.ndarray, Any]]
    samples: list[dict[str, Any]]  # per sample: source and tp/fp/fn of findings and codes
    tables: dict[str, Any]


def _signature(language: str, uncertain_positive: bool, average: str) -> str:
    return (f"code-bench-diagnosis:{findings_id()}|lang:{language}|"
            f"scope:diagnosis-else-preliminary|uncertain:"
            f"{'positive' if uncertain_positive else 'negative'}|{average}")


_DEFINITIONS = {
    "diagnosis_f1_micro": "F1 of the fine-grained anomalies the generated Diagnosis affirms "
                          "against those of the reference Diagnosis, pooled over all reports.",
    "diagnosis_f1_macro": "Mean over the fine-grained anomalies the reference Diagnoses affirm "
                          "of their F1 between generated and reference Diagnosis.",
    "icd_precision": "Share of the ICD-10 codes affirmed in generated Diagnoses that the "
                     "reference Diagnosis also gives (full code, national extension included).",
    "icd_recall": "Share of the reference Diagnoses' ICD-10 codes that the generated Diagnosis "
                  "also gives (full code).",
    "icd_f1": "F1 of ICD-10 codes in the Diagnosis, generated against reference (full code).",
    "icd_category_precision": "As icd_precision at the three-character category (K07, K04).",
    "icd_category_recall": "As icd_recall at the three-character category (K07, K04).",
    "icd_category_f1": "As icd_f1 at the three-character category (K07, K04).",
    "diagnosis_section_rate": "Share of generated reports with a Diagnosis section that has "
                              "text (the others are read from the Patient Record's diagnosis "
                              "line, else affirm nothing).",
}


def _tp_fp_fn(ref: frozenset[str], gen: frozenset[str]) -> dict[str, list[str]]:
    return {"tp": sorted(ref & gen), "fp": sorted(gen - ref), "fn": sorted(ref - gen)}


def diagnosis_agreement(generated: Sequence[str | None], references: Sequence[str],
                        ids: Sequence[str], language: str = "en",
                        uncertain_positive: bool = False) -> DiagnosisAgreement:
    """Fine-grained diagnosis F1 (micro, macro), ICD-10 P/R/F1 (full code and category),
    the share of reports with a Diagnosis section, confusions and per-anomaly results.
    A failed generation (None or "") is read as an empty report: it affirms nothing."""
    if not len(generated) == len(references) == len(ids):
        raise ValueError(f"inputs differ in length: {len(generated)} generated, "
                         f"{len(references)} references, {len(ids)} ids")
    ref_reads = [read_diagnosis(r, language, uncertain_positive) for r in references]
    gen_reads = [read_diagnosis(g or "", language, uncertain_positive) for g in generated]
    samples = [{"source": g.source, "findings": _tp_fp_fn(r.findings, g.findings),
                "codes": _tp_fp_fn(r.codes, g.codes)}
               for r, g in zip(ref_reads, gen_reads, strict=True)]
    arrays = sample_arrays(samples)
    data = statistics_of(arrays)
    results: dict[str, MetricResult] = {}
    for name in METRICS:
        values, statistic = data[name]
        average = ("mean" if statistic is None else
                   "average:macro|labels:reference|zero_division:nan-excluded"
                   if name.endswith("macro")
                   else "average:micro|zero_division:0")
        value = float(values.mean()) if statistic is None else float(statistic(values.sum(0)))
        results[name] = MetricResult(
            name, None if np.isnan(value) else value,
            _signature(language, uncertain_positive, average), _DEFINITIONS[name],
            per_sample=None, details={"n": len(samples)},
            skipped=None if not np.isnan(value) else "no anomaly is positive on either side")
    sources = Counter(s["source"] for s in samples)
    tables = {
        "diagnosis_source": {
            "generated": {s: sources.get(s, 0) for s in SOURCES},
            "references": {s: sum(r.source == s for r in ref_reads) for s in SOURCES},
            "without_diagnosis_section": [i for i, s in zip(ids, samples, strict=True)
                                          if s["source"] != "diagnosis"],
        },
        "confusions": {"findings": confusions(samples, ids, "findings"),
                       "codes": confusions(samples, ids, "codes")},
        "per_anomaly": per_label(arrays["labels"], arrays["findings"].sum(0)),
    }
    return DiagnosisAgreement(results, data, samples, tables)


def sample_arrays(samples: Sequence[dict[str, Any]],
                  labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Per-sample (tp, fp, fn) arrays rebuilt from per-sample records (``samples`` of
    diagnosis_agreement, or the "diagnosis" field of samples.jsonl): findings per anomaly
    (columns in `labels` order; default every anomaly named), codes and categories pooled."""
    if labels is None:
        labels = sorted({x for s in samples for k in ("tp", "fp", "fn")
                         for x in s["findings"][k]})
    index = {a: k for k, a in enumerate(labels)}
    findings = np.zeros((len(samples), 3 * len(labels)))
    codes, categories = np.zeros((len(samples), 3)), np.zeros((len(samples), 3))
    section = np.zeros(len(samples))
    for i, s in enumerate(samples):
        for col, kind in enumerate(("tp", "fp", "fn")):
            for anomaly in s["findings"][kind]:
                findings[i, 3 * index[anomaly] + col] = 1
            codes[i, col] = len(s["codes"][kind])
        ref = {c[:3] for c in s["codes"]["tp"] + s["codes"]["fn"]}
        gen = {c[:3] for c in s["codes"]["tp"] + s["codes"]["fp"]}
        categories[i] = (len(ref & gen), len(gen - ref), len(ref - gen))
        section[i] = s["source"] == "diagnosis"
    return {"labels": list(labels), "findings": findings, "codes": codes,
            "categories": categories, "section": section}


def statistics_of(arrays: dict[str, Any]) -> dict[str, tuple[np.ndarray, Any]]:
    """metric -> (per-sample data, statistic of its column sums; None for a mean)."""
    n, k = len(arrays["section"]), len(arrays["labels"])
    per_label_counts = arrays["findings"].reshape(n, k, 3)
    # Macro averages over the anomalies the references diagnose (sklearn's `labels=`): an
    # anomaly only a generated report names counts against micro precision, but a rare one
    # in the macro mean would vanish from most bootstrap resamples and push the CI above
    # the point value.
    supported = per_label_counts[:, :, [0, 2]].sum(axis=(0, 2)) > 0
    # No anomaly at all: one all-zero column gives micro 0 and macro undefined.
    findings = arrays["findings"] if k else np.zeros((n, 3))
    macro = per_label_counts[:, supported, :].reshape(n, -1) if supported.any() \
        else np.zeros((n, 3))
    out: dict[str, tuple[np.ndarray, Any]] = {
        "diagnosis_f1_micro": (findings, partial(counts.micro_f1, k=max(k, 1))),
        "diagnosis_f1_macro": (macro, partial(counts.macro_f1, k=max(int(supported.sum()), 1))),
    }
    for level, key in (("", "codes"), ("_category", "categories")):
        for metric, fn in (("precision", counts.micro_precision),
                           ("recall", counts.micro_recall), ("f1", counts.micro_f1)):
            out[f"icd{level}_{metric}"] = (arrays[key], fn)
    out[SECTION_METRIC] = (arrays["section"], None)
    return out


def per_label(labels: Sequence[str], sums: np.ndarray) -> list[dict[str, Any]]:
    """Per-anomaly support, predictions, precision, recall and F1, most frequent first."""
    rows = []
    for k, label in enumerate(labels):
        tp, fp, fn = (float(x) for x in sums[3 * k:3 * k + 3])
        rows.append({"anomaly": label, "support": int(tp + fn), "predicted": int(tp + fp),
                     "precision": counts.micro_precision([tp, fp, fn]),
                     "recall": counts.micro_recall([tp, fp, fn]),
                     "f1": counts.micro_f1([tp, fp, fn])})
    return sorted(rows, key=lambda r: (-r["support"], -r["predicted"], r["anomaly"]))


def confusions(samples: Sequence[dict[str, Any]], ids: Sequence[str], kind: str,
               top: int = TOP_CONFUSIONS) -> dict[str, list[dict[str, Any]]]:
    """The most frequent errors of a run, each with its count of reports and two ids.

    ``substituted``: a reference finding (or code) the report misses, paired with each one it
    gives instead in the same report (reference -> generated); ``missed``: misses in
    reports that give nothing instead; ``added``: extras in reports that miss nothing."""
    tallies: dict[str, Counter[tuple[str | None, str | None]]] = {
        "substituted": Counter(), "missed": Counter(), "added": Counter()}
    examples: dict[tuple[str | None, str | None], list[str]] = {}
    for sample_id, s in zip(ids, samples, strict=True):
        missed, extra = s[kind]["fn"], s[kind]["fp"]
        if missed and extra:
            pairs, table = [(m, e) for m in missed for e in extra], "substituted"
        elif missed:
            pairs, table = [(m, None) for m in missed], "missed"
        else:
            pairs, table = [(None, e) for e in extra], "added"
        for pair in pairs:
            tallies[table][pair] += 1
            if len(got := examples.setdefault(pair, [])) < 2:
                got.append(sample_id)
    return {table: [{"reference": ref, "generated": gen, "count": n,
                     "examples": examples[(ref, gen)]}
                    for (ref, gen), n in sorted(tally.items(),
                                                key=lambda x: (-x[1], str(x[0])))[:top]]
            for table, tally in tallies.items()}
