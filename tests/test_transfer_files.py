"""What the transfer writes: each value as HubSpot reads it, RFC 4180 part files within the limits,
and the mapping checked before any query runs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.transfers.csvfiles import CsvPartWriter, FileLimits, encode_rows
from airflow_provider_hubspot_imports.transfers.formatting import row_writer, value_writer
from airflow_provider_hubspot_imports.transfers.mapping import checked_mapping, object_type_id
from airflow_provider_hubspot_imports.transfers.staging import Manifest, Staging
from airflow_provider_hubspot_imports.transfers.storage import staging_root


@pytest.mark.parametrize(
    ("date_format", "date_text", "datetime_text"),
    [
        ("YEAR_MONTH_DAY", "2026-03-04", "2026-03-04 05:06:07"),
        ("MONTH_DAY_YEAR", "03/04/2026", "03/04/2026 05:06:07"),
        ("DAY_MONTH_YEAR", "04/03/2026", "04/03/2026 05:06:07"),
    ],
)
def test_dates_and_datetimes_follow_the_date_format_sent(date_format, date_text, datetime_text):
    write = value_writer(date_format)
    assert write(dt.date(2026, 3, 4)) == date_text
    assert write(dt.datetime(2026, 3, 4, 5, 6, 7)) == datetime_text
    # An aware datetime is written in UTC: 07:06:07 at +02:00 is 05:06:07 UTC.
    aware = dt.datetime(2026, 3, 4, 7, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert write(aware) == datetime_text


def test_values_as_hubspot_reads_them():
    write = value_writer("YEAR_MONTH_DAY")
    assert write(None) == ""
    assert write(True) == "true" and write(False) == "false"
    assert write(42) == "42"
    assert write(Decimal("1.50")) == "1.5"
    assert write(Decimal("1E+3")) == "1000"  # no exponent: HubSpot reads plain numbers
    assert write(1e20) == "100000000000000000000"
    assert write(0.1) == "0.1"
    assert write(Decimal("-0.00")) == "0"
    assert write('Zoë, "the"\nsecond line') == 'Zoë, "the"\nsecond line'
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert write(key) == str(key)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), Decimal("NaN"), b"\x00", memoryview(b"x"), object()]
)
def test_a_value_hubspot_cannot_read_is_refused_naming_the_column(value):
    format_row = row_writer(["email", "score"], "YEAR_MONTH_DAY")
    with pytest.raises(HubSpotInputError, match="Column 'score'"):
        format_row(["a@example.com", value])


def test_rows_are_rfc_4180_utf8_with_crlf():
    rows = [["email", "note"], ["a@example.com", 'Zoë said "hi", then\nleft'], ["b@example.com", ""]]
    data = encode_rows(rows)
    assert data == (b'email,note\r\na@example.com,"Zo\xc3\xab said ""hi"", then\nleft"\r\nb@example.com,\r\n')
    assert list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""))) == rows


def _parts(folder: Path, rows: list[list[str]], limits: FileLimits, batch: int) -> list[tuple[str, int, int]]:
    with CsvPartWriter(staging_root(folder), ["email", "name"], limits) as writer:
        for start in range(0, len(rows), batch):
            writer.write_rows(rows[start : start + batch])
    return writer.files


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_parts_split_at_rows_per_file_whatever_the_batches(tmp_path, batch):
    rows = [[f"p{n}@example.com", f"N{n}"] for n in range(250)]

    files = _parts(tmp_path, rows, FileLimits(rows=100), batch)

    assert [(name, count) for name, count, _ in files] == [
        ("part-00001.csv", 100),
        ("part-00002.csv", 100),
        ("part-00003.csv", 50),
    ]
    read_back = []
    for name, _, size in files:
        data = (tmp_path / name).read_bytes()
        assert len(data) == size
        lines = list(csv.reader(io.StringIO(data.decode(), newline="")))
        assert lines[0] == ["email", "name"]  # every part has the header
        read_back += lines[1:]
    assert read_back == rows  # in order, none lost or doubled


def test_parts_end_before_the_byte_limit(tmp_path):
    rows = [[f"p{n}@example.com", "x" * 50] for n in range(100)]
    row_bytes = len(encode_rows(rows[:1]))
    header_bytes = len(encode_rows([["email", "name"]]))
    limit = header_bytes + 10 * row_bytes + row_bytes // 2  # room for 10 rows and a half

    files = _parts(tmp_path, rows, FileLimits(rows=1000, bytes=limit), 33)

    assert [count for _, count, _ in files] == [10] * 10
    assert all(size <= limit for _, _, size in files)


def test_a_row_larger_than_a_file_may_be_is_refused(tmp_path):
    with pytest.raises(HubSpotInputError, match="more than a part file may hold"):
        _parts(tmp_path, [["a@example.com", "x" * 500]], FileLimits(rows=10, bytes=100), 1)


@pytest.mark.parametrize("rows", [0, -1, 1_048_577, True, 2.5])
def test_rows_per_file_outside_hubspots_limit_is_refused(rows):
    with pytest.raises(HubSpotInputError, match="rows_per_file"):
        FileLimits(rows=rows)


def test_object_types_by_name_or_id():
    assert object_type_id("contacts") == "0-1"
    assert object_type_id("Companies") == "0-2"
    assert object_type_id("0-3") == "0-3"
    assert object_type_id("2-3508482") == "2-3508482"
    with pytest.raises(HubSpotInputError, match="object_type is 'contact'"):
        object_type_id("contact")


def test_mapping_header_and_import_request():
    mapping = checked_mapping("contacts", "upsert", "email", {"mail": "email"}, "DAY_MONTH_YEAR")

    header = mapping.header(["mail", "firstname"])
    request = mapping.import_request("Contacts part 1/2", "part-00001.csv", header)

    assert header == ["email", "firstname"]
    assert request == {
        "name": "Contacts part 1/2",
        "importOperations": {"0-1": "UPSERT"},
        "dateFormat": "DAY_MONTH_YEAR",
        "files": [
            {
                "fileName": "part-00001.csv",
                "fileFormat": "CSV",
                "fileImportPage": {
                    "hasHeader": True,
                    "columnMappings": [
                        {
                            "columnName": "email",
                            "propertyName": "email",
                            "columnObjectTypeId": "0-1",
                            "idColumnType": "HUBSPOT_ALTERNATE_ID",
                        },
                        {"columnName": "firstname", "propertyName": "firstname", "columnObjectTypeId": "0-1"},
                    ],
                },
            }
        ],
    }
    by_id = checked_mapping("0-2", "UPDATE", "hs_object_id", None, "YEAR_MONTH_DAY")
    first = by_id.import_request("x", "f.csv", ["hs_object_id"])["files"][0]["fileImportPage"][
        "columnMappings"
    ][0]
    assert first["idColumnType"] == "HUBSPOT_OBJECT_ID"


@pytest.mark.parametrize(
    ("args", "columns", "message"),
    [
        (("contacts", "MERGE", "email", None, "YEAR_MONTH_DAY"), None, "operation is 'MERGE'"),
        (("contacts", "UPSERT", None, None, "YEAR_MONTH_DAY"), None, "needs id_property"),
        (("contacts", "CREATE", None, None, "ISO"), None, "date_format is 'ISO'"),
        (("contacts", "CREATE", None, ["email"], "YEAR_MONTH_DAY"), None, "properties is a list"),
        (("contacts", "CREATE", None, {"mail": "email"}, "YEAR_MONTH_DAY"), ["email"], "does not return"),
        (("contacts", "CREATE", None, {"a": "email"}, "YEAR_MONTH_DAY"), ["a", "email"], "two columns"),
        (("contacts", "UPSERT", "email", None, "YEAR_MONTH_DAY"), ["mail"], "id_property 'email' is not"),
    ],
)
def test_bad_mappings_are_refused_naming_the_fix(args, columns, message):
    with pytest.raises(HubSpotInputError, match=message):
        checked_mapping(*args).header(columns) if columns is not None else checked_mapping(*args)


def test_a_manifest_cut_short_counts_as_no_staging(tmp_path):
    staging = Staging(staging_root(tmp_path / "s"))
    staging.prepare()
    manifest = staging.stage(
        ["email"], ["email"], lambda writer: writer.write_rows([["a@example.com"]]), FileLimits(rows=10)
    )
    assert staging.manifest() == manifest
    text = manifest.to_json()
    (tmp_path / "s" / "manifest.json").write_text(text[: len(text) // 2])
    assert Manifest.from_json(text[: len(text) // 2]) is None
    assert staging.manifest() is None


def _lf_csv(rows: list[list[str]]) -> bytes:
    """CSV as PostgreSQL's COPY writes it: RFC 4180 quoting, records ended by LF."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 100_000])
