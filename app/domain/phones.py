"""Phone numbers as CRMs, phonebooks and CDRs write them, normalised to E.164.

A bridge matches a call to a contact by comparing E.164 numbers, so every number we show or
compare goes through :func:`to_e164` with the PBX's default region.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberDesc

MASK = "•"

_E164_TEXT = re.compile(r"\+[1-9][0-9]{1,14}")
_LAYOUT = str.maketrans("", "", " -.()/\u00a0")
_CACHE_SIZE = 1 << 15  # caller ids and lookups; a CRM export's numbers skip the cache


class NumberError(ValueError):
    """A region code or number the engineer typed that we cannot use."""


def validate_region(text: str) -> str:
    """The ISO 3166 alpha-2 region in ``text``, upper-cased, if phonenumbers knows it."""
    region = sys.intern(text.strip().upper())  # one "AU" for every cached number, not a copy each
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise NumberError(
            f"{text.strip()!r} is not a region code; "
            "use a two-letter country code such as AU, US or GB"
        )
    return region


def default_region(licence_country: str | None, dialling_code: str | None) -> str | None:
    """The region for numbers written without a country code.

    The licence's CountryCode wins; the E164Settings dialling code ("61", "+61") is the fallback.
    Shared dialling codes resolve to their main region ("1" is the US).
    """
    if licence_country:
        try:
            return validate_region(licence_country)
        except NumberError:
            pass
    code = (dialling_code or "").strip().lstrip("+").strip()
    if code.isdigit():
        region = phonenumbers.region_code_for_country_code(int(code))
        if region in phonenumbers.SUPPORTED_REGIONS:
            return str(region)
    return None


def to_e164(raw: str, region: str) -> str | None:
    """``raw`` in E.164 ("+61881234567"), or None when it is not a usable phone number.

    Accepts what people and PBXes write: punctuation, the national trunk prefix, the region's
    international prefix (and the common "00"), CDR numbers whose "+" was stripped, ``tel:``
    and ``sip:`` URIs, and extensions such as "x123" (dropped). Internal extension numbers,
    placeholders and withheld caller ids give None. A bad ``region`` raises NumberError.
    """
    return _normalise(raw, validate_region(region))


def to_e164_uncached(raw: str, region: str) -> str | None:
    """``to_e164`` without the shared cache: for a CRM export's numbers, each read once when
    the contact index is built; the cache is for caller ids, which repeat."""
    return _normalise.__wrapped__(raw, validate_region(region))


# The same line written as E.164, national or without "+" ends in the same nine digits.
LINE_TAIL_DIGITS = 9


def line_tail(text: str | None, digits: int = LINE_TAIL_DIGITS) -> str:
    """The last ``digits`` digits of a number, punctuation ignored ("" when it has none)."""
    only = "".join(ch for ch in text or "" if ch.isdigit())
    return only[-digits:]


def is_e164(raw: str) -> bool:
    """Whether the stored text is already exactly an E.164 number: "+" and digits only."""
    return _E164_TEXT.fullmatch(raw) is not None and _normalise(raw, "ZZ") == raw


def mask_number(e164_or_raw: str, keep: int = 3) -> str:
    """The number with every digit but the last ``keep`` replaced, for presenter mode."""
    if keep < 0:
        raise ValueError(f"keep must be 0 or more, not {keep}")
    to_mask = sum(ch.isdigit() for ch in e164_or_raw) - keep
    out = []
    for ch in e164_or_raw:
        if ch.isdigit() and to_mask > 0:
            out.append(MASK)
            to_mask -= 1
        else:
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalise(raw: str, region: str) -> str | None:
    text = _strip_uri(raw)
    if not text:
        return None
    as_written = _read(text, region)
    if as_written is not None and _valid(*as_written) and _fits(as_written):
        return _format(*as_written)
    with_plus = _read(_as_international(text), region) if _may_lack_plus(text) else None
    if with_plus is not None and _valid(*with_plus) and _fits(with_plus):
        return _format(*with_plus)
    for number in (as_written, with_plus):
        if number is not None and _plausible(*number) and _reads_back(number):
            return _format(*number)
    return None


def _reads_back(number: tuple[int, str]) -> bool:
    """Whether the E.164 text of ``number`` reads as the same number again.

    A national part that starts with a trunk digit ("000001" in Germany reads as +49 00001)
    loses that digit when read back as E.164, so the answer would not survive a second pass.
    """
    return _fits(number) and _read(_format(*number), "ZZ") == number


def _fits(number: tuple[int, str]) -> bool:
    """E.164 has at most 15 digits, whatever lengths phonenumbers' metadata allows."""
    return _E164_TEXT.fullmatch(_format(*number)) is not None


