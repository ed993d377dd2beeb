#!/usr/bin/env bash
# Sign, notarise and staple the macOS release, driven by environment variables. A step whose
# variables are absent is skipped with a note and exit code 0, so unsigned builds still work.
#
#   sign_and_notarize.sh keychain        import the Developer ID certificate into a throwaway
#                                        keychain (before PyInstaller, which signs the .app)
#   sign_and_notarize.sh app APP.app     check the .app's signature: Developer ID, hardened runtime
#   sign_and_notarize.sh dmg IMAGE.dmg   sign the disk image, notarise it, staple the ticket
#
# Signing
#   MACOS_SIGNING_IDENTITY        "Developer ID Application: Company (TEAMID)". The spec
#                                 (build/pbx-companion.spec) signs every binary and the .app
#                                 with it: hardened runtime, entitlements.plist beside this file.
#   MACOS_CERTIFICATE_P12_BASE64  the certificate and key, .p12 in base64 (for `keychain`)
#   MACOS_CERTIFICATE_PASSWORD    the .p12's password
# Notarisation (notarytool), with either an App Store Connect API key
#   NOTARY_KEY_PATH, NOTARY_KEY_ID, NOTARY_ISSUER_ID
# or an Apple ID
#   NOTARY_APPLE_ID, NOTARY_TEAM_ID, NOTARY_PASSWORD (an app-specific password)
set -euo pipefail

note() { echo "sign_and_notarize: $*"; }

identity="${MACOS_SIGNING_IDENTITY:-}"

import_certificate() {
    if [[ -z "${MACOS_CERTIFICATE_P12_BASE64:-}" || -z "$identity" ]]; then
        note "skipped: no MACOS_CERTIFICATE_P12_BASE64 / MACOS_SIGNING_IDENTITY, the build stays ad-hoc signed"
        return
    fi
    local keychain="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pbx-companion-signing.keychain-db"
    local keychain_password p12
    keychain_password="$(uuidgen)"
    p12="$(mktemp)"
    base64 --decode <<<"$MACOS_CERTIFICATE_P12_BASE64" >"$p12"
    security create-keychain -p "$keychain_password" "$keychain"
    security set-keychain-settings -lut 3600 "$keychain"
    security unlock-keychain -p "$keychain_password" "$keychain"
    security import "$p12" -k "$keychain" -P "${MACOS_CERTIFICATE_PASSWORD:-}" -T /usr/bin/codesign
    rm -f "$p12"
    # codesign may use the key without a prompt (there is no one to click "Allow" on CI).
    security set-key-partition-list -S apple-tool:,apple: -s -k "$keychain_password" "$keychain" >/dev/null
    # shellcheck disable=SC2046  # the existing keychains, one word each
    security list-keychains -d user -s "$keychain" $(security list-keychains -d user | tr -d '"')
    security find-identity -v -p codesigning "$keychain" | grep -F "$identity" >/dev/null \
        || { note "the certificate does not hold the identity $identity"; exit 1; }
    note "imported the signing certificate for $identity"
}

check_app() {
    local app="$1"
    [[ -d "$app" ]] || { note "no app bundle at $app"; exit 1; }
    if [[ -z "$identity" ]]; then
        note "skipped: no MACOS_SIGNING_IDENTITY, $app is ad-hoc signed (runs here, not on other Macs)"
        return
    fi
    codesign --verify --deep --strict --verbose=2 "$app"
    local details
    details="$(codesign --display --verbose=2 "$app" 2>&1)"
    grep -q "flags=.*runtime" <<<"$details" || { note "$app lacks the hardened runtime"; exit 1; }
    grep -qF "Authority=$identity" <<<"$details" || { note "$app is not signed by $identity"; exit 1; }
    note "$app: signed by $identity with the hardened runtime"
}

notary_credentials() {
    if [[ -n "${NOTARY_KEY_PATH:-}" && -n "${NOTARY_KEY_ID:-}" && -n "${NOTARY_ISSUER_ID:-}" ]]; then
        credentials=(--key "$NOTARY_KEY_PATH" --key-id "$NOTARY_KEY_ID" --issuer "$NOTARY_ISSUER_ID")
    elif [[ -n "${NOTARY_APPLE_ID:-}" && -n "${NOTARY_TEAM_ID:-}" && -n "${NOTARY_PASSWORD:-}" ]]; then
        credentials=(--apple-id "$NOTARY_APPLE_ID" --team-id "$NOTARY_TEAM_ID" --password "$NOTARY_PASSWORD")
    else
        return 1
    fi
}

sign_and_notarize_dmg() {
    local dmg="$1"
    [[ -f "$dmg" ]] || { note "no disk image at $dmg"; exit 1; }
    if [[ -z "$identity" ]]; then
        note "skipped: no MACOS_SIGNING_IDENTITY, $dmg is neither signed nor notarised"
        return
    fi
    codesign --force --timestamp --sign "$identity" "$dmg"
    codesign --verify --verbose=2 "$dmg"
    local credentials=()
    if ! notary_credentials; then
        note "signed $dmg; notarisation skipped: no NOTARY_KEY_* or NOTARY_APPLE_ID/TEAM_ID/PASSWORD"
        return
    fi
    # --wait returns Apple's verdict; a rejection exits non-zero and the log says why.
    local result
    if ! result="$(xcrun notarytool submit "$dmg" "${credentials[@]}" --wait --timeout 30m --output-format json)"; then
        note "notarisation failed: $result"
        local id
        id="$(sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p' <<<"$result" | head -n 1)"
        [[ -n "$id" ]] && xcrun notarytool log "$id" "${credentials[@]}" || true
        exit 1
    fi
    grep -q '"status" *: *"Accepted"' <<<"$result" || { note "not accepted: $result"; exit 1; }
    xcrun stapler staple "$dmg"
    xcrun stapler validate "$dmg"
    spctl --assess --type open --context context:primary-signature --verbose=2 "$dmg"
    note "$dmg: signed, notarised and stapled"
}

case "${1:-}" in
    keychain) import_certificate ;;
    app) check_app "${2:?usage: $0 app APP.app}" ;;
    dmg) sign_and_notarize_dmg "${2:?usage: $0 dmg IMAGE.dmg}" ;;
    *)
        echo "usage: $0 keychain | app APP.app | dmg IMAGE.dmg" >&2
        exit 2
        ;;
esac
