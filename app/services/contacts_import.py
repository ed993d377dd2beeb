"""Reading a CRM's contact export (CSV) into contacts, to check how their numbers match.

Exports come from HubSpot, Salesforce, GoHighLevel, Zoho or anything else that writes CSV,
often through Excel on the way: a BOM, cp1252, ";" as the delimiter, a "sep=;" first line.
A broken row is reported with its line number and skipped; the rest of the file still loads.
"""

from __future__ import annotations

import csv
import enum
import io
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from app.domain.connection import ContactColumns
from app.domain.contacts import Contact, ContactSource, PhoneEntry

_DELIMITERS = (",", ";", "\t")
_SNIFF_RECORDS = 50
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


@dataclass(frozen=True)
class ContactsImport:
    contacts: tuple[Contact, ...]
    mapping: ColumnMapping
    problems: tuple[RowProblem, ...]
    rows_read: int  # data rows in the file, loaded or not; blank lines not counted


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
        by_key.setdefault(_squash(header), header)

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
        flavour=_flavour(by_key),
        id_column=first(_ID_HEADERS),
        name_columns=names,
        company_column=first(_COMPANY_HEADERS),
        email_column=first(_EMAIL_HEADERS),
        phone_columns=phones,
    )


def read_contacts_csv(
    path: str | os.PathLike[str], mapping: ColumnMapping | None = None
) -> ContactsImport:
    """Read a contacts export from disk (blocking: call it through asyncio.to_thread)."""
    return parse_contacts_csv(read_contacts_text(path), mapping)


def read_contacts_for(
    path: str | os.PathLike[str], columns: ContactColumns | None
) -> ContactsImport:
    """A connection's contacts export, read with the columns the engineer mapped (blocking).

    ``columns`` None detects them. A mapped column that is no longer in the file raises
    ``ContactsFileError`` naming it, rather than silently matching against nothing.
    """
    text = read_contacts_text(path)
    if columns is None:
        return parse_contacts_csv(text)
    headers = preview_contacts_csv(text, sample=0).headers
    return parse_contacts_csv(text, mapping_from_columns(headers, columns))


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
    """The text of a contacts export, decoded as Excel and CRMs write it (blocking).

    Read once, then preview, map and parse the text as often as the mapping step needs.
    """
    name = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise ContactsFileError(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    not_csv = _binary_kind(data)
    if not_csv:
        raise ContactsFileError(
            f"{name} is {not_csv}, not a CSV file: open it and save it as "
            "CSV UTF-8 (comma delimited), then import that."
        )
    return _decode(data)


@dataclass(frozen=True)
class ContactsPreview:
    """What the mapping step shows: the headers, a few rows, and the columns detected."""

    headers: tuple[str, ...]
    sample_rows: tuple[tuple[str, ...], ...]  # the first data rows, as written
    detected: ColumnMapping | None  # None when no phone column was recognised
    problem: str | None  # why nothing was detected, for the engineer to correct


def preview_contacts_csv(text: str, *, sample: int = 5) -> ContactsPreview:
    """The header row, the first ``sample`` data rows and the detected mapping.

    Raises ``ContactsFileError`` only when the file has no header row at all; a header row
    without a recognisable phone column is a ``problem`` the engineer corrects by mapping.
    """
    table = _Table(text)
    rows: list[tuple[str, ...]] = []
    for _, fields, broken in table.rows:
        if len(rows) >= sample:
            break
        if broken is None and any(f.strip() for f in fields):
            rows.append(tuple(fields))
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
        phone_columns=tuple((h, _PHONE_LABELS.get(_squash(h), h)) for h in dict.fromkeys(phones)),
    )


