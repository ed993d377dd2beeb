"""Field faults the simulator can inject, one switch each, combinable at runtime."""

from __future__ import annotations

from collections.abc import Iterable

# name -> default value (None = plain switch). Knobs are listed here too: they shape the tenant
# or the wire without being a field fault.
FAULTS: dict[str, str | None] = {
    "licence-expired": None,
    # The licence answers {"value": null}: seen behind a half-finished upgrade (issue 18).
    "licence-unreadable": None,
    "old-version": None,
    "missing-recording-role": None,
    "missing-history-role": None,
    "extension-not-recording": None,
    "late-recording": "60",
    "unnormalised-contacts": None,
    "retention-deleted": "30",
    "bad-key": None,
    "over-privileged": None,
    "no-call-control": None,
    "recording-stopped": None,
    "flaky-5xx": "3",
    "garbage-body": None,
    "drop-connection": None,
    "ws-drop": "5",
    # Lose the next websocket frame in transit (a sequence gap the client must resync from).
    "ws-skip-sequence": None,
    "hang": None,
    "tls-expired": None,
    "tls-wrong-host": None,
    "tls-expiring": "7",
    "tls-renewed": None,
}

KNOBS: dict[str, str | None] = {
    # Token lifetime in seconds (the wire value still follows the version's unit).
    "token-lifetime": "3600",
    # The admin console's sign-in tokens (60 s seen on 20.0.8); renewed with the refresh token.
    "admin-token-lifetime": "60",
    "admin-refresh-refused": None,
    # expires_in in the token answer says this many while the JWT's exp keeps the real lifetime.
    "token-expires-in-says": "3600",
    # A new token revokes the previous one for the same client ("one active token").
    "single-token": None,
    # Tenant country: AU, US or GB.
    "country": "AU",
    # Wire variants API-NOTES leaves open; a client must cope with each.
    # Server-driven paging: at most N rows a response, the rest behind @odata.nextLink.
    "server-paging": "50",
    # $top above N is silently cut to N rows (no error, no nextLink).
    "silent-top-cap": "50",
    # $top above N is refused with 400 on every collection (seen at 100 on /Users).
    "top-limit": "50",
    # A wrong key answers 400 {"error":"invalid_client"} instead of 401.
    "invalid-client-400": None,
    # A missing recording file answers a bare 404 instead of 400 FILE_NOT_FOUND.
    "file-not-found-404": None,
    # Responses carry no X-3CX-Version header.
    "no-version-header": None,
    # v18 recording download (path unconfirmed, API-NOTES §7): only the first known form
    # (RecordingList/Download) answers, only the second (RecordingList/DownloadRecord), or none
    # (404 on each). Off: both answer.
    "v18-download-path": "none",
    # Call Control sees only these DNs ("Extensions to Monitor"): "all", "none" or "101,102".
    # With none selected the API answers but no events ever arrive (a setup-form trap).
    "monitored": "all",
    # These extensions record only on demand (Record calls off, the user may record): their
    # answered calls have no recording unless the user started one, which nobody does here.
    "on-demand-recording": "104,107",
    # How 3CX resolves callers in its phonebook: NotResolve, MatchExact or MatchLength:N.
    "phonebook-resolving": "MatchExact",
    # Two different people at one company line: numbers several contacts share.
    "shared-numbers": None,
    # Named departments of these sizes, filled in extension order; the rest stay in DEFAULT.
    "departments": "Sales:6,Support:4",
    # The admin may create API clients but the PBX refuses these of their settings: the
    # department (groups), the System Owner role (role), the Extensions to Monitor (peers).
    "api-client-settings-refused": "groups",
}

