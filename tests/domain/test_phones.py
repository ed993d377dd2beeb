import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from app.domain.phones import (
    MASK,
    NumberError,
    default_region,
    is_e164,
    mask_number,
    to_e164,
    validate_region,
)

ADELAIDE = "+61881234567"
SAN_FRANCISCO = "+14155550100"
LONDON = "+442079460001"


@pytest.mark.parametrize(
    ("region", "written", "e164"),
    [
        # Australia: trunk 0, international prefix 0011 (not 00), "+" stripped in CDRs.
        ("AU", "08 8123 4567", ADELAIDE),
        ("AU", "(08) 8123 4567", ADELAIDE),
        ("AU", "08-8123-4567", ADELAIDE),
        ("AU", "08.8123.4567", ADELAIDE),
        ("AU", "0881234567", ADELAIDE),
        ("AU", "+61 8 8123 4567", ADELAIDE),
        ("AU", "+61 (0)8 8123 4567", ADELAIDE),
        ("AU", "+610881234567", ADELAIDE),
        ("AU", "0011 61 8 8123 4567", ADELAIDE),
        ("AU", "61881234567", ADELAIDE),
        ("AU", " +61881234567 ", ADELAIDE),
        ("AU", "tel:+61-8-8123-4567", ADELAIDE),
        ("AU", "sip:+61881234567@pbx.example.com", ADELAIDE),
        ("AU", "08 8123 4567 x123", ADELAIDE),
        ("AU", "08 8123 4567 ext. 12", ADELAIDE),
        ("AU", "0412 345 678", "+61412345678"),
        ("AU", "1300 123 456", "+611300123456"),
        # United States: trunk 1, international prefix 011.
        ("US", "(415) 555-0100", SAN_FRANCISCO),
        ("US", "415-555-0100", SAN_FRANCISCO),
        ("US", "415.555.0100", SAN_FRANCISCO),
        ("US", "1 (415) 555-0100", SAN_FRANCISCO),
        ("US", "+1 415 555 0100", SAN_FRANCISCO),
        ("US", "14155550100", SAN_FRANCISCO),
        ("US", "tel:+1-415-555-0100", SAN_FRANCISCO),
        ("US", "(415) 555-0100 ext 7", SAN_FRANCISCO),
        # United Kingdom: trunk 0, international prefix 00.
        ("GB", "020 7946 0001", LONDON),
        ("GB", "(020) 7946 0001", LONDON),
        ("GB", "+44 20 7946 0001", LONDON),
        ("GB", "+44 (0)20 7946 0001", LONDON),
        ("GB", "00 44 20 7946 0001", LONDON),
        ("GB", "442079460001", LONDON),
        # Numbers from abroad, dialled or stored from the PBX's own country.
        ("AU", "14155550100", SAN_FRANCISCO),
        ("AU", "0011 1 415 555 0100", SAN_FRANCISCO),
        ("AU", "0011 44 20 7946 0001", LONDON),
        ("US", "011 61 8 8123 4567", ADELAIDE),
        ("US", "61881234567", ADELAIDE),
        ("GB", "00 61 8 8123 4567", ADELAIDE),
        ("GB", "14155550100", SAN_FRANCISCO),
        # The ranges reserved for drama, which the simulator's tenants use, still match.
        ("US", "(555) 010-0001", "+15550100001"),
        ("GB", "07700 900123", "+447700900123"),
    ],
)
def test_every_way_of_writing_a_number_gives_one_e164(region: str, written: str, e164: str) -> None:
    assert to_e164(written, region) == e164


@pytest.mark.parametrize(
    ("region", "written"),
    [
        ("AU", ""),
        ("AU", "   "),
        ("AU", "anonymous"),
        ("AU", "Withheld"),
        ("AU", "n/a"),
        ("AU", "101"),  # an extension
        ("US", "Ext.101"),
        ("GB", "ext 101"),
        ("AU", "10000"),  # the trunk's DN in a CDR
        ("AU", "0000 000 000"),  # a CRM placeholder
        ("US", "000-000-0000"),
        ("AU", "+61 8 8123 45"),  # too short
        ("AU", "+61 8 8123 4567 8901"),  # too long
        ("AU", "+999 1234 5678"),  # no such country code
        ("AU", "6.18812E+10"),  # what Excel does to a number column
        ("AU", "sip:101@pbx.example.com"),
    ],
)
def test_what_is_not_a_phone_number_gives_none(region: str, written: str) -> None:
    assert to_e164(written, region) is None


def test_a_bad_region_is_refused_by_name() -> None:
    with pytest.raises(NumberError, match=r"'XX' is not a region code; use a two-letter"):
        to_e164("08 8123 4567", "XX")


