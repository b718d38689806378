"""Numbers as callers say them and speech-to-text writes them out: Korean Sino numerals (digit by
digit, "공일공", or by place, "천이백삼십사") and English words (digit by digit with "oh" or
"zero", in pairs, "twelve thirty four", or in full, "two hundred twenty one")."""

from __future__ import annotations

import random

KO_DIGITS = "공일이삼사오육칠팔구"
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def korean_digits(digits: str, rng: random.Random) -> str:
    """Digit by digit ("010" -> "공일공"); zero is 공, sometimes 영."""
    return "".join(("영" if rng.random() < 0.2 else "공") if d == "0" else KO_DIGITS[int(d)] for d in digits)


def korean_number(n: int) -> str:
    """By place, below 10,000 and above 0 (110 -> "백십", 1234 -> "천이백삼십사")."""
    if not 0 < n < 10_000:
        raise ValueError(f"n must be within 1..9999, got {n}")
    out = []
    for place, name in ((1000, "천"), (100, "백"), (10, "십"), (1, "")):
        digit = n // place % 10
        if digit:
            out.append(("" if digit == 1 and name else KO_DIGITS[digit]) + name)
    return "".join(out)


def korean_group(digits: str, rng: random.Random) -> str:
    """A group of digits read by place when it can be (no leading zero), else digit by digit."""
    if digits[0] != "0" and len(digits) > 1 and rng.random() < 0.5:
        return korean_number(int(digits))
    return korean_digits(digits, rng)


def english_digits(digits: str, rng: random.Random) -> str:
    """Digit by digit, zero as "oh" or "zero"."""
    zero = rng.choice(("oh", "zero"))
    return " ".join(zero if d == "0" else EN_DIGITS[int(d)] for d in digits)


def english_pair(digits: str, rng: random.Random) -> str:
    """Two digits as one number ("34" -> "thirty four"), a leading zero as "oh"."""
    if digits[0] == "0":
        return english_digits(digits, rng)
    n = int(digits)
    if n < 20:
        return _EN_TEENS[n - 10]
    return _EN_TENS[n // 10] + ("" if n % 10 == 0 else rng.choice((" ", "-")) + EN_DIGITS[n % 10])


def english_pairs(digits: str, rng: random.Random) -> str:
    """A group read in pairs ("1234" -> "twelve thirty four"); an odd first digit on its own."""
    words = []
    if len(digits) % 2:
        words.append(english_digits(digits[0], rng))
        digits = digits[1:]
    words += [english_pair(digits[i : i + 2], rng) for i in range(0, len(digits), 2)]
    return " ".join(words)


def english_number(n: int) -> str:
    """In full, below 10,000 and above 0 (221 -> "two hundred twenty one")."""
    if not 0 < n < 10_000:
        raise ValueError(f"n must be within 1..9999, got {n}")
    words = []
    if n >= 1000:
        words += [EN_DIGITS[n // 1000], "thousand"]
    if n // 100 % 10:
        words += [EN_DIGITS[n // 100 % 10], "hundred"]
    rest = n % 100
    if 10 <= rest < 20:
        words.append(_EN_TEENS[rest - 10])
    elif rest:
        words += [w for w in (_EN_TENS[rest // 10], EN_DIGITS[rest % 10] if rest % 10 else "") if w]
    return " ".join(words)
