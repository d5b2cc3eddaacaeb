"""The anomaly map and the single-label priority rule on hand-written rows."""

from __future__ import annotations

import csv

import pytest

from eval_harness.errors import DataError
from eval_harness.labels.anomaly_map import load_anomaly_map, parse_anomaly_map
from eval_harness.labels.classes import CLASSES, primary_class
from tests.conftest import require_shared


@pytest.mark.parametrize(("anomalies", "primary", "classes"), [
    (["Dental Caries"], "Dental Caries", ("Dental Caries",)),
    (["Dental Caries", "Pulp Necrosis"], "Pulpitis", ("Dental Caries", "Pulpitis")),
    (["Dental Crowding", "Calculus"], "Gingivitis", ("Gingivitis", "Class III Malocclusion")),
    (["Tooth Wear", "Kennedy Class I Edentulism"], "Tooth Loss",
     ("Tooth Loss", "Tooth Structure Loss")),
    (["Open Bite", "Wedge-Shaped Defect"], "Tooth Structure Loss",
     ("Class III Malocclusion", "Tooth Structure Loss")),
    (["Deep Overbite"], "Class III Malocclusion", ("Class III Malocclusion",)),
    (["Hiccups"], None, ()),  # unmapped anomalies are ignored
    ([" dental caries ", "Hiccups"], "Dental Caries", ("Dental Caries",)),  # case, spaces
])
def test_priority_rule_and_class_set(anomalies, primary, classes) -> None:
    amap = load_anomaly_map()
    assert amap.primary_of(anomalies) == primary
    assert amap.classes_of(anomalies) == classes


def test_priority_over_all_classes() -> None:
    assert primary_class(CLASSES) == "Pulpitis"
    assert primary_class([]) is None
    with pytest.raises(ValueError, match="not a COde class"):
        primary_class(["Halitosis"])


def test_map_covers_the_published_table() -> None:
    peer = require_shared()
    amap = load_anomaly_map()
    with (peer / "anomaly_to_class.csv").open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(amap.to_class) == 117
    for row in table:
        assert amap.to_class[row["anomaly_en"].casefold()] == row["class"], row


def test_map_identity_changes_with_content() -> None:
    amap = load_anomaly_map()
    assert amap.id.startswith("code-v1+") and len(amap.sha256) == 64
    assert all(name for name in amap.names_cn)


def test_bad_map_names_line() -> None:
    raw = ("anomaly_en,anomaly_cn,class,rationale\n"
           "Caries,龋,Dental Caries,ok\nFoo,,Halitosis,why\n").encode()
    with pytest.raises(DataError, match="line 3: unknown class 'Halitosis'"):
        parse_anomaly_map(raw, "test", "test.csv")
