"""The emulator's account schema: contacts and companies properties as HubSpot's properties
endpoint lists them, and the rows of a started import checked against them (error rows with
HubSpot's error types, as HubSpot reports them once an import is processed)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from airflow_provider_hubspot_imports.errors import HubSpotInputError

CONTACTS_READ = "crm.schemas.contacts.read"
COMPANIES_READ = "crm.schemas.companies.read"
SCHEMA_SCOPES = {
    "0-1": CONTACTS_READ,
    "contacts": CONTACTS_READ,
    "0-2": COMPANIES_READ,
    "companies": COMPANIES_READ,
}
OBJECT_TYPE_NAMES = {"0-1": "CONTACT", "0-2": "COMPANY", "0-3": "DEAL", "0-5": "TICKET"}
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "0-1": "0-1", "0-2": "0-2"}


def _prop(
    name: str, label: str, kind: str = "string", field_type: str = "text", **more: Any
) -> dict[str, Any]:
    read_only = bool(more.pop("read_only", False))
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "description": "",
        "groupName": more.pop("group", "contactinformation"),
        "options": [
            {"label": label_, "value": value, "displayOrder": order, "hidden": False}
            for order, (value, label_) in enumerate(more.pop("options", ()))
        ],
        "displayOrder": -1,
        "calculated": bool(more.pop("calculated", False)),
        "externalOptions": False,
        "hasUniqueValue": bool(more.pop("unique", False)),
        "hidden": False,
        "archived": bool(more.pop("archived", False)),
        "formField": True,
        "modificationMetadata": {
            "archivable": not read_only,
            "readOnlyDefinition": True,
            "readOnlyValue": read_only,
        },
        "createdAt": "2019-08-06T02:41:52.929Z",
        "updatedAt": "2025-11-03T09:12:40.113Z",
        **more,
    }


LIFECYCLE_STAGES = (
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)

CONTACT_PROPERTIES = [
    _prop("email", "Email"),
    _prop("firstname", "First Name"),
    _prop("lastname", "Last Name"),
    _prop("phone", "Phone Number", field_type="phonenumber"),
    _prop("jobtitle", "Job Title"),
    _prop("city", "City"),
    _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
    _prop(
        "hs_lead_status",
        "Lead Status",
        "enumeration",
        "select",
        options=(
            ("NEW", "New"),
            ("OPEN", "Open"),
            ("IN_PROGRESS", "In Progress"),
            ("UNQUALIFIED", "Unqualified"),
        ),
    ),
    _prop(
        "preferred_channels",
        "Preferred channels",
        "enumeration",
        "checkbox",
        options=(("email", "Email"), ("phone", "Phone"), ("sms", "SMS")),
    ),
    _prop("date_of_birth", "Date of birth", "date", "date"),
    _prop(
        "hs_email_optout",
        "Unsubscribed from all email",
        "bool",
        "booleancheckbox",
        options=(("true", "Yes"), ("false", "No")),
    ),
    _prop("loyalty_points", "Loyalty points", "number", "number"),
    _prop("customer_id", "Customer ID", unique=True),
    _prop("hs_object_id", "Record ID", "number", "number", read_only=True),
    _prop("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    _prop("num_associated_deals", "Number of Associated Deals", "number", "number", calculated=True),
    _prop("legacy_score", "Legacy score", "number", "number", archived=True),
]

COMPANY_PROPERTIES = [
    _prop("name", "Company name", group="companyinformation"),
    _prop("domain", "Company Domain Name", group="companyinformation"),
    _prop("city", "City", group="companyinformation"),
    _prop(
        "industry",
        "Industry",
        "enumeration",
        "select",
        group="companyinformation",
        options=(
            ("COMPUTER_SOFTWARE", "Computer Software"),
            ("RETAIL", "Retail"),
            ("HOSPITALITY", "Hospitality"),
        ),
    ),
    _prop(
        "type",
        "Type",
        "enumeration",
        "select",
        group="companyinformation",
        options=(
            ("PROSPECT", "Prospect"),
            ("PARTNER", "Partner"),
            ("RESELLER", "Reseller"),
            ("VENDOR", "Vendor"),
        ),
    ),
    _prop("numberofemployees", "Number of Employees", "number", "number", group="companyinformation"),
    _prop("annualrevenue", "Annual Revenue", "number", "number", group="companyinformation"),
    _prop("founded_on", "Founded on", "date", "date", group="companyinformation"),
    _prop("registration_number", "Registration number", unique=True, group="companyinformation"),
    _prop("hs_object_id", "Record ID", "number", "number", read_only=True, group="companyinformation"),
    _prop("hs_num_child_companies", "Number of child companies", "number", "number", calculated=True),
    _prop("old_segment", "Old segment", archived=True, group="companyinformation"),
]

DEFAULT_SCHEMA: dict[str, list[dict[str, Any]]] = {"0-1": CONTACT_PROPERTIES, "0-2": COMPANY_PROPERTIES}


def properties_answer(
    schema: Mapping[str, list[dict[str, Any]]], object_type: str, *, archived: bool
) -> dict[str, Any] | None:
    """The properties endpoint's answer: the active properties, or with ``archived=true`` only the
    archived ones (as HubSpot does); None for an object type the account does not have."""
    type_id = OBJECT_TYPE_IDS.get(object_type, object_type)
    if type_id not in schema:
        return None
    return {"results": [dict(prop) for prop in schema[type_id] if bool(prop.get("archived")) == archived]}


def row_errors(
    import_request: Mapping[str, Any],
    files: Iterable[tuple[str, int, IO[bytes]]],
    schema: Mapping[str, list[dict[str, Any]]],
    *,
    file_ids: Mapping[str, int],
    created_ms: int,
) -> tuple[list[dict[str, Any]], int, bool]:
    """HubSpot's error rows for the files of a started import, how many data rows failed, and
    whether HubSpot would fail the import whole (a header that does not match its column
    mappings). The same rules as pre-flight: a file pre-flight passes imports without these errors."""
    import csv

    from airflow_provider_hubspot_imports.core.preflight import Preflight

    spooled = list(files)
    run = Preflight(import_request, [(name, size) for name, size, _ in spooled], include_values=True)
    answers = {kind: [p for p in props if not p.get("archived")] for kind, props in schema.items()}
    run.use_schema({kind: answers[kind] for kind in run.object_types() if kind in answers}, {})
    by_name = {name: handle for name, _, handle in spooled}
    for plan in run.files_to_read():
        handle = by_name[plan.file_name]
        handle.seek(0)
        run.check_file(plan, csv.reader(_text_lines(handle)))
    report = run.finish()
    fails_whole = any(
        problem.kind in ("INCORRECT_NUMBER_OF_COLUMNS", "COLUMN_NAME_MISMATCH") and problem.line == 1
        for problem in report.errors
    )
    first_type = next((column.object_type_id for plan in run.plans for column in plan.columns), None)
    object_type = OBJECT_TYPE_NAMES.get(str(first_type), "CONTACT")
    headers = {plan.file_name for plan in run.plans if plan.has_header}
    errors, failed = [], set()
    for problem in report.errors:
        if problem.hubspot_type and problem.line is not None:
            errors.append(_error_item(problem, object_type, file_ids, created_ms))
            if not (problem.line == 1 and problem.file in headers):
                failed.add((problem.file, problem.line))
    return errors, len(failed), fails_whole


def _error_item(
    problem: Any, object_type: str, file_ids: Mapping[str, int], created_ms: int
) -> dict[str, Any]:
    file_id = file_ids.get(str(problem.file), 0)
    line, value = problem.line, problem.value
    item: dict[str, Any] = {
        "id": f"{file_id}-{line}-{problem.kind}",
        "createdAt": created_ms,
        "errorType": problem.kind,
        "errorMessage": problem.message,
        "objectType": object_type,
        "sourceData": {
            "fileId": file_id,
            "lineNumber": line,
            "rowData": [],
            "additionalRowData": [],
            "containsEncryptedProperties": False,
        },
    }
    if value is not None:
        item["invalidValue"] = value
    return item


def properties_handler(model: Any) -> Any:
    """The route handler of ``GET /crm/properties/{version}/{objectType}`` (and the v3 path)."""
    from airflow_provider_hubspot_imports.testing.app import Reply, hubspot_error

    def handle(request: Any, match: Any) -> Any:
        object_type = match.group("object_type")
        with model.lock:
            answer = properties_answer(
                model.schema, object_type, archived=request.param("archived") == "true"
            )
        if answer is None:
            return hubspot_error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {object_type}")
        return Reply.json(200, answer)

    return handle


def required_scope(object_type: str) -> str:
    """The scope reading an object type's properties takes (HubSpot answers 403 MISSING_SCOPES without it)."""
    return SCHEMA_SCOPES.get(object_type, f"crm.schemas.{object_type}.read")


