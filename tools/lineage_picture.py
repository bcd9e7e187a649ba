"""Draw what a lineage backend shows for ``example_hubspot_import``: run it under ``airflow dags
test`` against the emulator with OpenLineage's file transport, read the events back, and render
their graph (datasets, tasks, column lineage and the quality facets) to docs/lineage-graph.png.

Not part of CI. Needs Debian's chromium (``apt-get install -y chromium``) to turn the SVG into a
PNG. Run inside the project's environment::

    .venv/bin/python tools/lineage_picture.py [--out docs]
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
COUNTERS = {"TOTAL_ROWS": 40, "CREATED_OBJECTS": 32, "UPDATED_OBJECTS": 7, "ERRORS": 1}
PORTAL = "424242"


def run_example(home: Path) -> list[dict[str, Any]]:
    """Run example_hubspot_import once; the OpenLineage events of its tasks' COMPLETE runs."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    from airflow_provider_hubspot_imports.testing import HubSpotEmulator

    (home / "data").mkdir()
    csv = home / "data" / "contacts.csv"
    csv.write_text("email,firstname,lastname\n" + "".join(f"p{n}@example.com,P{n},L{n}\n" for n in range(40)))
    events_file = home / "openlineage.jsonl"
    with HubSpotEmulator() as hubspot:
        hubspot.set_start_lifecycle([{"state": "DONE", "counters": COUNTERS}])
        env |= {
            "AIRFLOW_CONN_HUBSPOT_DEFAULT": hubspot.connection_json(portal_id=PORTAL),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "warehouse-to-crm",
        }
        python = [sys.executable, "-m", "airflow"]
        subprocess.run([*python, "db", "migrate"], env=env, check=True, capture_output=True)
        conf = json.dumps({"csv_path": str(csv)})
        subprocess.run(
            [*python, "dags", "test", "example_hubspot_import", "-c", conf],
            env=env,
            check=True,
            capture_output=True,
        )
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    return [event for event in events if event["eventType"] == "COMPLETE" and event["job"]["name"].count(".")]


# ---- drawing ---------------------------------------------------------------------------------------

BOX_W, ROW_H, GAP = 400, 22, 36


def _label(dataset: dict[str, Any]) -> str:
    return f"{dataset['namespace']}  /  {dataset['name']}"


def _dataset_lines(dataset: dict[str, Any]) -> list[str]:
    facets = {
        **dataset.get("facets", {}),
        **dataset.get("inputFacets", {}),
        **dataset.get("outputFacets", {}),
    }
    lines = []
    if "outputStatistics" in facets:
        lines.append(f"outputStatistics: {facets['outputStatistics']['rowCount']} rows written")
    if "dataQualityMetrics" in facets:
        lines.append(f"dataQualityMetrics: {facets['dataQualityMetrics']['rowCount']} rows read")
    for assertion in facets.get("dataQualityAssertions", {}).get("assertions", []):
        failed = (
            "\u26a0" if assertion.get("severity") == "warn" else "\u2718"
        )  # a warning, or it failed the task
        mark = "\u2714" if assertion["success"] else failed
        lines.append(f"{mark} {assertion['name']}: {assertion.get('actual')} ({assertion.get('expected')})")
    for prop, field in sorted(facets.get("columnLineage", {}).get("fields", {}).items()):
        sources = ", ".join(source["field"] for source in field["inputFields"])
        lines.append(f"column {prop} \u2190 {sources}")
    return lines


def svg(events: list[dict[str, Any]]) -> str:
    """Inputs on the left, tasks in the middle, outputs on the right; an arrow per edge."""
    boxes: dict[tuple[str, str], dict[str, Any]] = {}
    edges: list[tuple[tuple[str, str], tuple[str, str]]] = []
    columns: dict[int, list[tuple[str, str]]] = {0: [], 1: [], 2: []}

    def add(key: tuple[str, str], column: int, title: str, lines: list[str], colour: str) -> None:
        if key in boxes:
            boxes[key]["lines"] += [line for line in lines if line not in boxes[key]["lines"]]
            return
        boxes[key] = {"title": title, "lines": list(lines), "colour": colour}
        columns[column].append(key)

    for event in events:
        job = ("job", event["job"]["name"])
        run = event["run"]["facets"].get("hubspotImport")
        task = event["run"]["facets"].get("airflow", {}).get("task", {})
        after = json.loads(task.get("upstream_task_ids", "[]").replace("'", '"'))
        lines = [f"after {', '.join(sorted(after))}"] if after else []
        if run:
            lines += [f"hubspotImport: import {run['importId']} {run['state']}", f"account {run['account']}"]
        add(job, 1, event["job"]["name"], lines, "#ff7a59" if run else "#f1f3f4")
        for dataset in event["inputs"]:
            key = ("dataset", _label(dataset))
            add(key, 0, _label(dataset), _dataset_lines(dataset), "#e8f0fe")
            edges.append((key, job))
        for dataset in event["outputs"]:
            key = ("dataset", _label(dataset))
            add(key, 2, _label(dataset), _dataset_lines(dataset), "#e6f4ea")
            edges.append((job, key))

    positions: dict[tuple[str, str], tuple[float, float, float]] = {}
    height = 0.0
    for column, keys in columns.items():
        y = 70.0
        for key in keys:
            box_height = ROW_H * (1.6 + len(boxes[key]["lines"]))
            positions[key] = (30 + column * (BOX_W + 110), y, box_height)
            y += box_height + GAP
        height = max(height, y)
    width = 30 + 3 * BOX_W + 2 * 110 + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'font-family="DejaVu Sans, sans-serif" font-size="12">',
        '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto">'
        '<path d="M0,0 L10,4 L0,8 z" fill="#555"/></marker></defs>',
        f'<rect width="{width}" height="{height:.0f}" fill="white"/>',
        '<text x="30" y="32" font-size="16" font-weight="bold">example_hubspot_import, as its '
        "OpenLineage events describe it</text>",
        '<text x="30" y="52" fill="#555">inputs (files)</text>',
        f'<text x="{30 + BOX_W + 110}" y="52" fill="#555">tasks (runs)</text>',
        f'<text x="{30 + 2 * (BOX_W + 110)}" y="52" fill="#555">outputs (HubSpot objects)</text>',
    ]
    for source, target in edges:
        sx, sy, sh = positions[source]
        tx, ty, th = positions[target]
        parts.append(
            f'<line x1="{sx + BOX_W}" y1="{sy + sh / 2}" x2="{tx}" y2="{ty + th / 2}" stroke="#555" '
            f'stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    for key, (x, y, h) in positions.items():
        box = boxes[key]
        parts.append(
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{h}" rx="6" '
            f'fill="{box["colour"]}" stroke="#333"/>'
        )
        parts.append(
            f'<text x="{x + 8}" y="{y + 18}" font-weight="bold">{html.escape(_short(box["title"]))}</text>'
        )
        for index, line in enumerate(box["lines"]):
            parts.append(
                f'<text x="{x + 8}" y="{y + 18 + ROW_H * (index + 1)}">{html.escape(_short(line))}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _short(text: str, limit: int = 62) -> str:
    return text if len(text) <= limit else "\u2026" + text[-(limit - 1) :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lineage-picture-") as tmp:
        events = run_example(Path(tmp))
        drawing = svg(events)
        svg_path = Path(tmp) / "lineage.svg"
        svg_path.write_text(drawing)
        width = drawing.split('width="', 1)[1].split('"', 1)[0]
        height = drawing.split('height="', 1)[1].split('"', 1)[0]
        png = args.out.resolve() / "lineage-graph.png"
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                svg_path.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
