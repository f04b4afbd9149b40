"""The checksums and plausibility rules behind each detector."""

from __future__ import annotations

import base64
import json

import pytest

from policies.dlp.validators import (
    basic_auth_valid,
    card_brand,
    card_valid,
    char_classes,
    iban_valid,
    is_placeholder,
    jwt_header_valid,
    luhn_valid,
    shannon_entropy,
    ssn_valid,
)


@pytest.mark.parametrize(
    ("digits", "brand"),
    [
        ("4111111111111111", "visa"),
        ("4222222222222", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("30569309025904", "diners"),
        ("6200000000000005", "unionpay"),
    ],
)
def test_published_test_cards_are_valid_with_their_brand(digits: str, brand: str) -> None:
    assert luhn_valid(digits)
    assert card_brand(digits) == brand
    assert card_valid(digits) == brand


@pytest.mark.parametrize(
    "digits",
    [
        "4111111111111112",  # Luhn off by one
        "1234567812345670",  # Luhn-valid, but no scheme starts with 1
        "9876543210987654",
        "411111111111",  # too short (12 digits: an AWS account id shape)
        "37828224631000",  # Amex prefix, wrong length
        "41111111111111111111",  # too long
    ],
)
def test_numbers_that_are_not_cards(digits: str) -> None:
    assert card_valid(digits) is None


@pytest.mark.parametrize(
    ("ssn", "valid"),
    [
        ("123-45-6789", True),
        ("536-22-1234", True),
        ("000-12-3456", False),  # area 000
        ("666-12-3456", False),  # area 666
        ("912-34-5678", False),  # 9xx are ITINs, never SSNs
        ("123-00-4567", False),  # group 00
        ("123-45-0000", False),  # serial 0000
        ("078-05-1120", False),  # the Woolworth wallet card
    ],
)
def test_ssn_rules(ssn: str, valid: bool) -> None:
    assert ssn_valid(*ssn.split("-")) is valid


@pytest.mark.parametrize(
    "iban",
    ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
     "NL91ABNA0417164300", "NO9386011117947", "BE68539007547034", "CH9300762011623852957"],
)  # fmt: skip
def test_registry_ibans_pass_mod97(iban: str) -> None:
    assert iban_valid(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013001",  # checksum broken
        "DE8937040044053201300",  # one digit short for DE
        "XX89370400440532013000",  # no such country
        "GB82WEST1234569876543!",
    ],
)
def test_broken_ibans_fail(iban: str) -> None:
    assert not iban_valid(iban)


def test_entropy_and_char_classes_separate_words_from_keys() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaaaaaa") == 0.0
    assert shannon_entropy("abcdefgh") == pytest.approx(3.0)
    assert char_classes("abc") == 1
    assert char_classes("aB3-") == 4


@pytest.mark.parametrize(
    "value",
    ["${DB_PASSWORD}", "<password>", "********", "xxxxxxxx", "changeme", "{{ vault.pw }}",
     "[REDACTED:secret]", "/run/secrets/db", "https://vault.internal/x", "arn:aws:secretsmanager:x"],
)  # fmt: skip
def test_placeholders_are_not_secrets(value: str) -> None:
    assert is_placeholder(value)


def test_real_looking_values_are_not_placeholders() -> None:
    assert not is_placeholder("hunter22")
    assert not is_placeholder("S3cr3t!x")


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_jwt_header_must_be_json_naming_an_algorithm() -> None:
    assert jwt_header_valid(_b64({"alg": "HS256", "typ": "JWT"}))
    assert not jwt_header_valid(_b64({"page": 2}))
    assert not jwt_header_valid("eyJub3QganNvbg")
    assert not jwt_header_valid("!!!")


def test_basic_auth_must_decode_to_user_and_password() -> None:
    assert basic_auth_valid(base64.b64encode(b"svc-deploy:pa55word").decode())
    assert not basic_auth_valid(base64.b64encode(b"no-colon-here").decode())
    assert not basic_auth_valid("not base64 at all")
