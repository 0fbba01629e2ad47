"""Check digits of numbers that identify a person: payment cards (Luhn) and Japan's My Number.

Used by the scrubber and by the export's independent detector to tell a real card or My Number
from any long number said in a stream (a view count, a score, a date without separators).
"""

from __future__ import annotations

__all__ = ["is_luhn_valid", "is_my_number"]


def is_luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes (ISO/IEC 7812)."""
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_my_number(digits: str) -> bool:
    """A 12-digit Individual Number (マイナンバー) whose last digit is its check digit.

    The check digit is defined by the ordinance of the Ministry of Internal Affairs and
    Communications (総務省令第八十五号, 2014): with P(n) the n-th digit counted from the right
    of the first eleven, and Q(n) = n + 1 for n ≤ 6 and n − 5 for n ≥ 7, the remainder
    r = Σ P(n)·Q(n) mod 11 gives the check digit 0 when r ≤ 1, and 11 − r otherwise.
    """
    if len(digits) != 12 or not digits.isdigit():
        return False
    body = digits[:11]
    total = 0
    for n, char in enumerate(reversed(body), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(char) * weight
    remainder = total % 11
    check = 0 if remainder <= 1 else 11 - remainder
    return check == int(digits[11])
