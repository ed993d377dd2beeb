import logging

import pytest

from app.services.logs.setup import SecretRedactor


def test_registered_secrets_tokens_and_bearer_headers_are_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redactor = SecretRedactor()
    redactor.register("K5yeXQ8Q6zaY3XZ7iVT7blX6n6wIA6Sc")
    logger = logging.getLogger("pbx.test.redaction")
    logger.addFilter(redactor)
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJyb2xlIjoiUmVwb3J0cyJ9.c2lnbmF0dXJlLWJ5dGVz"
    with caplog.at_level(logging.INFO, logger="pbx.test.redaction"):
        logger.info("posting client_secret=%s", "K5yeXQ8Q6zaY3XZ7iVT7blX6n6wIA6Sc")
        logger.info("Authorization: Bearer abc.def-ghi")
        logger.info("token %s expired", jwt)
    text = caplog.text
    assert "K5yeXQ8Q6zaY3XZ7iVT7blX6n6wIA6Sc" not in text
    assert "abc.def-ghi" not in text and jwt not in text
    assert text.count("***") == 3
    logger.removeFilter(redactor)


def test_short_strings_are_not_treated_as_secrets() -> None:
    redactor = SecretRedactor()
    redactor.register("ab")  # would mangle every message
    assert redactor.redact("about a bag") == "about a bag"
