"""Pre-flight's pure core: each check against rows and schemas built here, no I/O."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from airflow_provider_hubspot_imports.core.preflight import Limits, Preflight, values
from airflow_provider_hubspot_imports.core.preflight.duplicates import RepeatTracker
from airflow_provider_hubspot_imports.core.preflight.report import KEPT_PER_KIND
from airflow_provider_hubspot_imports.core.preflight.values import (
    Enumeration,
    accepts,
    ascii_emails_proven,
    date_checker,
    domain_checker,
    email_checker,
    number_checker,
    whole_numbers_or_blank,
)
from airflow_provider_hubspot_imports.errors import HubSpotInputError
from airflow_provider_hubspot_imports.testing.schema import DEFAULT_SCHEMA


def _request(columns, *, operation="UPSERT", date_format=None, object_type="0-1", has_header=True):
    body = {
        "name": "t",
        "importOperations": {object_type: operation},
        "files": [
            {
                "fileName": "f.csv",
                "fileFormat": "CSV",
                "fileImportPage": {
                    "hasHeader": has_header,
                    "columnMappings": [
                        {"columnName": name, "columnObjectTypeId": object_type, "propertyName": prop, **more}
                        for name, prop, more in columns
                    ],
                },
            }
        ],
    }
    if date_format:
        body["dateFormat"] = date_format
    return body


def _run(request, data, *, schema=DEFAULT_SCHEMA, size=100, **options):
    run = Preflight(request, [("f.csv", size)], **options)
    if schema is not None:
        run.use_schema({kind: schema[kind] for kind in run.object_types() if kind in schema}, {})
    run.check_file(run.files_to_read()[0], data)
    return run.finish()


def _kinds(report):
    return [(problem.kind, problem.line, problem.column) for problem in report.errors]


CONTACT = [("Email", "email", {}), ("Stage", "lifecyclestage", {}), ("Born", "date_of_birth", {})]


def test_a_clean_file_passes_and_the_report_is_json():
    report = _run(_request(CONTACT), [["Email", "Stage", "Born"], ["a@example.com", "Lead", "12/31/1990"]])

    assert not report.has_errors and report.errors == [] and report.skipped == []
    assert json.loads(json.dumps(dataclasses.asdict(report)))["files"][0]["rows"] == 1
    data = json.loads(json.dumps(report.to_dict()))
    assert data["files"] == [
        {"file": "f.csv", "bytes": 100, "rows": 1, "columns": 3, "rows_checked": 1, "read_to_end": True}
    ]
    assert data["summary"].startswith("Pre-flight passed: 0 error(s)")


def test_each_cell_gets_hubspots_error_type_and_line():
    report = _run(
        _request([*CONTACT, ("Points", "loyalty_points", {}), ("Opt", "hs_email_optout", {})]),
        [
            ["Email", "Stage", "Born", "Points", "Opt"],
            ["not-an-email", "leed", "31/12/1990", "12,5", "maybe"],
            ["b@example.com", "lead", "02/30/1990", "1e3", "Yes"],
        ],
    )

    assert _kinds(report) == [
        ("INVALID_EMAIL", 2, "Email"),
        ("INVALID_ENUMERATION_OPTION", 2, "Stage"),
        ("COULD_NOT_PARSE_DATE", 2, "Born"),
        ("COULD_NOT_PARSE_NUMBER", 2, "Points"),
        ("FAILED_VALIDATION", 2, "Opt"),
        ("COULD_NOT_PARSE_DATE", 3, "Born"),
    ]
    assert all(problem.hubspot_type and problem.value is None for problem in report.errors)
    assert report.counts["COULD_NOT_PARSE_DATE"] == 2


def test_values_only_when_asked():
    report = _run(_request(CONTACT), [["Email", "Stage", "Born"], ["x", "lead", ""]], include_values=True)

    assert [(p.kind, p.value) for p in report.errors] == [("INVALID_EMAIL", "x")]


@pytest.mark.parametrize(
    ("date_format", "good", "bad"),
    [
        ("MONTH_DAY_YEAR", "12/31/1990", "31/12/1990"),
        ("DAY_MONTH_YEAR", "31.12.1990", "12/31/1990"),
        ("YEAR_MONTH_DAY", "1990-12-31 10:30", "12/31/1990"),
    ],
)
def test_dates_follow_the_requests_date_format(date_format, good, bad):
    report = _run(
        _request([("Born", "date_of_birth", {})], date_format=date_format),
        [["Born"], [good], [bad], ["1700000000000"]],
    )

    assert _kinds(report) == [("COULD_NOT_PARSE_DATE", 3, "Born")]


def test_enumeration_value_label_and_ambiguity():
    options = Enumeration([{"value": "a", "label": "B"}, {"value": "b", "label": "Other"}])
    assert options.verdict("a") is None and options.verdict("Other") is None
    assert options.verdict("b") is None  # an exact value wins
    assert options.verdict("B ") == "AMBIGUOUS_ENUMERATION_OPTION"  # a's label and, ignoring case, b's value
    assert Enumeration([{"value": "x", "label": "Y"}, {"value": "y", "label": "Z"}]).verdict("Y") == (
        "AMBIGUOUS_ENUMERATION_OPTION"
    )
    many = Enumeration(
        [{"value": "email", "label": "Email"}, {"value": "sms", "label": "SMS"}], multiple=True
    )
    assert many.verdict("email;SMS") is None and many.verdict("email;fax") == "INVALID_ENUMERATION_OPTION"


def test_syntax_of_emails_domains_numbers_and_dates():
    assert accepts(email_checker, "first.last+tag@sub.example.co.uk") and accepts(email_checker, " a@b.io ")
    assert not accepts(email_checker, "a@b") and not accepts(email_checker, "a b@c.com")
    assert accepts(domain_checker, "example.com") and accepts(domain_checker, "https://www.example.com/about")
    assert not accepts(domain_checker, "exa mple")
    assert (
        accepts(number_checker, "-1.5e3")
        and not accepts(number_checker, "1,000")
        and not accepts(number_checker, "NaN")
    )
    assert not accepts(date_checker("MONTH_DAY_YEAR"), "13/01/2020")
    assert accepts(date_checker("MONTH_DAY_YEAR"), "2/29/2024")


def test_header_one_column_short_fails_the_import_whole():
    report = _run(_request(CONTACT), [["Email", "Stage"], ["a@example.com", "lead"]])

    (problem,) = [p for p in report.errors if p.line == 1]
    assert problem.kind == "INCORRECT_NUMBER_OF_COLUMNS" and "Born" in problem.message
    assert not problem.hubspot_type


def test_header_names_must_match_exactly_in_order():
    report = _run(_request(CONTACT), [["email", "Stage", "Born"], ["a@example.com", "lead", ""]])

    assert _kinds(report) == [("COLUMN_NAME_MISMATCH", 1, "Email")]


def test_schema_rules_on_columns():
    report = _run(
        _request(
            [
                ("Colour", "favourite_colr", {}),
                ("Visits", "num_associated_deals", {}),
                ("Id", "hs_object_id", {}),
                ("Modified", "lastmodifieddate", {}),
                ("Old", "legacy_score", {}),
            ]
        ),
        [["Colour", "Visits", "Id", "Modified", "Old"]],
        schema={"0-1": [p for p in DEFAULT_SCHEMA["0-1"]]},
    )

    assert [(p.kind, p.column) for p in report.errors] == [
        ("PROPERTY_DEFINITION_NOT_FOUND", "Colour"),
        ("PROPERTY_CALCULATED", "Visits"),
        ("PROPERTY_READ_ONLY", "Modified"),
        ("PROPERTY_ARCHIVED", "Old"),
    ]


def test_repeated_ids_and_unique_values():
    columns = [("Email", "email", {"idColumnType": "HUBSPOT_ALTERNATE_ID"}), ("Customer", "customer_id", {})]
    rows = [["Email", "Customer"], ["a@example.com", "c1"], ["b@example.com", "c1"], ["a@example.com", "c2"]]

    assert _kinds(_run(_request(columns), rows)) == [
        ("DUPLICATE_UNIQUE_PROPERTY_VALUE", 3, "Customer"),
        ("DUPLICATE_ALTERNATE_ID", 4, "Email"),
    ]


def test_repeats_are_found_within_and_across_chunks_and_the_bound_is_reported():
    tracker = RepeatTracker()
    assert tracker.repeats(["a", "b", "", ""]) == []  # blank cells never repeat
    assert tracker.repeats(["c", "a", "c", "d"]) == [1, 2]
    assert tracker.repeats(["e"]) == []

    bounded = RepeatTracker(max_tracked=3)
    assert bounded.repeats(["a", "b"]) == [] and not bounded.full
    assert bounded.repeats(["c", "d"]) == [] and bounded.full
    assert bounded.repeats(["a"]) == [0]  # what was tracked is still checked


def test_a_repeat_after_many_chunks_keeps_its_line():
    rows = [["Email", "Stage", "Born"]] + [[f"p{n}@example.com", "lead", ""] for n in range(5000)]
    rows.append(["p7@example.com", "lead", ""])
    columns = [
        ("Email", "email", {"idColumnType": "HUBSPOT_ALTERNATE_ID"}),
        ("Stage", "lifecyclestage", {}),
        ("Born", "date_of_birth", {}),
    ]

    assert _kinds(_run(_request(columns), rows)) == [("DUPLICATE_ALTERNATE_ID", 5002, "Email")]


def test_create_needs_required_columns_and_values():
    deals = {"0-3": [{"name": n, "type": "string"} for n in ("dealname", "dealstage", "pipeline", "amount")]}
    missing = _run(
        _request([("Name", "dealname", {})], operation="CREATE", object_type="0-3"),
        [["Name"], ["x"]],
        schema=deals,
    )
    assert [p.kind for p in missing.errors] == ["MISSING_REQUIRED_PROPERTY"] * 2
    assert {p.message.split("'")[1] for p in missing.errors} == {"dealstage", "pipeline"}

    columns = [("Name", "dealname", {}), ("Stage", "dealstage", {}), ("Pipeline", "pipeline", {})]
    blank = _run(
        _request(columns, operation="CREATE", object_type="0-3"),
        [["Name", "Stage", "Pipeline"], ["x", " ", "default"]],
        schema=deals,
    )
    assert _kinds(blank) == [("MISSING_REQUIRED_PROPERTY", 2, "Stage")]


def test_association_columns_need_a_key_and_a_common_column():
    columns = [
        ("Email", "email", {}),
        ("Company", "name", {"toColumnObjectTypeId": "0-2"}),
    ]
    report = _run(_request(columns), [["Email", "Company"], ["a@example.com", "Acme"]])

    assert [(p.kind, p.column) for p in report.errors] == [
        ("INVALID_ASSOCIATION_MAPPING", "Company"),  # no foreignKeyType
        ("PROPERTY_DEFINITION_NOT_FOUND", "Company"),  # contacts have no "name"
    ]


def test_request_shape():
    body = _request(CONTACT, operation="MERGE", date_format="DMY")
    report = _run(body, [["Email", "Stage", "Born"]])

    assert [p.kind for p in report.errors] == ["INVALID_IMPORT_REQUEST", "INVALID_IMPORT_REQUEST"]
    with pytest.raises(HubSpotInputError, match="rows is 0"):
        Preflight(body, [("f.csv", 1)], rows=0)
    wrong_name = Preflight(body, [("other.csv", 1)])
    assert [p.kind for p in wrong_name.report.errors if p.kind == "FILE_NAME_MISMATCH"] == [
        "FILE_NAME_MISMATCH"
    ] * 2


def test_limits_rows_bytes_columns_and_cells():
    limits = Limits(rows=3, bytes=50, columns=2, value_chars=5)
    report = _run(
        _request(CONTACT),
        [
            ["Email", "Stage", "Born"],
            ["a@example.com", "lead", ""],
            ["b@e.co", "lead", ""],
            ["c@e.co", "", ""],
        ],
        size=51,
        limits=limits,
    )

    kinds = _kinds(report)
    assert ("FILE_SIZE_LIMIT", None, None) in kinds and ("TOO_MANY_COLUMNS", 1, None) in kinds
    assert ("COLUMN_TOO_LARGE", 2, "Email") in kinds and ("COLUMN_TOO_LARGE", 3, "Email") in kinds
    assert ("FILE_ROW_LIMIT", 4, None) in kinds
    assert report.files[0].rows == 3 and report.files[0].read_to_end


def test_rows_n_checks_the_first_rows_and_says_what_it_skipped():
    rows = [["Email", "Stage", "Born"]] + [["bad", "lead", ""]] * 10
    report = _run(_request(CONTACT), rows, rows=4)

    assert report.counts == {"INVALID_EMAIL": 4}
    assert report.files[0].rows_checked == 4 and not report.files[0].read_to_end
    assert [item.check for item in report.skipped] == ["rows of f.csv after line 5"]


def test_many_problems_are_counted_but_listed_up_to_a_bound():
    rows = [["Email", "Stage", "Born"]] + [["bad", "lead", ""]] * (KEPT_PER_KIND + 50)
    report = _run(_request(CONTACT), rows)

    assert len(report.errors) == KEPT_PER_KIND and report.not_listed == 50
    assert report.counts == {"INVALID_EMAIL": KEPT_PER_KIND + 50}
    assert "150 error(s)" in report.summary()


def test_without_schema_local_checks_run_and_schema_checks_are_skipped():
    run = Preflight(_request([*CONTACT, ("Colour", "favourite_colr", {})]), [("f.csv", 10)])
    run.use_schema({}, {"0-1": "the token may not read the schema of 0-1: grant crm.schemas.contacts.read"})
    run.check_file(run.files_to_read()[0], [["Email", "Stage", "Born", "Colour"], ["x", "nope", "", "blue"]])
    report = run.finish()

    assert [p.kind for p in report.errors] == [
        "INVALID_EMAIL"
    ]  # well-known email; no enumeration, no property check
    assert [(s.check, s.reason) for s in report.skipped] == [
        ("schema checks of 0-1", "the token may not read the schema of 0-1: grant crm.schemas.contacts.read")
    ]


def test_repeats_of_a_bounded_tracker_are_still_found_among_what_it_kept():
    tracker = RepeatTracker(max_tracked=4)
    assert tracker.repeats(["a", "b", "c"]) == []
    assert tracker.repeats(["d", "e", "a", "e"]) == [2, 3] and tracker.full
    assert tracker.repeats(["b", "z"]) == [0]


def test_blank_lines_and_short_rows_keep_every_line_number():
    rows = [
        ["Email", "Stage", "Born"],
        ["a@example.com", "lead", ""],
        [],
        ["b@example.com"],
        ["bad", "lead", ""],
    ]
    report = _run(_request(CONTACT), rows)

    assert _kinds(report) == [("INCORRECT_NUMBER_OF_COLUMNS", 4, None), ("INVALID_EMAIL", 5, "Email")]
    assert report.files[0].rows == 3  # the blank line is no row


def test_an_email_with_any_unicode_space_is_refused_in_a_clean_chunk():
    # The chunk-wide proof and the address pattern agree: a no-break space is a space.
    clean = [f"p{n}@example.com" for n in range(50)]
    assert email_checker(clean) == {}
    assert email_checker([*clean, "first\u00a0last@example.com"]) == {
        "first\u00a0last@example.com": "INVALID_EMAIL"
    }


def test_long_cells_are_found_in_their_column_and_line_among_many_short_ones():
    limits = Limits(value_chars=40)
    rows = [["Email", "Stage", "Born"]] + [[f"p{n}@example.com", "lead", ""] for n in range(30)]
    rows[12][0] = "x" * 41 + "@example.com"
    rows[20][2] = "9" * 41

    kinds = _kinds(_run(_request(CONTACT), rows, limits=limits))
    assert ("COLUMN_TOO_LARGE", 13, "Email") in kinds and ("COLUMN_TOO_LARGE", 21, "Born") in kinds
    assert [kind for kind in kinds if kind[0] == "COLUMN_TOO_LARGE"] == [
        ("COLUMN_TOO_LARGE", 13, "Email"),
        ("COLUMN_TOO_LARGE", 21, "Born"),
    ]


def test_values_accepted_in_earlier_chunks_do_not_hide_a_later_blank_or_bad_cell():
    # Chunks whose values were all accepted before are settled at once; a required column's blank
    # cell and an optional column's bad value in a later chunk are still found on their lines.
    deals = {
        "0-3": [
            {"name": "dealname", "type": "string"},
            {"name": "dealstage", "type": "string"},
            {"name": "pipeline", "type": "string"},
            {"name": "amount", "type": "number"},
        ]
    }
    columns = [
        ("Name", "dealname", {}),
        ("Stage", "dealstage", {}),
        ("Pipeline", "pipeline", {}),
        ("Amount", "amount", {}),
    ]
    rows = [["Name", "Stage", "Pipeline", "Amount"]]
    rows += [[f"deal {n % 3}", "won", "default", "" if n % 2 else str(n % 5)] for n in range(3000)]
    rows[2500][1] = ""  # line 2501: a required value left blank
    rows[2700][3] = "12,5"  # line 2701: not a number

    report = _run(_request(columns, operation="CREATE", object_type="0-3"), rows, schema=deals)
    assert _kinds(report) == [
        ("MISSING_REQUIRED_PROPERTY", 2501, "Stage"),
        ("COULD_NOT_PARSE_NUMBER", 2701, "Amount"),
    ]


# ---- proofs over a whole chunk: where one holds, the full check must accept every value; where it
# does not, the full check runs and names each bad value on its line.

EMAIL_SAMPLES = [
    "a@example.com",
    "first.last+tag@sub.example.co.uk",
    "UPPER@EXAMPLE.COM",
    " a@b.io ",
    "a@b.io ",
    "a@b",
    "a b@c.com",
    "@example.com",
    "a@",
    "a@@example.com",
    "a@b@example.com",
    "example.com",
    "a@exa_mple.com",
    "a@-example.com",
    "a@example-.com",
    "a@example..com",
    "a@.example.com",
    "a@example.com.",
    "a@example.c",
    "a@127.0.0.1",
    "a@" + "b" * 64 + ".com",
    'quo"te@example.com',
    "semi;colon@example.com",
    "tab\t@example.com",
    "a\x1c@example.com",
    "a\nb@example.com",
    "a@example.com\nb@example.com",
    "j\u00f6s\u00e9@example.com",
    "a@ex\u00e4mple.com",
    "first\u00a0last@example.com",
    " ",
]
EMAIL_PATTERN = values.pattern_checker(values._EMAIL, "INVALID_EMAIL")


def test_the_ascii_email_proof_holds_only_where_the_address_pattern_accepts_every_address():
    for sample in EMAIL_SAMPLES:
        for texts in ([sample], ["ok@example.com", sample, "ok2@example.org"]):
            if ascii_emails_proven(texts):
                assert EMAIL_PATTERN(texts) == {}, texts
            assert email_checker(texts) == EMAIL_PATTERN(texts), texts
    # As many "@" and as many lines as addresses, but not one "@" an address.
    for texts in (
        ["x@y.com@z.com", "abc.com"],
        ["abc.com", "x@y.com@z.com"],
        ["a@example.com\nb@example.com", "bad"],
    ):
        assert not ascii_emails_proven(texts)
        assert email_checker(texts) == EMAIL_PATTERN(texts) != {}, texts
    assert ascii_emails_proven([f"p{n}@example-mail.com" for n in range(300)])
    # Random texts of the characters that matter: the proof never holds where the pattern refuses.
    draw = random.Random(21)
    alphabet = 'ab.@-@ \n\t"\u00e9;1_'
    for _ in range(3000):
        texts = ["".join(draw.choices(alphabet, k=draw.randint(1, 9))) + draw.choice(["", ".io", "@b.io"])]
        texts += draw.sample(["ok@example.com", "x.y@b.io", "@b.io"], k=draw.randint(0, 2))
        if ascii_emails_proven(texts):
            assert EMAIL_PATTERN(texts) == {}, texts
        assert email_checker(texts) == EMAIL_PATTERN(texts), texts


def test_the_whole_number_proof_holds_only_for_ascii_digits_and_blanks():
    assert whole_numbers_or_blank(["0", "17", "", "123456789"]) and whole_numbers_or_blank([""])
    for sample in ["-1", "1.5", "1,000", " 1", "1 ", "1\n2", "\u0663", "\u00b2", "1e3", "NaN", "x"]:
        assert not whole_numbers_or_blank(["1", sample, "2"]), sample
    draw = random.Random(21)
    for _ in range(3000):
        texts = ["".join(draw.choices("0123456789 .-\n\u00b2", k=draw.randint(0, 4))) for _ in range(3)]
        if whole_numbers_or_blank(texts):
            assert number_checker([text for text in texts if text]) == {}, texts


def test_a_chunk_the_proofs_do_not_hold_for_names_each_bad_value_on_its_line():
    columns = [*CONTACT, ("Points", "loyalty_points", {})]
    rows = [["Email", "Stage", "Born", "Points"]]
    rows += [[f"p{n}@example.com", "lead", "", str(n)] for n in range(1, 1000)]
    rows[300][0] = "x@y.com@z.com"  # line 301 and line 302 hold as many "@" as addresses
    rows[301][0] = "abc.com"
    rows[600][0] = "a@example.com\nb@example.com"  # a quoted newline inside the cell
    rows[650][0] = " padded@example.com "  # good, though the proof does not hold
    rows[700][3] = "1\n2"
    rows[800][3] = "12,5"
    rows[900][3] = "-3.5"  # good, though the proof does not hold

    report = _run(_request(columns), rows, include_values=True)
    assert [(p.kind, p.line, p.column, p.value) for p in report.errors] == [
        ("INVALID_EMAIL", 301, "Email", "x@y.com@z.com"),
        ("INVALID_EMAIL", 302, "Email", "abc.com"),
        ("INVALID_EMAIL", 601, "Email", "a@example.com\nb@example.com"),
        ("COULD_NOT_PARSE_NUMBER", 701, "Points", "1\n2"),
        ("COULD_NOT_PARSE_NUMBER", 801, "Points", "12,5"),
    ]


def test_a_required_whole_number_column_still_reports_its_blank_cells():
    deals = {
        "0-3": [
            {"name": "dealname", "type": "string"},
            {"name": "dealstage", "type": "string"},
            {"name": "pipeline", "type": "number"},
        ]
    }
    columns = [("Name", "dealname", {}), ("Stage", "dealstage", {}), ("Pipeline", "pipeline", {})]
    rows = [["Name", "Stage", "Pipeline"]] + [[f"deal {n}", "won", str(n)] for n in range(1, 600)]
    rows[400][2] = ""  # line 401

    report = _run(_request(columns, operation="CREATE", object_type="0-3"), rows, schema=deals)
    assert _kinds(report) == [("MISSING_REQUIRED_PROPERTY", 401, "Pipeline")]


def _repeats_one_value_at_a_time(chunks, max_tracked):
    """What RepeatTracker answers, written plainly: a value repeats if an earlier cell held it and
    that cell's value was kept; a chunk's new values are kept only if all of them fit."""
    kept, full, answers = set(), False, []
    for chunk in chunks:
        new = {value for value in chunk if value and value not in kept}
        offsets, met = [], set()
        for offset, value in enumerate(chunk):
            if value and (value in kept or value in met):
                offsets.append(offset)
            met.add(value)
        if len(kept) + len(new) <= max_tracked:
            kept |= new
        else:
            full = True
        answers.append((offsets, full))
    return answers, kept


def test_repeat_tracking_finds_what_a_value_by_value_search_finds():
    # Chunks with and without blank cells, repeats within a chunk and across chunks, clean ones
    # (the fast path) and a tracker that fills up on the way.
    draw = random.Random(21)
    for max_tracked in (3, 8, 40, 10_000):
        chunks = []
        for _ in range(60):
            size = draw.randint(1, 12)
            pool = draw.choice([["", "a", "b"], [f"v{n}" for n in range(60)], [f"u{draw.random()}"] * 2])
            chunk = [draw.choice(pool) for _ in range(size)]
            if draw.random() < 0.4:  # a clean chunk: values never seen, none twice, no blank
                chunk = [f"new{draw.random()}" for _ in range(size)]
            chunks.append(chunk)
        tracker = RepeatTracker(max_tracked=max_tracked)
        answers = [(tracker.repeats(tuple(chunk)), tracker.full) for chunk in chunks]
        expected, kept = _repeats_one_value_at_a_time(chunks, max_tracked)
        assert answers == expected
        assert tracker.seen - {""} == kept and tracker.tracked == len(kept)


def test_chunks_with_other_widths_blank_lines_and_the_row_limit_keep_every_line():
    # Lines 258-513 (one whole chunk of 256 rows) are all one cell wider than the header; lines
    # 600-601 are blank (no rows); the limit of 700 rows (the header's included) is passed at line
    # 703, and the bad value after it is not checked.
    rows = [["Email", "Stage", "Born"]] + [[f"p{n}@example.com", "lead", ""] for n in range(2, 802)]
    for number in range(258, 514):
        rows[number - 1] = [*rows[number - 1], "extra"]
    rows[599] = rows[600] = []
    rows[649][0] = "bad"
    rows[749][0] = "bad too"

    report = _run(_request(CONTACT), rows, limits=Limits(rows=700), include_values=True)
    assert report.counts == {"INCORRECT_NUMBER_OF_COLUMNS": 256, "INVALID_EMAIL": 1, "FILE_ROW_LIMIT": 1}
    widths = [p.line for p in report.errors if p.kind == "INCORRECT_NUMBER_OF_COLUMNS"]
    assert widths == list(range(258, 258 + KEPT_PER_KIND))
    assert [(p.kind, p.line, p.value) for p in report.errors if p.kind != "INCORRECT_NUMBER_OF_COLUMNS"] == [
        ("INVALID_EMAIL", 650, "bad"),
        ("FILE_ROW_LIMIT", 703, None),
    ]
    assert report.files[0].rows == 798 and report.files[0].rows_checked == 699
