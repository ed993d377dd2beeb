"""Reading a CRM's contact export (CSV) into contacts, to check how their numbers match.

Exports come from HubSpot, Salesforce, GoHighLevel, Zoho or anything else that writes CSV,
often through Excel on the way: a BOM, cp1252, ";" as the delimiter, a "sep=;" first line.
A broken row is reported with its line number and skipped; the rest of the file still loads.

A file is streamed: its encoding is told from the first 64 KB, the delimiter from the first
rows, and each row is kept only as the contact it gives. A 50 MB export costs its contacts, not
its text. Absurd content is bounded where it is read: a line over 1,000,000 characters, a row
running on for more than 1,000 lines, a cell over the csv module's 131,072 characters, a name,
company, email or id cell over 1,000 characters, and a phone cell over 100 characters or 30
digits each make that row broken (counted, never clamped into a contact that looks real).
"""

from __future__ import annotations

import contextlib
import enum
import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from app.domain.connection import ContactColumns
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.services.contacts.csv_stream import (
    BrokenRow,
    CsvFileError,
    CsvLines,
    csv_records,
    field_count_problem,
    open_csv,
    sniff_delimiter,
)

_SNIFF_RECORDS = 50
_SNIFF_CHARS = 256 * 1024
MAX_CELL_CHARS = 1_000  # a name, company, email or id cell
MAX_PHONE_CHARS = 100  # a number with its formatting, extension and a short note
MAX_PHONE_DIGITS = 30  # E.164 has 15; room for an extension
MAX_PROBLEMS_KEPT = 100  # broken rows described one by one; all are counted
_SHARED_STRINGS = 100_000
_DIGITS = re.compile(r"[0-9]")
_SQUASH = re.compile(r"[^0-9a-z]+")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


class ContactsFileError(Exception):
    """The file as a whole cannot be read as contacts; the message says why and what to do."""


class CrmFlavour(enum.StrEnum):
    HUBSPOT = "HubSpot"
    SALESFORCE = "Salesforce"
    GOHIGHLEVEL = "GoHighLevel"
    ZOHO = "Zoho CRM"
    GENERIC = "generic CSV"


@dataclass(frozen=True)
class ColumnMapping:
    """Which header holds what. Column names are the file's headers as written."""

    flavour: CrmFlavour
    id_column: str | None
    name_columns: tuple[str, ...]  # first and last name, or one full-name column
    company_column: str | None
    email_column: str | None
    phone_columns: tuple[tuple[str, str], ...]  # (header, label such as "Phone" or "Mobile")


@dataclass(frozen=True)
class RowProblem:
    line: int  # 1-based line in the file where the row starts
    message: str
    kind: str = field(default="", compare=False)  # what it is counted as, in ``problem_kinds``


@dataclass(frozen=True)
class ContactsImport:
    contacts: tuple[Contact, ...]
    mapping: ColumnMapping
    problems: tuple[RowProblem, ...]  # the first MAX_PROBLEMS_KEPT broken rows
    rows_read: int  # data rows in the file, loaded or not; blank lines not counted
    problem_count: int = -1  # every broken row (-1: as many as ``problems``)
    problem_kinds: tuple[tuple[str, int], ...] = ()  # ("wrong number of fields", 12), most first
    encoding: str = "text"  # as the file was read: "utf-8", "cp1252", "utf-16"

    @property
    def skipped(self) -> int:
        """How many rows were broken and skipped, all of them (not only those in ``problems``)."""
        return self.problem_count if self.problem_count >= 0 else len(self.problems)

    def problem_summary(self) -> str | None:
        """One line for the engineer: how many rows were skipped, why, and where the first are."""
        if not self.skipped:
            return None
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in self.problem_kinds)
        lines = ", ".join(str(p.line) for p in self.problems[:5])
        more = " and more" if self.skipped > min(5, len(self.problems)) else ""
        rows = "row" if self.skipped == 1 else "rows"
        return (
            f"{self.skipped:,} {rows} skipped"
            + (f" ({kinds})" if kinds else "")
            + f": line {lines}{more}."
        )


# Headers are compared squashed: lower case, letters and digits only ("Mobile Phone Number"
# and "MobilePhone" become "mobilephonenumber" and "mobilephone").