# One line each for `pbx-companion sim --help`.
DESCRIPTIONS: dict[str, str] = {
    "licence-expired": "licence inactive, expiry date in the past (cause 1)",
    "licence-unreadable": 'the licence answers {"value": null}: it cannot be read',
    "old-version": "v18 older than build 11 (18.0.10.5), below the supported floor",
    "missing-recording-role": "recordings list and download 403, call history 200 (cause 2)",
    "missing-history-role": "call history 403, recordings 200",
    "extension-not-recording": "several extensions record nothing (cause 3)",
    "late-recording": "=SECONDS|never: recordings appear that long after hang-up (cause 4)",
    "unnormalised-contacts": "phonebook and CRM export numbers in local formats (cause 5)",
    "retention-deleted": "=DAYS: auto-delete; older recordings in the call log are gone (cause 6)",
    "bad-key": "the token endpoint answers 401 even for the right key (cause 7)",
    "over-privileged": "the token carries admin claims",
    "no-call-control": "Call Control REST and websocket 403: clients must poll",
    "recording-stopped": "SystemStatus says recording stopped and quota reached",
    "flaky-5xx": "=N: the next N requests answer 503, then recover",
    "garbage-body": "XAPI GETs answer 200 with an HTML page",
    "drop-connection": "connections are closed mid-response",
    "ws-drop": "=SECONDS: the websocket is dropped that often",
    "ws-skip-sequence": "the next websocket frame is lost (a sequence gap)",
    "hang": "accept connections and never answer",
    "tls-expired": "serve an expired certificate (with --tls)",
    "tls-wrong-host": "serve a certificate for another host name (with --tls)",
    "tls-expiring": "=DAYS: serve a valid certificate that expires in DAYS days (with --tls)",
    "tls-renewed": "serve a renewed certificate: new key, via an intermediate CA (with --tls)",
    "token-lifetime": "=SECONDS: how long tokens live (default 3600)",
    "admin-token-lifetime": "=SECONDS: how long an admin sign-in lives (default 60)",
    "admin-refresh-refused": "an admin sign-in cannot be renewed with its refresh token",
    "token-expires-in-says": "=N: expires_in claims N; the JWT's exp keeps the real lifetime",
    "single-token": "a new token revokes the previous one",
    "country": "=AU|US|GB: the customer's country and numbering",
    "server-paging": "=N: at most N rows a response, the rest behind @odata.nextLink",
    "silent-top-cap": "=N: $top above N is silently cut to N rows",
    "top-limit": "=N: $top above N is refused with 400",
    "invalid-client-400": "a wrong key answers 400 invalid_client instead of 401",
    "file-not-found-404": "a missing recording answers a bare 404",
    "no-version-header": "responses carry no X-3CX-Version header",
    "v18-download-path": (
        "=1|2|none: v18 recordings download only on the first known path (Download), the "
        "second (DownloadRecord), or on none (404)"
    ),
    "monitored": "=all|none|101,102: the extensions Call Control may see",
    "on-demand-recording": "=104,107: these extensions record only on demand (cause 3)",
    "shared-numbers": "two people at one company line: numbers several contacts share",
    "phonebook-resolving": (
        "=NotResolve|MatchExact|MatchLength:N: how 3CX matches callers to phonebook contacts"
    ),
    "departments": (
        "=NAME:N,NAME:N: departments of N extensions each (in number order); the rest stay in "
        "DEFAULT"
    ),
    "api-client-settings-refused": (
        "=groups|role|peers: an admin setting a new API client's department (403), System "
        "Owner role (403) or Extensions to Monitor (400) is refused"
    ),
}

# Fault-free presets. Every fault is also a preset of the same name.
PRESETS: dict[str, list[str]] = {
    "healthy": [],
    "au": ["country=AU"],
    "us": ["country=US"],
    "gb": ["country=GB"],
    "demo-broken-roles": ["missing-recording-role", "late-recording=10"],
}

# Faults that only make sense before start (they change the tenant or the version).
STARTUP_ONLY = {
    "old-version",
    "country",
    "unnormalised-contacts",
    "shared-numbers",
    "extension-not-recording",
    "on-demand-recording",
    "departments",
}


class UnknownFault(ValueError):
    pass


def parse_spec(spec: str) -> tuple[str, str | None]:
    name, sep, value = spec.strip().partition("=")
    name = name.strip().lower()
    if name not in FAULTS and name not in KNOBS:
        raise UnknownFault(f"unknown fault or knob {name!r}")
    if sep:
        return name, value.strip()
    return name, FAULTS.get(name, KNOBS.get(name))


def expand_scenarios(names: Iterable[str]) -> list[str]:
    specs: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if name in PRESETS:
            specs.extend(PRESETS[name])
        else:
            parse_spec(name)
            specs.append(name)
    return specs


class FaultSet:
    """The active faults and knobs; safe to change while the simulator runs."""

    def __init__(self, specs: Iterable[str] = ()) -> None:
        self._active: dict[str, str | None] = {}
        self._flaky_left = 0
        for spec in specs:
            self.enable(spec)

    def enable(self, spec: str) -> None:
        name, value = parse_spec(spec)
        self._active[name] = value
        if name == "flaky-5xx":
            self._flaky_left = self.int_value(name, 3)

    def set(self, name: str, value: str) -> None:
        self.enable(f"{name}={value}")

    def disable(self, name: str) -> None:
        self._active.pop(name.strip().lower(), None)

    def clear(self) -> None:
        self._active.clear()

    def __contains__(self, name: object) -> bool:
        return name in self._active

    def active(self, name: str) -> bool:
        return name in self._active

    def value(self, name: str) -> str | None:
        return self._active.get(name)

    def int_value(self, name: str, default: int) -> int:
        raw = self._active.get(name)
        try:
            return int(float(raw)) if raw is not None else default
        except ValueError:
            return default

    def float_value(self, name: str, default: float) -> float:
        raw = self._active.get(name)
        try:
            return float(raw) if raw is not None else default
        except ValueError:
            return default

    def numbers(self, name: str) -> tuple[str, ...]:
        """A knob's comma-separated extension numbers ("104,107"); () when it is off."""
        raw = self._active.get(name) or ""
        return tuple(n.strip() for n in raw.split(",") if n.strip())

    def recording_delay_s(self, default_s: float) -> float | None:
        """How long after hang-up 3CX writes a recording: late-recording's delay when on, None
        when it never does."""
        if "late-recording" not in self._active:
            return default_s
        if (self._active["late-recording"] or "").strip().lower() == "never":
            return None
        return self.float_value("late-recording", default_s)

    def take_flaky(self) -> bool:
        """True while the current 503 burst lasts; the burst then ends by itself."""
        if "flaky-5xx" not in self._active or self._flaky_left <= 0:
            return False
        self._flaky_left -= 1
        return True

    def as_list(self) -> list[str]:
        return [n if v is None else f"{n}={v}" for n, v in sorted(self._active.items())]