def check_started_rows(
    model: Any, import_id: int, import_request: Mapping[str, Any], parts: list[Any]
) -> None:
    """Apply the schema's rules to the rows of a started import whose files were kept (see
    `EmulatorModel.row_check_bytes`): its error rows, counters, and a FAILED end when HubSpot would
    fail it whole. Files too large to keep are not checked."""
    if not model.row_check_bytes or any(part.spool is None for part in parts):
        return
    file_ids = {str(part.filename): int(f"{import_id}{index + 1:02d}") for index, part in enumerate(parts)}
    with model.lock:
        emulated = model.imports[import_id]
        created_ms = int(emulated.created_at.timestamp() * 1000)
        schema = model.schema
    try:
        errors, failed_rows, fails_whole = row_errors(
            import_request,
            [(str(part.filename), part.size, part.spool) for part in parts],
            schema,
            file_ids=file_ids,
            created_ms=created_ms,
        )
    except HubSpotInputError:  # a request pre-flight cannot read (not an object): nothing to check
        return
    with model.lock:
        emulated.errors.extend(errors)
        rows = emulated.counters.get("TOTAL_ROWS", 0)
        emulated.counters["CREATED_OBJECTS"] = max(0, rows - failed_rows)
        if errors:
            emulated.counters["ERRORS"] = len(errors)
        if fails_whole:
            from airflow_provider_hubspot_imports.testing.model import Step

            emulated.steps = [*emulated.steps[:-1], Step("FAILED")]
            emulated.counters["CREATED_OBJECTS"] = 0


def _text_lines(handle: Any) -> Iterator[str]:
    """A spooled upload's lines as text, a byte-order mark skipped. Not `io.TextIOWrapper`: Python
    3.10's SpooledTemporaryFile lacks `readable()`, which the wrapper needs. A line ends at a
    newline byte, which never falls inside a UTF-8 sequence, so lines decode one by one."""
    for number, raw in enumerate(handle):
        yield raw.decode("utf-8-sig" if number == 0 else "utf-8")