# Headers only one CRM writes, with how strongly they point at it.
_SIGNATURES: dict[CrmFlavour, dict[str, int]] = {
    CrmFlavour.HUBSPOT: {
        "recordid": 1,
        "phonenumber": 2,
        "mobilephonenumber": 2,
        "companyname": 2,
        "createdate": 2,
        "lifecyclestage": 2,
        "leadstatus": 2,
        "associatedcompany": 2,
    },
    CrmFlavour.SALESFORCE: {
        "id": 2,
        "accountid": 2,
        "mobilephone": 2,
        "createddate": 2,
        "ownerid": 2,
        "fullname": 1,
        "contactid": 1,
        "accountname": 1,
        "mailingstreet": 1,
    },
    CrmFlavour.GOHIGHLEVEL: {
        "contactid": 1,
        "businessname": 2,
        "created": 2,
        "tags": 1,
        "dnd": 2,
        "lastactivity": 1,
        "additionalphones": 2,
    },
    CrmFlavour.ZOHO: {
        "recordid": 1,
        "accountname": 1,
        "createdtime": 2,
        "modifiedtime": 2,
        "mobile": 1,
        "homephone": 1,
        "otherphone": 2,
        "asstphone": 2,
        "salutation": 1,
        "contactowner": 1,
    },
}
_MIN_SIGNATURE = 2

_ID_HEADERS = ("id", "recordid", "contactid", "externalid")
_FIRST_NAME_HEADERS = ("firstname", "givenname", "forename")
_LAST_NAME_HEADERS = ("lastname", "surname", "familyname")
_FULL_NAME_HEADERS = ("fullname", "name", "contactname", "displayname", "contact")
_COMPANY_HEADERS = (
    "companyname",
    "company",
    "accountname",
    "businessname",
    "organisation",
    "organization",
    "account",
)
_EMAIL_HEADERS = ("email", "emailaddress", "primaryemail", "workemail", "email1")

# Phone columns a CRM names exactly, with the label the engineer sees.
_PHONE_LABELS = {
    "phone": "Phone",
    "phonenumber": "Phone",
    "telephone": "Phone",
    "telephonenumber": "Phone",
    "tel": "Phone",
    "number": "Phone",
    "businessphone": "Business",
    "workphone": "Work",
    "officephone": "Office",
    "directdial": "Direct",
    "mobile": "Mobile",
    "mobilephone": "Mobile",
    "mobilephonenumber": "Mobile",
    "mobilenumber": "Mobile",
    "contactnumber": "Phone",
    "mainnumber": "Main",
    "directnumber": "Direct",
    "cell": "Mobile",
    "cellphone": "Mobile",
    "cellular": "Mobile",
    "homephone": "Home",
    "otherphone": "Other",
    "asstphone": "Assistant",
    "assistantphone": "Assistant",
}
# Other headers are phone columns when a word says so ("Phone 2", "Work Tel") and no word
# says they hold something about the number rather than the number.
_PHONE_WORDS = frozenset({"phone", "phones", "mobile", "tel", "telephone", "cell", "cellphone"})
_NOT_A_NUMBER_WORDS = frozenset(
    {
        "fax",
        "type",
        "status",
        "ext",
        "extension",
        "code",
        "country",
        "verified",
        "valid",
        "opt",
        "optout",
        "dnd",
        "consent",
        "carrier",
        "provider",
        "date",
        "count",
    }
)


def detect_columns(headers: Sequence[str]) -> ColumnMapping:
    """The mapping for a header row, recognising each CRM by the headers it exports."""
    headers = [h.strip() for h in headers]
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(squash_header(header), header)

    def first(keys: Sequence[str]) -> str | None:
        return next((by_key[k] for k in keys if k in by_key), None)

    phones = _phone_columns(headers)
    if not phones:
        found = ", ".join(repr(h) for h in headers if h) or "none"
        raise ContactsFileError(
            f"No phone number column: the columns found are {found}. The file needs a column "
            "holding the contacts' numbers, such as 'Phone', 'Mobile' or 'Phone Number'."
        )
    first_name, last_name = first(_FIRST_NAME_HEADERS), first(_LAST_NAME_HEADERS)
    names = tuple(n for n in (first_name, last_name) if n is not None)
    if not names:
        full = first(_FULL_NAME_HEADERS)
        names = (full,) if full is not None else ()
    return ColumnMapping(
        flavour=crm_flavour(by_key),
        id_column=first(_ID_HEADERS),
        name_columns=names,
        company_column=first(_COMPANY_HEADERS),
        email_column=first(_EMAIL_HEADERS),
        phone_columns=phones,
    )