def parse_contacts_csv(text: str, mapping: ColumnMapping | None = None) -> ContactsImport:
    """Contacts from the text of a CSV export; ``mapping`` overrides the detected columns."""
    table = _Table(text)
    headers, rows = table.headers, table.rows
    records, nul_lines = table.records, table.nul_lines
    if mapping is None:
        mapping = detect_columns(headers)
    reader = _RowReader(headers, mapping)

    contacts: list[Contact] = []
    problems: list[RowProblem] = []
    rows_read = 0
    for line, fields, broken in rows:
        if broken is None and not any(f.strip() for f in fields):
            continue  # blank lines, and the rows of empty cells Excel leaves at the end
        rows_read += 1
        if broken is None and _spans(line, records.last_line, nul_lines):
            broken = "NUL byte in the row (the file may be damaged)"
        contact = None
        if broken is None:
            contact, broken = reader.contact(line, fields)
        if contact is not None:
            contacts.append(contact)
        else:
            problems.append(RowProblem(line, broken or "unreadable row"))
    return ContactsImport(tuple(contacts), mapping, tuple(problems), rows_read)


class _Table:
    """A CSV export split into its header row and an iterator over the rows after it."""

    def __init__(self, text: str) -> None:
        lines = io.StringIO(text.removeprefix("\ufeff"), newline="").readlines()
        delimiter, first_line = _excel_separator(lines)
        self.nul_lines = frozenset(n for n, line in enumerate(lines, start=1) if "\0" in line)
        if self.nul_lines:
            lines = [line.replace("\0", "") for line in lines]
        if delimiter is None:
            delimiter = _sniff_delimiter(itertools.islice(lines, first_line - 1, None))
        self.records = _Records(lines, first_line, delimiter)
        self.rows = iter(self.records)
        header_line, self.headers = next(
            ((line, [h.strip() for h in fields]) for line, fields, _ in self.rows if any(fields)),
            (0, []),
        )
        if not self.headers:
            raise ContactsFileError(
                "The file is empty: export the contacts again, with the header row."
            )
        if _spans(header_line, self.records.last_line, self.nul_lines):
            raise ContactsFileError(
                "The header row has NUL bytes: this is not a text CSV file "
                "(save it from the CRM or Excel as CSV UTF-8)."
            )


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

        self._width = len(headers)
        self._id = column(mapping.id_column) if mapping.id_column else None
        self._names = tuple(column(h) for h in mapping.name_columns)
        self._company = column(mapping.company_column) if mapping.company_column else None
        self._email = column(mapping.email_column) if mapping.email_column else None
        self._phones = tuple((column(h), label) for h, label in mapping.phone_columns)

    def contact(self, line: int, fields: list[str]) -> tuple[Contact | None, str | None]:
        """The row's contact, or None and what is wrong with the row."""
        if len(fields) != self._width and not (
            len(fields) > self._width and not any(f.strip() for f in fields[self._width :])
        ):
            return None, f"wrong number of fields ({len(fields)}, expected {self._width})"
        phones = tuple(
            PhoneEntry(label, fields[i].strip()) for i, label in self._phones if fields[i].strip()
        )
        if not phones:
            return None, "no phone number"
        contact = Contact(
            id=self._cell(fields, self._id) or f"row {line}",
            name=" ".join(n for n in (fields[i].strip() for i in self._names) if n),
            company=self._cell(fields, self._company),
            phones=phones,
            source=ContactSource.CRM_EXPORT,
            email=self._cell(fields, self._email),
        )
        return contact, None

    @staticmethod
    def _cell(fields: list[str], index: int | None) -> str | None:
        return (fields[index].strip() or None) if index is not None else None