def _strip_uri(raw: str) -> str:
    text = raw.strip()
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() in ("sip", "sips"):
        # phonenumbers reads tel: URIs itself, but would read a SIP URI's host as letters.
        return rest.split("@", 1)[0].strip()
    return text


def _may_lack_plus(text: str) -> bool:
    """Digits that may start with a country code: not a trunk prefix, maybe "00"."""
    return text[0].isdigit() and (text[0] != "0" or text.startswith("00"))


def _as_international(text: str) -> str:
    """The number as if the "+" had been stripped (CDRs) or written as "00" (most of Europe)."""
    if text.startswith("00"):
        return "+" + text[2:]
    return "+" + text


def _read(text: str, region: str) -> tuple[int, str] | None:
    """The country code and national (significant) number ``text`` holds, if any."""
    plain = _read_plain(text, region)
    if plain is not None:
        return plain
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number.country_code or 0, phonenumbers.national_significant_number(number)


def _valid(country_code: int, national: str) -> bool:
    """phonenumbers' is_valid_number, at a fraction of the cost (see _country_rules)."""
    pattern = _country_rules(country_code).valid.get(len(national))
    return pattern is not None and pattern.fullmatch(national) is not None


def _plausible(country_code: int, national: str) -> bool:
    """Landline or mobile length for its country, though not in phonenumbers' known ranges.

    phonenumbers' metadata lags newly opened ranges and rejects the ranges reserved for drama
    and testing (the simulator's US 555-01xx and UK 07700 900xxx), which are still numbers a
    bridge will match on. Placeholders such as 0000000000 are not.
    """
    rules = _country_rules(country_code)
    return len(national) in rules.landline_or_mobile_lengths and len(set(national)) > 1


def _format(country_code: int, national: str) -> str:
    return f"+{country_code}{national}"


# The fast path. phonenumbers.parse costs about three quarters of a normalisation, and most
# numbers are plain: E.164, or national with the trunk prefix. For those the country code and
# national number can be read off directly. Anything that parse could read another way (a
# possible international prefix, country code or trunk prefix inside an E.164 number, an
# Italian leading zero, a prefix transform) goes the slow way, so both give the same answer.


@dataclass(frozen=True)
class _Plan:
    """A region's prefixes as phonenumbers.parse reads them."""

    country_code: int
    trunk_prefix: re.Pattern[str] | None
    international_prefix: re.Pattern[str] | None
    transforms_prefix: bool
    general: re.Pattern[str] | None
    general_lengths: frozenset[int]

    def keeps_stripped(self, national: str) -> bool:
        """Whether parse would keep a number stripped of its trunk prefix (else it may not)."""
        return (
            len(national) in self.general_lengths
            and self.general is not None
            and self.general.fullmatch(national) is not None
        )


@functools.lru_cache(maxsize=512)
def _plan_for_region(region: str) -> _Plan | None:
    return _plan(phonenumbers.country_code_for_region(region), region)


@functools.lru_cache(maxsize=512)
def _plan_for(country_code: int) -> _Plan | None:
    """The plan of the dialling code's main region, which parse uses for "+" numbers."""
    return _plan(country_code, phonenumbers.region_code_for_country_code(country_code))


