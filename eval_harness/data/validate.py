"""`data validate`: list every problem of a COde folder, one per line, and keep going."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from eval_harness.data.code_csv import CSV_NAME, parse_row, read_csv_rows, required_columns
from eval_harness.data.images import DEFAULT_MAX_PIXELS, open_image
from eval_harness.errors import DataError, Problem
from eval_harness.labels.anomaly_map import AnomalyMap, load_anomaly_map


def validate_folder(folder: Path | str, *, language: str = "en",
                    anomaly_map: AnomalyMap | None = None, check_images: bool = True,
                    max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Problem]:
    """Every problem of the folder, in file order; an empty list means it loads cleanly."""
    folder = Path(folder)
    csv_path = folder / CSV_NAME
    if not folder.is_dir():
        return [Problem(str(folder), "dataset folder does not exist",
                        fix="unzip COde-Dataset.zip and pass the folder it creates")]
    if not csv_path.is_file():
        return [Problem(str(csv_path), f"{CSV_NAME} is missing",
                        fix="pass the folder that holds complete_dataset.csv and Images/")]
    amap = anomaly_map or load_anomaly_map()
    problems: list[Problem] = []
    try:
        header, rows = read_csv_rows(csv_path, problems)
    except DataError as err:  # malformed quoting: nothing after it can be trusted
        return problems + err.problems
    _locate_lines(problems, rows)
    missing = [c for c in required_columns(language) if c not in header]
    if missing:
        problems.append(Problem(str(csv_path), f"missing columns: {', '.join(missing)}", line=1,
                                fix="use the COde release's complete_dataset.csv header"))
        return problems
    ids = Counter((row.values.get("checkup_id") or "").strip() for row in rows)
    for row in rows:
        checkup, row_problems = parse_row(row, csv_file=str(csv_path), language=language,
                                          anomaly_map=amap, image_root=folder)
        problems.extend(row_problems)
        cid = (row.values.get("checkup_id") or "").strip()
        if ids[cid] > 1:
            problems.append(Problem(str(csv_path), f"duplicate checkup_id ({ids[cid]} rows)",
                                    line=row.line, checkup_id=cid, fix="ids must be unique"))
        if checkup is None:
            continue
        if checkup.primary is None:
            problems.append(Problem(
                str(csv_path), f"no class: anomalies {list(checkup.anomalies)} map to none of "
                "the six classes", line=row.line, checkup_id=cid,
                fix=f"add them to the label map ({amap.id}) or drop the row"))
        if check_images:
            for path in checkup.photograph_paths + checkup.radiograph_paths:
                try:
                    open_image(path, max_pixels=max_pixels, checkup_id=cid).close()
                except DataError as err:
                    problems.extend(err.problems)
    return problems


def _locate_lines(problems: list[Problem], rows: list) -> None:
    """Attach the checkup id of the row that holds each line-only problem."""
    starts = [(r.line, r.values.get("checkup_id")) for r in rows]
    for i, p in enumerate(problems):
        if p.line is None or p.checkup_id:
            continue
        owner = [cid for line, cid in starts if line <= p.line]
        if owner and owner[-1]:
            problems[i] = Problem(p.file, p.message, line=p.line, checkup_id=owner[-1].strip(),
                                  fix=p.fix)