@pytest.mark.parametrize(
    "limits", [FileLimits(rows=40), FileLimits(rows=1000, bytes=700)], ids=["rows", "bytes"]
)
def test_copy_output_in_any_chunks_becomes_the_same_parts_as_rows(tmp_path, chunk, limits):
    rows = [
        [f"p{n}@example.com", 'said "hi",\nthen left' if n % 3 == 0 else f"plain {n}", "x,y" if n % 5 else ""]
        for n in range(100)
    ]
    data = _lf_csv(rows)
    by_rows, by_records = tmp_path / "rows", tmp_path / "records"
    by_rows.mkdir()
    by_records.mkdir()
    header = ["email", "note", "tags"]

    with CsvPartWriter(staging_root(by_rows), header, limits) as writer:
        writer.write_rows(rows)
    expected = writer.files
    with CsvPartWriter(staging_root(by_records), header, limits) as writer:
        for start in range(0, len(data), chunk):
            writer.write_csv_records(data[start : start + chunk])
        writer.finish_records()

    assert writer.files == expected and len(expected) > 1
    for name, _, _ in expected:
        assert (by_records / name).read_bytes() == (by_rows / name).read_bytes()


def test_copy_output_ending_inside_a_record_is_refused(tmp_path):
    with CsvPartWriter(staging_root(tmp_path), ["email"], FileLimits()) as writer:
        writer.write_csv_records(b'a@example.com\n"b@exa')
        with pytest.raises(OSError, match="ended inside a record"):
            writer.finish_records()