class _Records:
    """CSV records with the line each starts on, surviving rows that break the CSV.

    A stray quote makes the csv module read on across following lines (or fail once the field
    passes its size limit): the row is reported as broken and reading resumes on the next
    line, so the rest of the file is kept.
    """

    def __init__(self, lines: list[str], first_line: int, delimiter: str) -> None:
        self._lines = lines
        self._next = first_line  # 1-based line where the next record starts
        self._delimiter = delimiter
        self.last_line = first_line - 1  # where the record last yielded ends
        self._width: int | None = None

    def __iter__(self) -> Iterator[tuple[int, list[str], str | None]]:
        while self._next <= len(self._lines):
            # Index from where we are: islice would re-skip every earlier line after each broken
            # row, quadratic in a file with many of them.
            rest = (self._lines[n] for n in range(self._next - 1, len(self._lines)))
            reader = csv.reader(rest, delimiter=self._delimiter)
            offset = self._next - 1
            try:
                for fields in reader:
                    start, end = self._next, offset + reader.line_num
                    if self._runaway(start, end, fields):
                        self.last_line = start
                        self._next = start + 1
                        yield start, [], 'unbalanced quote (") in the row'
                        break
                    self._next, self.last_line = end + 1, end
                    if self._width is None and any(fields):
                        self._width = len(fields)
                    yield start, fields, None
                else:
                    return
            except csv.Error as exc:
                start = self._next
                self.last_line = start
                self._next = start + 1
                yield start, [], f"not valid CSV ({exc})"

    def _runaway(self, start: int, end: int, fields: list[str]) -> bool:
        """Whether a stray quote swallowed the rows after this one.

        A quoted field may hold line breaks (an address, a note). One that swallowed whole
        rows either leaves the row with the wrong number of fields or, when a second stray
        quote closed it, holds lines with a whole row's worth of delimiters.
        """
        if end == start or self._width is None:
            return False
        if len(fields) != self._width:
            return True
        whole_row = max(self._width - 1, 2)
        return any(
            self._lines[n - 1].count(self._delimiter) >= whole_row
            for n in range(start + 1, end + 1)
        )


def _spans(start: int, end: int, lines: frozenset[int]) -> bool:
    return bool(lines) and any(n in lines for n in range(start, end + 1))


def _squash(header: str) -> str:
    return _SQUASH.sub("", header.lower())


def _phone_columns(headers: Sequence[str]) -> tuple[tuple[str, str], ...]:
    columns: dict[str, str] = {}
    for header in headers:
        if not header or header in columns:
            continue
        key = _squash(header)
        if key in _PHONE_LABELS:
            columns[header] = _PHONE_LABELS[key]
            continue
        words = {w.lower() for w in _WORDS.findall(header)}
        if words & _PHONE_WORDS and not words & _NOT_A_NUMBER_WORDS:
            columns[header] = header
    return tuple(columns.items())


def _flavour(by_key: dict[str, str]) -> CrmFlavour:
    scores = {
        flavour: sum(weight for key, weight in signature.items() if key in by_key)
        for flavour, signature in _SIGNATURES.items()
    }
    best = max(scores, key=lambda f: scores[f])
    return best if scores[best] >= _MIN_SIGNATURE else CrmFlavour.GENERIC


def _excel_separator(lines: list[str]) -> tuple[str | None, int]:
    """Excel's "sep=;" first line: the delimiter, and the line the CSV starts on."""
    first = lines[0].rstrip("\r\n") if lines else ""
    if first.lower().startswith("sep=") and len(first) == len("sep=;"):
        return first[-1], 2
    return None, 1


def _sniff_delimiter(lines: Iterable[str]) -> str:
    """The delimiter that splits the first rows into as many fields as the header."""
    sample = list(itertools.islice((line for line in lines if line.strip()), _SNIFF_RECORDS))

    def score(delimiter: str) -> tuple[int, int]:
        rows = [r for r in csv.reader(sample, delimiter=delimiter) if r]
        if not rows or len(rows[0]) < 2:
            return (0, 0)
        width = len(rows[0])
        return (sum(len(r) == width for r in rows), width)

    return max(_DELIMITERS, key=score)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")  # Excel's "Unicode Text"
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves plain "CSV" in the ANSI code page.
        return data.decode("cp1252", errors="replace")


def _binary_kind(data: bytes) -> str | None:
    if data.startswith(b"PK\x03\x04"):
        return "an Excel workbook (.xlsx) or another zip file"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel workbook (.xls)"
    if data.startswith(b"%PDF"):
        return "a PDF"
    return None