def read_contacts_csv(
    path: str | os.PathLike[str], mapping: ColumnMapping | None = None
) -> ContactsImport:
    """Read a contacts export from disk, streamed (blocking: call it through asyncio.to_thread).

    Only the header, the first rows (to find the delimiter) and what each contact needs are
    held: a 50 MB export costs the contacts, not the file.
    """
    with _open_table(path) as table:
        return _import(table, mapping)


def read_contacts_for(
    path: str | os.PathLike[str], columns: ContactColumns | None
) -> ContactsImport:
    """A connection's contacts export, read with the columns the engineer mapped (blocking).

    ``columns`` None detects them. A mapped column that is no longer in the file raises
    ``ContactsFileError`` naming it, rather than silently matching against nothing.
    """
    with _open_table(path) as table:
        mapping = None if columns is None else mapping_from_columns(table.headers, columns)
        return _import(table, mapping)


def mapping_from_columns(headers: Sequence[str], columns: ContactColumns) -> ColumnMapping:
    return build_mapping(
        headers,
        phone_columns=columns.phone,
        name_columns=columns.name,
        id_column=columns.id,
        company_column=columns.company,
        email_column=columns.email,
    )


def columns_of(mapping: ColumnMapping) -> ContactColumns:
    """What to keep with the connection so the same mapping is used next time."""
    return ContactColumns(
        phone=tuple(header for header, _ in mapping.phone_columns),
        name=mapping.name_columns,
        id=mapping.id_column,
        company=mapping.company_column,
        email=mapping.email_column,
    )


def read_contacts_text(path: str | os.PathLike[str]) -> str:
    """The whole text of a contacts export, decoded as Excel and CRMs write it (blocking).

    Holds the file in memory: for the mapping step, ``preview_contacts_file`` and
    ``read_contacts_csv`` read the same file streamed.
    """
    with _open_lines(path) as lines:
        return lines.read_all()


@dataclass(frozen=True)
class ContactsPreview:
    """What the mapping step shows: the headers, a few rows, and the columns detected."""

    headers: tuple[str, ...]
    sample_rows: tuple[tuple[str, ...], ...]  # the first data rows, as written
    detected: ColumnMapping | None  # None when no phone column was recognised
    problem: str | None  # why nothing was detected, for the engineer to correct


def preview_contacts_file(path: str | os.PathLike[str], *, sample: int = 5) -> ContactsPreview:
    """``preview_contacts_csv`` of a file, reading only its first rows (blocking)."""
    with _open_table(path) as table:
        return _preview(table, sample)


def preview_contacts_csv(text: str, *, sample: int = 5) -> ContactsPreview:
    """The header row, the first ``sample`` data rows and the detected mapping.

    Raises ``ContactsFileError`` only when the file has no header row at all; a header row
    without a recognisable phone column is a ``problem`` the engineer corrects by mapping.
    """
    return _preview(CsvTable(CsvLines(io.StringIO(text, newline=""))), sample)


def _preview(table: CsvTable, sample: int) -> ContactsPreview:
    rows = table.sample_rows(sample)
    try:
        detected: ColumnMapping | None = detect_columns(table.headers)
        problem = None
    except ContactsFileError as exc:
        detected, problem = None, str(exc)
    return ContactsPreview(tuple(table.headers), tuple(rows), detected, problem)


def build_mapping(
    headers: Sequence[str],
    *,
    phone_columns: Sequence[str],
    name_columns: Sequence[str] = (),
    id_column: str | None = None,
    company_column: str | None = None,
    email_column: str | None = None,
    flavour: CrmFlavour = CrmFlavour.GENERIC,
) -> ColumnMapping:
    """The mapping the engineer corrected, checked against the file's ``headers``.

    Raises ``ContactsFileError`` naming a column that is not in the file, or when no phone
    column is chosen. Phone columns get the label a CRM gives them ("Mobile"), else the header.
    """
    known = [h.strip() for h in headers]

    def column(header: str | None, what: str) -> str | None:
        if header is None or not header.strip():
            return None
        if header.strip() not in known:
            found = ", ".join(repr(h) for h in known if h)
            raise ContactsFileError(
                f"The {what} column {header.strip()!r} is not in the file; its columns are {found}."
            )
        return header.strip()

    phones = [c for h in phone_columns if (c := column(h, "phone")) is not None]
    if not phones:
        raise ContactsFileError(
            "Choose at least one phone number column: the contacts are matched by their numbers."
        )
    return ColumnMapping(
        flavour=flavour,
        id_column=column(id_column, "ID"),
        name_columns=tuple(c for h in name_columns if (c := column(h, "name")) is not None),
        company_column=column(company_column, "company"),
        email_column=column(email_column, "email"),
        phone_columns=tuple(
            (h, _PHONE_LABELS.get(squash_header(h), h)) for h in dict.fromkeys(phones)
        ),
    )