def _plan(country_code: int, region: str) -> _Plan | None:
    if not country_code:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    trunk, idd = metadata.national_prefix_for_parsing, metadata.international_prefix
    general = metadata.general_desc
    return _Plan(
        country_code=country_code,
        trunk_prefix=re.compile(trunk) if trunk else None,
        international_prefix=re.compile(idd) if idd else None,
        transforms_prefix=bool(metadata.national_prefix_transform_rule),
        general=re.compile(general.national_number_pattern)
        if general is not None and general.national_number_pattern
        else None,
        general_lengths=frozenset(general.possible_length if general is not None else ()),
    )


@dataclass(frozen=True)
class _CountryRules:
    valid: dict[int, re.Pattern[str]]  # by national number length
    landline_or_mobile_lengths: frozenset[int]


@functools.lru_cache(maxsize=512)
def _country_rules(country_code: int) -> _CountryRules:
    """A dialling code's valid numbers as one pattern per length, compiled once.

    phonenumbers calls a number valid when, in a region sharing its dialling code (AU, CX and
    CC share +61), it has a length and pattern of the region's general description and of one
    number type. is_valid_number reads those patterns on every call, finds the region by
    validating in each region in turn, then validates again; about 25 regions share +1.
    """
    alternatives: dict[int, list[str]] = {}
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
        general = metadata.general_desc if metadata is not None else None
        if metadata is None or general is None or not general.national_number_pattern:
            continue
        by_length: dict[int, dict[str, None]] = {}
        for desc in _number_types(metadata):
            if desc is not None and desc.national_number_pattern:
                for length in set(desc.possible_length) & set(general.possible_length):
                    by_length.setdefault(length, {})[desc.national_number_pattern] = None
        for length, types in by_length.items():
            # The lookahead checks the general pattern over the whole number, then the types'.
            alternatives.setdefault(length, []).append(
                f"(?=(?:{general.national_number_pattern})\\Z)(?:{'|'.join(types)})"
            )
    main = PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code)
    )
    lengths = {
        length
        for desc in ((main.fixed_line, main.mobile) if main is not None else ())
        if desc is not None
        for length in desc.possible_length
    }
    return _CountryRules(
        valid={
            length: re.compile("|".join(f"(?:{alt})" for alt in alts))
            for length, alts in alternatives.items()
        },
        landline_or_mobile_lengths=frozenset(lengths),
    )


def _number_types(metadata: PhoneMetadata) -> tuple[PhoneNumberDesc | None, ...]:
    return (
        metadata.fixed_line,
        metadata.mobile,
        metadata.toll_free,
        metadata.premium_rate,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    )


def _read_plain(text: str, region: str) -> tuple[int, str] | None:
    """What phonenumbers.parse reads in a plain number, or None to ask phonenumbers."""
    international = text.startswith("+")
    digits = text[1:] if international else text
    if not digits.isdigit():
        digits = digits.translate(_LAYOUT)
    if not (digits.isascii() and digits.isdigit()):
        return None
    split = _split_country_code(digits) if international else _strip_trunk_prefix(digits, region)
    if split is None or not split[1] or split[1][0] == "0":
        return None
    return split


def _split_country_code(digits: str) -> tuple[int, str] | None:
    if digits[0] == "0":
        return None
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            plan = _plan_for(code)
            national = digits[length:]
            if plan is None or (
                plan.trunk_prefix is not None and plan.trunk_prefix.match(national)
            ):
                return None
            return code, national
    return None


def _strip_trunk_prefix(digits: str, region: str) -> tuple[int, str] | None:
    plan = _plan_for_region(region)
    if (
        plan is None
        or plan.transforms_prefix
        or digits.startswith(str(plan.country_code))
        or (plan.international_prefix is not None and plan.international_prefix.match(digits))
    ):
        return None
    trunk = plan.trunk_prefix.match(digits) if plan.trunk_prefix is not None else None
    if trunk is None:
        return plan.country_code, digits
    national = digits[trunk.end() :]
    return (plan.country_code, national) if plan.keeps_stripped(national) else None
