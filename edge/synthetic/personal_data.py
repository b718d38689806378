"""Synthetic personal data in the formats Korean callers, agents and speech-to-text actually
produce (resident and foreigner registration numbers with valid birth dates, mobile and landline
numbers, Luhn-valid card numbers, written and spoken e-mail, Korean and English addresses)."""

from __future__ import annotations

import random
from datetime import date, timedelta

PII_FORMATS: dict[str, tuple[str, ...]] = {
    "RRN": ("hyphen", "plain", "spaced", "fullwidth"),
    "FRN": ("hyphen", "plain", "spaced", "fullwidth"),
    "PHONE": ("mobile", "mobile_plain", "mobile_spaced", "mobile_dots", "mobile_intl", "mobile_intl_plain",
              "mobile_parens", "legacy_mobile", "seoul", "area", "area_spaced", "internet", "landline_intl", "fullwidth"),
    "CARD": ("spaces", "hyphens", "plain", "amex", "domestic", "unionpay19"),
    "EMAIL": ("plain", "mixed_case", "plus_tag", "co_kr", "spoken_ko", "spoken_en", "at_parens"),
    "ADDRESS": ("road", "road_city_district", "road_detail", "road_beongil", "road_no_province", "sejong", "lot",
                "english", "english_unit", "romanised", "romanised_road_first"),
}
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


def pii_value(kind: str, fmt: str, rng: random.Random) -> str:
    """One synthetic personal-data value of `kind` written in format `fmt` (see `PII_FORMATS`)."""
    if kind in ("RRN", "FRN"):
        number = _registration(rng, kind == "FRN")
        return {"hyphen": f"{number[:6]}-{number[6:]}", "plain": number, "spaced": f"{number[:6]} {number[6:]}",
                "fullwidth": f"{number[:6]}-{number[6:]}".translate(_FULLWIDTH)}[fmt]
    if kind == "PHONE":
        mid, last = _digits(rng, 4), _digits(rng, 4)
        area = rng.choice(("031", "032", "033", "041", "042", "051", "052", "053", "054", "055", "061", "062", "063", "064"))
        return {"mobile": f"010-{mid}-{last}", "mobile_plain": f"010{mid}{last}", "mobile_spaced": f"010 {mid} {last}",
                "mobile_dots": f"010.{mid}.{last}", "mobile_intl": f"+82 10-{mid}-{last}", "mobile_intl_plain": f"+8210{mid}{last}",
                "mobile_parens": f"(010) {mid}-{last}", "legacy_mobile": f"01{rng.choice('16789')}-{mid[:3]}-{last}",
                "seoul": f"02-{mid[: rng.choice((3, 4))]}-{last}", "area": f"{area}-{mid[:3]}-{last}", "area_spaced": f"{area} {mid} {last}",
                "internet": f"070-{mid}-{last}", "landline_intl": f"+82 2 {mid} {last}",
                "fullwidth": f"010-{mid}-{last}".translate(_FULLWIDTH)}[fmt]
    if kind == "CARD":
        if fmt == "amex":
            return _group(_luhn_complete(rng, rng.choice(("34", "37")), 15), (4, 6, 5), " ")
        if fmt == "unionpay19":
            return _group(_luhn_complete(rng, "62", 19), (4, 4, 4, 4, 3), " ")
        number = _luhn_complete(rng, rng.choice(("9410", "9430")) if fmt == "domestic" else rng.choice(("4", "51", "53", "2221")), 16)
        return {"spaces": _group(number, (4, 4, 4, 4), " "), "hyphens": _group(number, (4, 4, 4, 4), "-"), "plain": number,
                "domestic": _group(number, (4, 4, 4, 4), "-")}[fmt]
    if kind == "EMAIL":
        name, domain = rng.choice(_NAMES), rng.choice(_DOMAINS)
        host, tld = domain.split(".", 1)
        return {"plain": f"{name}@{domain}", "mixed_case": f"{name.title()}{rng.randint(1, 99)}@{domain}",
                "plus_tag": f"{name}+bill@{domain}", "co_kr": f"{name}@{host}.co.kr", "spoken_ko": f"{name} 골뱅이 {domain}",
                "spoken_en": f"{name} at {host} dot {tld}", "at_parens": f"{name} (at) {domain}"}[fmt]
    building = f"{rng.randint(1, 2999)}" + (f"-{rng.randint(1, 40)}" if rng.random() < 0.2 else "")
    road, district, province = rng.choice(_ROADS), rng.choice(_DISTRICTS), rng.choice(_PROVINCES)
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
            }[fmt]
