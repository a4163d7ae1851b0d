"""A faster phone key for the common case, so that an import does not spend its time in parsing.

:func:`crm_core.dedupe.normalize_phone` parses every number with
``phonenumbers`` (some 30 µs a number: most of an import's time). A plain
Chinese mobile number, 11 ASCII digits ``1[3-9]…``, comes out of it as
``+86`` and the digits: it has no international or national prefix to strip
for region CN (those start ``00``, ``0``, ``11``, ``12`` or ``179``, which are
left to the full parse), and 11 digits is a possible length there. The same
digits written the usual ways, grouped 3-4-4 by spaces or dashes and perhaps
after ``+86`` (``138 1234 5678``, ``+86 138-1234-5678``), come out alike:
the parser drops that punctuation, and ``+86`` names the country region CN
assumes. Only numbers of an allocated mobile range are valid, so the digits
must also match ``phonenumbers``' own pattern of Chinese mobile numbers. So
:func:`phone_key` answers those numbers directly and hands everything else to
the real normaliser.

It is used only when the registry's ``phone`` normaliser is the core's own
with region CN, and only after :func:`agrees` has checked it against that
normaliser on numbers of every prefix it answers, so a change of either
``phonenumbers``' data or the core's normaliser switches it off instead of
changing any key.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable

import phonenumbers

from crm_core import dedupe
from crm_core.fields import Registry

PLAIN_MOBILE = re.compile(r"1(?:[3-689][0-9]|7[0-8])[0-9]{8}")
_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
# Without the data (a trimmed phonenumbers) nothing takes the fast path: (?!) never matches.
VALID_MOBILE = re.compile((_CN and _CN.mobile and _CN.mobile.national_number_pattern) or r"(?!)")
# 3-4-4 digits, each gap a space, a dash or nothing, perhaps after +86 (and a space or dash).
GROUPED = re.compile(r"(?:\+86[ -]?)?([0-9]{3})[ -]?([0-9]{4})[ -]?([0-9]{4})")
PREFIXES = [f"1{d}" for d in "345689"] + [f"17{d}" for d in "012345678"]
SAMPLES_PER_PREFIX = 20
SHAPES = ("{}{}{}", "{} {} {}", "{}-{}-{}", "+86{}{}{}", "+86 {}-{}-{}", "+86-{} {}{}")


def phone_key(value: str) -> str:
    """The phone key :func:`crm_core.dedupe.normalize_phone` gives ``value``, faster."""
    if len(value) == 11 and PLAIN_MOBILE.fullmatch(value) and VALID_MOBILE.fullmatch(value):
        return "+86" + value
    grouped = GROUPED.fullmatch(value)
    if grouped is not None:
        digits = "".join(grouped.groups())
        if PLAIN_MOBILE.fullmatch(digits) and VALID_MOBILE.fullmatch(digits):
            return "+86" + digits
    return dedupe.normalize_phone(value)


def agrees(normalize: Callable[[str], str], seed: int = 0) -> bool:
    """True when ``normalize`` gives :func:`phone_key`'s answer on sampled mobile numbers.

    The samples cover every prefix the fast path answers, in each way of
    writing it that the fast path reads; a number both refuse agrees too.
    """
    rng = random.Random(seed)
    for prefix in PREFIXES:
        for i in range(SAMPLES_PER_PREFIX):
            digits = prefix + "".join(rng.choices("0123456789", k=11 - len(prefix)))
            number = SHAPES[i % len(SHAPES)].format(digits[:3], digits[3:7], digits[7:])
            if _key_or_none(normalize, number) != _key_or_none(phone_key, number):
                return False
    return True


def _key_or_none(normalize: Callable[[str], str], number: str) -> str | None:
    try:
        return normalize(number)
    except ValueError:
        return None


def with_fast_phones(registry: Registry) -> Registry:
    """``registry`` itself, or a copy whose ``phone`` normaliser takes the fast path.

    The copy shares everything else (kinds, compiled validators, hooks).
    """
    normalize = registry.normalizers.get("phone")
    if normalize is not dedupe.normalize_phone or dedupe.DEFAULT_PHONE_REGION != "CN":
        return registry
    if not agrees(normalize):
        return registry
    fast = copy.copy(registry)
    fast.normalizers = {**registry.normalizers, "phone": phone_key}
    return fast