def parse_contacts_csv(text: str, mapping: ColumnMapping | None = None) -> ContactsImport:
    """Contacts from the text of a CSV export; ``mapping`` overrides the detected columns."""
    return _import(CsvTable(CsvLines(io.StringIO(text, newline=""))), mapping)


def _import(table: CsvTable, mapping: ColumnMapping | None) -> ContactsImport:
    if mapping is None:
        mapping = detect_columns(table.headers)
    reader = _RowReader(table.headers, mapping)
    contacts: list[Contact] = []
    problems: list[RowProblem] = []
    kinds: dict[str, int] = {}
    count = rows_read = 0
    for line, fields, broken in table.rows:
        if broken is None and not "".join(fields).strip():
            continue  # blank lines, and the rows of empty cells Excel leaves at the end
        rows_read += 1
        contact = None
        if broken is None:
            contact, broken = reader.contact(line, fields)
        if contact is not None:
            contacts.append(contact)
            continue
        problem = broken or BrokenRow("unreadable row", "unreadable row")
        count += 1
        kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
        # A file of nothing but broken rows must not cost a record per row.
        if len(problems) < MAX_PROBLEMS_KEPT:
            problems.append(RowProblem(line, problem.message, problem.kind))
    return ContactsImport(
        tuple(contacts),
        mapping,
        tuple(problems),
        rows_read,
        problem_count=count,
        problem_kinds=tuple(sorted(kinds.items(), key=lambda kv: -kv[1])),
        encoding=table.lines.encoding,
    )


@contextlib.contextmanager
def _open_table(path: str | os.PathLike[str]) -> Iterator[CsvTable]:
    with _open_lines(path) as lines:
        yield CsvTable(lines)


@contextlib.contextmanager
def _open_lines(path: str | os.PathLike[str]) -> Iterator[CsvLines]:
    try:
        with open_csv(path) as lines:
            yield lines
    except CsvFileError as exc:
        raise ContactsFileError(str(exc)) from exc


class CsvTable:
    """A CSV export split into its header row and an iterator over the rows after it.

    ``what`` names the export's rows in the message for an empty file ("contacts",
    "activities"); every problem raises ``ContactsFileError``.
    """

    def __init__(self, lines: CsvLines, what: str = "contacts") -> None:
        self.lines = lines
        delimiter = lines.excel_separator()
        if delimiter is None:
            delimiter = sniff_delimiter(lines.peek(_SNIFF_RECORDS, _SNIFF_CHARS))
        self.rows = csv_records(lines, delimiter)
        header = next(((fields, broken) for _, fields, broken in self.rows if any(fields)), None)
        if header is None:
            raise ContactsFileError(
                f"The file is empty: export the {what} again, with the header row."
            )
        fields, broken = header
        if broken is not None:
            raise ContactsFileError(
                f"The header row cannot be read ({broken.message}): this is not a text CSV "
                "file (save it from the CRM or Excel as CSV UTF-8)."
            )
        self.headers = [h.strip() for h in fields]

    def sample_rows(self, count: int) -> list[tuple[str, ...]]:
        """The next ``count`` readable, non-blank rows, each cell clamped for showing."""
        rows: list[tuple[str, ...]] = []
        for _, fields, broken in self.rows:
            if len(rows) >= count:
                break
            if broken is None and any(f.strip() for f in fields):
                rows.append(tuple(clamp_cell(f) for f in fields))
        return rows


