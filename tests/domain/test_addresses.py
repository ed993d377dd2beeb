import pytest

from app.domain.addresses import AddressError, parse_pbx_address, plain_http_warning
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
        ("https://pbx.example.com:99999", "Port 99999 is out of range"),
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


@pytest.mark.parametrize(
    ("pasted", "base_url"),
    [
        ("::1", "https://[::1]"),
        ("fe80::1", "https://[fe80::1]"),
        ("https://fe80::1/#/office/dashboard", "https://[fe80::1]"),
        ("[::1]:5001", "https://[::1]:5001"),
        ("https://[2001:db8::5]:5001", "https://[2001:db8::5]:5001"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_ipv6_addresses_bare_or_in_brackets(pasted: str, base_url: str) -> None:
    assert parse_pbx_address(pasted).base_url == base_url


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("pbx.example.com:0", "Port 0 is not a port a PBX can listen on"),
        ("https://pbx.example.com:0/", "Port 0"),
        ("https://pbx.example.com:65536", "Port 65536 is out of range: a port is 1 to 65535"),
        ("pbx.example.com:abc", "The port 'abc' is not a number"),
        ("pbx.example.com:5001:80", "An IPv6 address with a port goes in brackets"),
    ],
)
def test_each_bad_port_is_named(pasted: str, says: str) -> None:
    with pytest.raises(AddressError) as raised:
        parse_pbx_address(pasted)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("pasted", "warning"),
    [
        (
            "http://pbx.example.com:5001",
            "3CX serves its API over HTTPS on port 5001, and this address says http:// — "
            "did you mean https://pbx.example.com:5001?",
        ),
        ("http://pbx.example.com:443", "did you mean https://pbx.example.com?"),
        ("http://pbx.example.com", None),  # port 80: a proxy may well serve it
        ("http://127.0.0.1:8080", None),
        ("https://pbx.example.com:5001", None),
    ],
)
def test_plain_http_on_an_https_port_is_allowed_with_a_warning(
    pasted: str, warning: str | None
) -> None:
    address = parse_pbx_address(pasted)
    assert address.scheme == pasted.split("://")[0]  # still allowed, as given
    found = plain_http_warning(address)
    if warning is None:
        assert found is None
    else:
        assert found is not None and found.endswith(warning)
