"""Synthetic personal data in the formats Korean callers, agents and speech-to-text actually
produce (resident and foreigner registration numbers with valid birth dates, mobile and landline
numbers, Luhn-valid card numbers, written and spoken e-mail, Korean and English addresses):
written with any separator a transcript uses, and spoken, in Korean or English number words."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

from edgectl.synthetic.number_words import (
    english_digits,
    english_number,
    english_pairs,
    korean_digits,
    korean_group,
    korean_number,
)

PII_FORMATS: dict[str, tuple[str, ...]] = {
    "RRN": ("hyphen", "plain", "spaced", "fullwidth", "spaced_hyphen", "newline", "words_ko", "words_en"),
    "FRN": ("hyphen", "plain", "spaced", "fullwidth", "spaced_hyphen", "newline", "words_ko", "words_en"),
    "PHONE": ("mobile", "mobile_plain", "mobile_spaced", "mobile_dots", "mobile_intl", "mobile_intl_plain",
              "mobile_parens", "legacy_mobile", "seoul", "area", "area_spaced", "internet", "landline_intl", "fullwidth",
              "spaced_hyphens", "slashes", "underscores", "newline", "intl_no_plus", "words_ko", "words_ko_place",
              "words_en", "words_en_pairs", "words_mixed"),
    "CARD": ("spaces", "hyphens", "plain", "amex", "domestic", "unionpay19", "spaced_hyphens", "newline", "words_en",
             "words_ko"),
    "EMAIL": ("plain", "mixed_case", "plus_tag", "co_kr", "spoken_ko", "spoken_en", "at_parens", "spoken_en_dotted",
              "spoken_ko_hangul", "spoken_ko_words", "spoken_ko_at"),
    "ADDRESS": ("road", "road_city_district", "road_detail", "road_beongil", "road_no_province", "sejong", "lot",
                "english", "english_unit", "romanised", "romanised_road_first", "road_no_district", "road_bare",
                "road_words_ko", "english_words"),
}
NEEDS_ADDRESS_CUE = frozenset({("ADDRESS", "road_bare")})
"""Formats recognised only beside an address word ("주소는", "보내주세요", "I live"): a road and a
number alone read like "연결로 2" too often. Generators put them in such sentences only."""
_HANGUL_DOMAINS = {"naver": "네이버", "gmail": "지메일", "daum": "다음", "hanmail": "한메일", "kakao": "카카오", "outlook": "아웃룩"}
_KO_TLDS = {"com": "컴", "net": "넷"}
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_PROVINCES = ("서울특별시", "서울", "부산광역시", "대구광역시", "인천광역시", "광주광역시", "대전광역시", "울산광역시", "경기도", "강원특별자치도",
              "충청북도", "충남", "전북특별자치도", "전라남도", "경상북도", "경남", "제주특별자치도")
_DISTRICTS = ("중구", "강남구", "서초구", "해운대구", "수성구", "연수구", "북구", "유성구", "남구", "분당구", "춘천시", "청주시", "천안시",
              "전주시", "순천시", "포항시", "양평군", "제주시", "창원시")
_ROADS = ("세종대로", "테헤란로", "판교역로", "중앙로", "올림픽로", "도산대로", "월드컵북로", "새문안로", "해운대로", "동대구로", "한누리대로",
          "봉은사로", "충장로", "둔산로", "문화로", "시청길", "번영로", "가로수길")
_EN_STREETS = ("Baker Street", "Maple Avenue", "Oak Street", "Pennsylvania Avenue", "Sunset Boulevard", "Elm Road", "Cedar Lane",
               "Park Drive", "Harbor Way", "Hill Court")
_ROMANISED = ("Sejong-daero", "Teheran-ro", "Pangyoyeok-ro", "Jungang-ro", "Olympic-ro", "Dosan-daero", "Haeundae-ro")
_NAMES = ("minsu.kim", "jiyoung", "hong_gildong", "seojun.lee", "haeun92", "jpark", "sooah.choi", "taeyang", "john.doe", "emily.r")
_DOMAINS = ("naver.com", "gmail.com", "daum.net", "hanmail.net", "kakao.com", "outlook.com")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + _digits(rng, length - len(prefix) - 1)
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(map(int, reversed(body))))
    return body + str((10 - total % 10) % 10)


def _registration(rng: random.Random, foreign: bool) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 79))
    gender = rng.choice(("56" if foreign else "12") if born.year < 2000 else ("78" if foreign else "34"))
    body = born.strftime("%y%m%d") + gender + _digits(rng, 5)
    check = (11 - sum(int(d) * w for d, w in zip(body, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True)) % 11) % 10
    return body + (str(check) if rng.random() < 0.5 else _digits(rng, 1))


def _group(number: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(number[i : i + size])
        i += size
    return sep.join(p for p in parts if p)


def _spoken_groups(groups: list[str], fmt: str, rng: random.Random) -> str:
    """Digit groups read out: `words_ko` digit by digit, `words_ko_place` by place where it can,
    `words_en` digit by digit, `words_en_pairs` in pairs, joined as a caller pauses."""
    if fmt.startswith("words_ko"):
        read = korean_group if fmt == "words_ko_place" else korean_digits
        return rng.choice((" ", "에 ", " 다시 ")).join(read(g, rng) for g in groups)
    read_en = english_pairs if fmt == "words_en_pairs" else english_digits
    return rng.choice((", ", " ", " dash ")).join(read_en(g, rng) if i or fmt != "words_en_pairs" else english_digits(g, rng)
                                                  for i, g in enumerate(groups))


def _separated(groups: list[str], fmt: str, rng: random.Random) -> str:
    """Digit groups with the separators a transcript writes: spaced hyphens, slashes,
    underscores, or a line break somewhere inside."""
    if fmt in ("spaced_hyphen", "spaced_hyphens"):
        return " - ".join(groups)
    if fmt == "slashes":
        return "/".join(groups)
    if fmt == "underscores":
        return "_".join(groups)
    cut = rng.randrange(1, len(groups))  # newline
    return "-".join(groups[:cut]) + rng.choice(("\n", "-\n", " \n")) + "-".join(groups[cut:])


def pii_value(kind: str, fmt: str, rng: random.Random) -> str:
    """One synthetic personal-data value of `kind` written in format `fmt` (see `PII_FORMATS`)."""
    if kind in ("RRN", "FRN"):
        number = _registration(rng, kind == "FRN")
        groups = [number[:6], number[6:]]
        if fmt.startswith("words"):
            return _spoken_groups(groups, fmt, rng)
        if fmt in ("spaced_hyphen", "newline"):
            return _separated(groups, fmt, rng)
        return {"hyphen": f"{number[:6]}-{number[6:]}", "plain": number, "spaced": f"{number[:6]} {number[6:]}",
                "fullwidth": f"{number[:6]}-{number[6:]}".translate(_FULLWIDTH)}[fmt]
    if kind == "PHONE":
        return _phone(fmt, rng)
    if kind == "CARD":
        return _card(fmt, rng)
    if kind == "EMAIL":
        return _email(fmt, rng)
    return _address(fmt, rng)


def _phone(fmt: str, rng: random.Random) -> str:
    mid, last = _digits(rng, 4), _digits(rng, 4)
    area = rng.choice(("031", "032", "033", "041", "042", "051", "052", "053", "054", "055", "061", "062", "063", "064"))
    if fmt in ("spaced_hyphens", "slashes", "underscores", "newline"):
        return _separated(["010", mid, last], fmt, rng)
    if fmt == "intl_no_plus":
        return rng.choice((f"82 10 {mid} {last}", f"82-10-{mid}-{last}", f"0082 10 {mid} {last}"))
    if fmt.startswith("words"):
        if fmt == "words_mixed":
            return f"010 {_spoken_groups([mid, last], rng.choice(('words_ko', 'words_en')), rng)}"
        groups = rng.choice((["010", mid, last], [area, mid[:3], last]))
        return _spoken_groups(groups, fmt, rng)
    return {"mobile": f"010-{mid}-{last}", "mobile_plain": f"010{mid}{last}", "mobile_spaced": f"010 {mid} {last}",
            "mobile_dots": f"010.{mid}.{last}", "mobile_intl": f"+82 10-{mid}-{last}", "mobile_intl_plain": f"+8210{mid}{last}",
            "mobile_parens": f"(010) {mid}-{last}", "legacy_mobile": f"01{rng.choice('16789')}-{mid[:3]}-{last}",
            "seoul": f"02-{mid[: rng.choice((3, 4))]}-{last}", "area": f"{area}-{mid[:3]}-{last}", "area_spaced": f"{area} {mid} {last}",
            "internet": f"070-{mid}-{last}", "landline_intl": f"+82 2 {mid} {last}",
            "fullwidth": f"010-{mid}-{last}".translate(_FULLWIDTH)}[fmt]


def _card(fmt: str, rng: random.Random) -> str:
    if fmt == "amex":
        return _group(_luhn_complete(rng, rng.choice(("34", "37")), 15), (4, 6, 5), " ")
    if fmt == "unionpay19":
        return _group(_luhn_complete(rng, "62", 19), (4, 4, 4, 4, 3), " ")
    number = _luhn_complete(rng, rng.choice(("9410", "9430")) if fmt == "domestic" else rng.choice(("4", "51", "53", "2221")), 16)
    groups = [number[i : i + 4] for i in range(0, 16, 4)]
    if fmt in ("spaced_hyphens", "newline"):
        return _separated(groups, fmt, rng)
    if fmt.startswith("words"):
        return _spoken_groups(groups, fmt, rng)
    return {"spaces": _group(number, (4, 4, 4, 4), " "), "hyphens": _group(number, (4, 4, 4, 4), "-"), "plain": number,
            "domestic": _group(number, (4, 4, 4, 4), "-")}[fmt]


def _email(fmt: str, rng: random.Random) -> str:
    name, domain = rng.choice(_NAMES), rng.choice(_DOMAINS)
    host, tld = domain.split(".", 1)
    if fmt == "spoken_en_dotted":
        spoken = name.replace(".", " dot ").replace("_", " underscore ")
        return f"{spoken} at {host} dot {tld}"
    if fmt == "spoken_ko_hangul":
        return f"{name} 골뱅이 {_HANGUL_DOMAINS[host]} 닷{_KO_TLDS[tld]}"
    if fmt == "spoken_ko_words":
        spoken = name.replace(".", " 점 ").replace("_", " 언더바 ")
        return f"{spoken} 골뱅이 {host} 점 {tld}"
    if fmt == "spoken_ko_at":
        return f"{name} 앳 {host} 닷{_KO_TLDS[tld]}"
    return {"plain": f"{name}@{domain}", "mixed_case": f"{name.title()}{rng.randint(1, 99)}@{domain}",
            "plus_tag": f"{name}+bill@{domain}", "co_kr": f"{name}@{host}.co.kr", "spoken_ko": f"{name} 골뱅이 {domain}",
            "spoken_en": f"{name} at {host} dot {tld}", "at_parens": f"{name} (at) {domain}"}[fmt]


def _address(fmt: str, rng: random.Random) -> str:
    building = f"{rng.randint(1, 2999)}" + (f"-{rng.randint(1, 40)}" if rng.random() < 0.2 else "")
    road, district, province = rng.choice(_ROADS), rng.choice(_DISTRICTS), rng.choice(_PROVINCES)
    if fmt == "road_words_ko":
        number = rng.randint(10, 2999)
        said = korean_number(number) if rng.random() < 0.6 else korean_digits(str(number), rng)
        return f"{province} {district} {road} {said}"
    if fmt == "english_words":
        number = rng.randint(10, 2999)
        said = english_pairs(str(number), rng) if rng.random() < 0.5 else english_number(number)
        return f"{said} {rng.choice(_EN_STREETS)}"
    return {"road": f"{province} {district} {road} {building}",
            "road_city_district": f"경기도 {rng.choice(('성남시', '수원시', '고양시'))} {rng.choice(('분당구', '팔달구', '일산동구'))} {road} {building}",
            "road_detail": f"{province} {district} {road} {building}, {rng.randint(101, 120)}동 {rng.randint(1, 25)}0{rng.randint(1, 4)}호",
            "road_beongil": f"{province} {district} {road}{rng.randint(1, 90)}번길 {rng.randint(1, 60)}",
            "road_no_province": f"{district} {road} {building}", "sejong": f"세종특별자치시 {rng.choice(('한누리대로', '도움6로', '갈매로'))} {building}",
            "lot": f"{province} {district} {rng.choice(('역삼동', '우동', '대치동', '신림동', '봉명동'))} {rng.randint(1, 1999)}-{rng.randint(1, 30)}",
            "english": f"{rng.randint(1, 9999)} {rng.choice(_EN_STREETS)}",
            "english_unit": f"{rng.randint(1, 9999)} {rng.choice(_EN_STREETS)}, Apt {rng.randint(1, 40)}{rng.choice('ABCD')}",
            "romanised": f"{building} {rng.choice(_ROMANISED)}, {rng.choice(('Jung-gu', 'Gangnam-gu', 'Seocho-gu'))}, Seoul",
            "romanised_road_first": f"{rng.choice(_ROMANISED)} {building}, {rng.choice(('Jung-gu', 'Haeundae-gu'))}, {rng.choice(('Seoul', 'Busan'))}",
            "road_no_district": f"{province} {road} {building}", "road_bare": f"{road} {building}",
            }[fmt]


_GROUP_SEPARATOR = re.compile(r"[ .\-/_]+")
_SPLIT_FORMATS = {
    "RRN": ("hyphen", "spaced", "spaced_hyphen"), "FRN": ("hyphen", "spaced", "spaced_hyphen"),
    "PHONE": ("mobile", "mobile_spaced", "mobile_dots", "legacy_mobile", "seoul", "area", "area_spaced", "internet",
              "spaced_hyphens", "slashes", "underscores"),
    "CARD": ("spaces", "hyphens", "amex", "domestic", "spaced_hyphens"),
    "EMAIL": ("plain", "spoken_ko", "spoken_en", "spoken_en_dotted", "spoken_ko_hangul", "spoken_ko_at"),
    "ADDRESS": ("road", "road_city_district", "road_no_province", "road_no_district", "lot", "english"),
}
"""Formats a caller splits across two turns in the tests, and where (see `split_point`)."""


_ANNOUNCED = {
    "EMAIL": re.compile(r"mail|메일", re.IGNORECASE),
    "ADDRESS": re.compile(r"live|address|ship|send|주소|사는 곳|청구지", re.IGNORECASE),
}
"""Words before a value that say what it is: a bare number or a spoken "at" left at the end of a
turn is only the start of an address or an e-mail when the caller has said so."""


def split_point(kind: str, fmt: str, value: str, before: str = "") -> int | None:
    """Where a caller stops in the middle of `value` and goes on in the next turn, or None for a
    format not split: after a phone number's prefix (a mobile one) or its second group, after
    a registration number's birth date, after three groups of a card (two of an Amex), after an
    e-mail's "at", before a Korean address's building number, after an English one's number.
    An English address, or an e-mail with a spoken "at", is split only when `before` (what the
    caller said just before the value) announces it."""
    if fmt not in _SPLIT_FORMATS.get(kind, ()):
        return None
    if (kind == "EMAIL" and fmt.startswith("spoken_en") or (kind, fmt) == ("ADDRESS", "english")) and not _ANNOUNCED[
        kind
    ].search(before):
        return None
    if kind == "EMAIL":
        m = re.search(r"@|골뱅이|앳| at ", value)
        return None if m is None else m.end()
    if kind == "ADDRESS":
        number = re.search(r" ([0-9][0-9\-]*)$", value) if fmt != "english" else re.match(r"[0-9]+", value)
        return None if number is None else (number.start(1) if fmt != "english" else number.end())
    gaps = list(_GROUP_SEPARATOR.finditer(value))
    groups_before = {"RRN": 1, "FRN": 1, "CARD": 2 if fmt == "amex" else 3}.get(kind, 1 if value.startswith("01") else 2)
    return gaps[groups_before - 1].start() if len(gaps) >= groups_before else None