class _RowReader:
    def __init__(self, headers: list[str], mapping: ColumnMapping) -> None:
        index: dict[str, int] = {}
        for i, header in enumerate(headers):
            index.setdefault(header, i)

        def column(header: str) -> int:
            if header not in index:
                found = ", ".join(repr(h) for h in headers)
                raise ContactsFileError(
                    f"The column {header!r} is not in the file; its columns are {found}."
                )
            return index[header]

        self._headers = headers
        self._width = len(headers)
        self._id = column(mapping.id_column) if mapping.id_column else None
        self._names = tuple(column(h) for h in mapping.name_columns)
        self._company = column(mapping.company_column) if mapping.company_column else None
        self._email = column(mapping.email_column) if mapping.email_column else None
        self._phones = tuple((column(h), label) for h, label in mapping.phone_columns)
        kept = (self._id, *self._names, self._company, self._email)
        self._kept = tuple(i for i in kept if i is not None)
        # Names and companies repeat across an export: one string each, not one per row.
        self._shared: dict[str, str] = {}

    def contact(self, line: int, fields: list[str]) -> tuple[Contact | None, BrokenRow | None]:
        """The row's contact, or None and what is wrong with the row."""
        wrong_width = field_count_problem(fields, self._width)
        if wrong_width is not None:
            return None, wrong_width
        for i in self._kept:
            if len(fields[i]) > MAX_CELL_CHARS:
                return None, BrokenRow(
                    f"the {self._headers[i]!r} cell is {len(fields[i]):,} characters long "
                    f"(more than {MAX_CELL_CHARS:,} is not contact data)",
                    "cell too long",
                )
        phones: list[PhoneEntry] = []
        for i, label in self._phones:
            number = fields[i].strip()
            if not number:
                continue
            # Counted only when the cell is long enough to hold too many.
            digits = len(_DIGITS.findall(number)) if len(number) > MAX_PHONE_DIGITS else 0
            if len(number) > MAX_PHONE_CHARS or digits > MAX_PHONE_DIGITS:
                return None, BrokenRow(
                    f"the {self._headers[i]!r} cell is not a phone number "
                    f"({len(number):,} characters, {digits:,} digits)",
                    "invalid phone number",
                )
            phones.append(PhoneEntry(label, number))
        if not phones:
            return None, BrokenRow("no phone number", "no phone number")
        contact = Contact(
            id=self._cell(fields, self._id) or f"row {line}",
            name=self._share(" ".join([n for i in self._names if (n := fields[i].strip())])),
            company=self._share(company)
            if (company := self._cell(fields, self._company))
            else None,
            phones=tuple(phones),
            source=ContactSource.CRM_EXPORT,
            email=self._cell(fields, self._email),
        )
        return contact, None

    def _share(self, text: str) -> str:
        if len(self._shared) >= _SHARED_STRINGS:
            return self._shared.get(text, text)
        return self._shared.setdefault(text, text)

    @staticmethod
    def _cell(fields: list[str], index: int | None) -> str | None:
        return (fields[index].strip() or None) if index is not None else None


def clamp_cell(cell: str) -> str:
    """A preview cell as shown: a pasted essay is cut, marked with an ellipsis."""
    return cell if len(cell) <= MAX_CELL_CHARS else cell[:MAX_CELL_CHARS] + "…"


def squash_header(header: str) -> str:
    return _SQUASH.sub("", header.lower())


def _phone_columns(headers: Sequence[str]) -> tuple[tuple[str, str], ...]:
    columns: dict[str, str] = {}
    for header in headers:
        if not header or header in columns:
            continue
        key = squash_header(header)
        if key in _PHONE_LABELS:
            columns[header] = _PHONE_LABELS[key]
            continue
        words = {w.lower() for w in _WORDS.findall(header)}
        if words & _PHONE_WORDS and not words & _NOT_A_NUMBER_WORDS:
            columns[header] = header
    return tuple(columns.items())


def crm_flavour(
    by_key: Mapping[str, str],
    signatures: Mapping[CrmFlavour, Mapping[str, int]] = _SIGNATURES,
) -> CrmFlavour:
    """The CRM whose headers (squashed, see ``squash_header``) score best in ``signatures``."""
    scores = {
        flavour: sum(weight for key, weight in signature.items() if key in by_key)
        for flavour, signature in signatures.items()
    }
    best = max(scores, key=lambda f: scores[f])
    return best if scores[best] >= _MIN_SIGNATURE else CrmFlavour.GENERIC
