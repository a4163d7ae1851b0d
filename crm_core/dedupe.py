"""Dedupe normalisers (防撞单): turn a field value into the key that must be unique."""

from __future__ import annotations

import re
import unicodedata

from crm_core.errors import quote
from crm_core.i18n import _

DEFAULT_PHONE_REGION = "CN"

# Legal-form words say nothing about which company it is, so they are dropped
# before comparing: "Acme Ltd." and "ACME Limited" are one company.
_COMPANY_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团",
    "公司",
    "incorporated",
    "corporation",
    "company",
    "limited",
    "gmbh",
    "corp",
    "inc",
    "ltd",
    "llc",
    "plc",
    "co",
    "sa",
    "ag",
)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """Return ``value`` in E.164 (``+8613812345678``); numbers without ``+`` use ``region``.

    Only numbers valid for their region are accepted: a possible length alone
    lets ``12345`` through as ``+8612345``.
    """
    # Imported on first use: its metadata takes long to load, and most commands check no phone.
    import phonenumbers

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("not a phone number: {value}", value=quote(value))) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_("not a phone number: {value}", value=quote(value)))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    """Return the address trimmed and lower-cased; refuse text that is not an address."""
    address = value.strip().lower()
    local, _at, domain = address.partition("@")
    if not local or "." not in domain or " " in address:
        raise ValueError(_("not an e-mail address: {value}", value=quote(value)))
    return address


def normalize_company(value: str) -> str:
    """Fold a company name: width, case, punctuation and legal-form words do not count."""
    text = unicodedata.normalize("NFKC", value).casefold()
    words = _NON_WORD.sub(" ", text).split()
    while len(words) > 1 and words[-1] in _COMPANY_SUFFIXES:
        words.pop()
    folded = "".join(words)
    for suffix in _COMPANY_SUFFIXES[:5]:
        if folded.endswith(suffix) and len(folded) > len(suffix):
            folded = folded[: -len(suffix)]
            break
    if not folded:
        raise ValueError(_("empty company name: {value}", value=quote(value)))
    return folded


def normalize_exact(value: str) -> str:
    """Compare text exactly, ignoring case, width and surrounding space."""
    folded = unicodedata.normalize("NFKC", str(value)).casefold().strip()
    if not folded:
        raise ValueError(_("empty value"))
    return folded