@pytest.mark.parametrize(("typed", "region"), [("AU", "AU"), (" gb ", "GB"), ("us", "US")])
def test_region_codes_are_read_in_any_case(typed: str, region: str) -> None:
    assert validate_region(typed) == region


@pytest.mark.parametrize("typed", ["Australia", "61", "", "UK", "ZZ"])
def test_what_is_not_a_region_code_says_so(typed: str) -> None:
    with pytest.raises(NumberError, match=f"'{typed}' is not a region code.*AU, US or GB"):
        validate_region(typed)


@pytest.mark.parametrize(
    ("licence_country", "dialling_code", "region"),
    [
        ("AU", "61", "AU"),
        ("gb", None, "GB"),
        ("AU", "44", "AU"),  # the licence's country wins
        (None, "61", "AU"),
        (None, "+44", "GB"),
        (None, "1", "US"),
        ("", " 64 ", "NZ"),
        ("XX", "61", "AU"),  # an unknown licence country falls back to the dialling code
        (None, "999", None),
        (None, "", None),
        (None, None, None),
    ],
)
def test_default_region_from_licence_then_numbering_plan(
    licence_country: str | None, dialling_code: str | None, region: str | None
) -> None:
    assert default_region(licence_country, dialling_code) == region


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("+61881234567", True),
        ("+14155550100", True),
        ("+15550100001", True),
        ("+61 8 8123 4567", False),
        ("+61-8-8123-4567", False),
        ("61881234567", False),
        ("08 8123 4567", False),
        ("+610881234567", False),  # the trunk 0 does not belong after +61
        ("+61881234567 ", False),
        ("+6188123", False),
        ("", False),
    ],
)
def test_is_e164_only_for_exactly_e164(stored: str, expected: bool) -> None:
    assert is_e164(stored) is expected


@pytest.mark.parametrize(
    ("number", "keep", "masked"),
    [
        ("+61881234567", 3, "+••••••••567"),
        ("08 8123 4567", 3, "•• •••• •567"),
        ("(415) 555-0100", 4, "(•••) •••-0100"),
        ("+61881234567", 0, "+•••••••••••"),
        ("101", 3, "101"),
        ("", 3, ""),
    ],
)
def test_mask_keeps_the_layout_and_the_last_digits(number: str, keep: int, masked: str) -> None:
    assert mask_number(number, keep) == masked
    assert MASK == "•"


def test_mask_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="keep"):
        mask_number("+61881234567", -1)


# Properties over real numbers: phonenumbers' example numbers with their last digits varied.

REGIONS = ("AU", "US", "GB", "NZ", "CA", "IE", "DE", "FR", "SG", "IT", "AR", "BR", "MX")
TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE)


@st.composite
def valid_numbers(draw: st.DrawFn) -> phonenumbers.PhoneNumber:
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(TYPES)))
    assume(example is not None)
    national = phonenumbers.national_significant_number(example)
    tail = draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}", None)
    assume(phonenumbers.is_valid_number(number))
    return number


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@given(valid_numbers())
def test_national_format_normalises_back_to_the_e164(number: phonenumbers.PhoneNumber) -> None:
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    assert to_e164(national, region) == _e164(number)


@given(valid_numbers(), st.sampled_from(REGIONS))
def test_international_formats_normalise_from_any_region(
    number: phonenumbers.PhoneNumber, region: str
) -> None:
    for fmt in (PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.RFC3966):
        assert to_e164(phonenumbers.format_number(number, fmt), region) == _e164(number)
    assert is_e164(_e164(number))


@given(st.text(alphabet="0123456789 +()-.x", max_size=20), st.sampled_from(REGIONS))
def test_to_e164_is_idempotent_on_its_own_output(written: str, region: str) -> None:
    e164 = to_e164(written, region)
    if e164 is not None:
        assert to_e164(e164, region) == e164
        assert is_e164(e164)


@given(
    valid_numbers(),
    st.sampled_from(REGIONS),
    st.sampled_from((PhoneNumberFormat.NATIONAL, PhoneNumberFormat.E164)),
    st.sampled_from(("", "+")),
)
def test_agrees_with_phonenumbers_wherever_it_reads_a_valid_number(
    number: phonenumbers.PhoneNumber, region: str, fmt: PhoneNumberFormat, strip: str
) -> None:
    # A number written for one country, read in another (and without its "+"): whatever
    # phonenumbers reads as a valid number, to_e164 reads the same way.
    written = phonenumbers.format_number(number, fmt).removeprefix(strip)
    try:
        parsed = phonenumbers.parse(written, region)
    except phonenumbers.NumberParseException:
        return
    if phonenumbers.is_valid_number(parsed):
        assert to_e164(written, region) == _e164(parsed)
