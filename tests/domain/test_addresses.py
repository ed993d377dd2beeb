import pytest

from app.domain.addresses import AddressError, parse_pbx_address
from app.domain.pbx import HostingMode, guess_hosting_mode


@pytest.mark.parametrize(
    ("pasted", "base_url"),
    [
        ("pbx.example.com", "https://pbx.example.com"),
        ("  pbx.example.com:5001 \n", "https://pbx.example.com:5001"),
        ("https://PBX.Example.com:5001/#/office/dashboard", "https://pbx.example.com:5001"),
        ("https://acme.my3cx.com.au/webclient/#/people", "https://acme.my3cx.com.au"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://[::1]:5001", "https://[::1]:5001"),
        ("pbx.example.com.", "https://pbx.example.com"),
    ],
)
def test_normalises_what_engineers_paste(pasted: str, base_url: str) -> None:
    assert parse_pbx_address(pasted).base_url == base_url


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("", "empty"),
        ("pbx example.com", "spaces"),
        ("ftp://pbx.example.com", "https://"),
        ("https://", "no host"),
        ("https://pbx.example.com:99999", "not a valid URL"),
        ("https://admin:pw@pbx.example.com", "user name"),
        ("https://pbx_bad!.com", "not a valid host"),
    ],
)
def test_bad_addresses_say_what_is_wrong(pasted: str, says: str) -> None:
    with pytest.raises(AddressError, match=says):
        parse_pbx_address(pasted)


def test_hosting_mode_hints() -> None:
    assert guess_hosting_mode("acme.my3cx.com.au", 443) is HostingMode.HOSTED_BY_3CX
    assert guess_hosting_mode("acme.3cx.us", 443) is HostingMode.HOSTED_BY_3CX
    assert guess_hosting_mode("pbx.acme.com", 5001) is HostingMode.SELF_MANAGED
    assert guess_hosting_mode("pbx.acme.com", 443) is HostingMode.UNKNOWN
    # 3CX names are also given to self-managed installs, which listen on 5001.
    assert guess_hosting_mode("acme.3cx.eu", 5001) is HostingMode.SELF_MANAGED
