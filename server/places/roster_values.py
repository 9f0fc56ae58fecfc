"""What one cell of a unit roster means: header names and their aliases, and the
parsers of single values (floors, rooms, areas, phones, status words …). Pure.

Each parser takes the cell's text (see `cell_text`) and returns the stored value or
raises `CellError` with a message for the user (English, then Chinese).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

#: field → (Chinese header, header aliases). Aliases are compared after `header_key`.
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "building": (
        "楼栋",
        ("楼栋", "楼号", "楼栋号", "栋号", "栋", "幢", "幢号", "楼宇", "楼栋名称", "楼座", "building", "bldg", "block"),
    ),
    "entrance": ("单元", ("单元", "单元号", "entrance", "entranceno", "stair", "staircase")),
    "floor": ("楼层", ("楼层", "层", "所在楼层", "层号", "floor", "floorno", "level", "storey")),
    "room_no": (
        "房号",
        ("房号", "房间号", "室号", "户号", "门牌号", "房屋编号", "room", "roomno", "roomnumber", "unitno", "doorno"),
    ),
    "layout": ("户型", ("户型", "房型", "户型结构", "layout", "unittype", "floorplan")),
    "area_m2": ("建筑面积", ("建筑面积", "面积", "建面", "area", "aream2", "grossarea", "floorarea", "buildingarea")),
    "owner_name": ("业主姓名", ("业主姓名", "业主", "业主名称", "姓名", "owner", "ownername", "name")),
    "owner_phone": (
        "联系电话",
        (
            "联系电话",
            "电话",
            "手机",
            "手机号",
            "手机号码",
            "联系方式",
            "业主电话",
            "phone",
            "mobile",
            "tel",
            "telephone",
        ),
    ),
    "status": ("交付状态", ("交付状态", "状态", "房屋状态", "交房状态", "status", "deliverystatus", "handoverstatus")),
}
REQUIRED = ("building", "floor", "room_no")
MAX_LENGTH = {"building": 100, "entrance": 20, "room_no": 30, "layout": 60, "owner_name": 100}

STATUS_WORDS = {
    "vacant": ("空置", "空置房", "未交付", "待交付", "未售", "未出售", "vacant", "empty", "unsold"),
    "occupied": ("已入住", "入住", "自住", "已出租", "出租", "occupied", "moved in"),
    "handed_over": ("已交付", "交付", "已交房", "交房", "已交楼", "handed_over", "handed over", "delivered"),
}
_STATUS = {word.replace(" ", "").replace("-", "_"): status for status, words in STATUS_WORDS.items() for word in words}


class CellError(ValueError):
    """One cell that cannot be read; the message goes to the user as is."""


_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_NUM = r"([0-9a-z\-]+|[零〇一二两三四五六七八九十]+)"


def _arabic(token: str) -> str:
    """一 … 九十九 → 1 … 99 (buildings, entrances and floors use them); anything else as is."""
    try:
        if "十" not in token:
            return "".join(str(_CN_DIGITS[c]) for c in token)
        tens, _, ones = token.partition("十")
        return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))
    except KeyError:
        return token


def fold(text: str) -> str:
    """NFKC (full-width digits, letters, brackets and ㎡ become plain), spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _compact(text: str) -> str:
    return fold(text).lower().replace(" ", "")


def header_key(text: str) -> str:
    s = fold(text).lower()
    s = re.sub(r"\(.*?\)|\[.*?\]|【.*?】|<.*?>", "", s)
    return re.sub(r"[\s_\-./:*#：]", "", s)


_ALIASES = {header_key(alias): field for field, (_zh, aliases) in COLUMNS.items() for alias in aliases}


def match_header(text: str) -> str | None:
    return _ALIASES.get(header_key(text)) if text else None


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious ``.0``, strings folded and trimmed."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        raise CellError(f"a date, not a value for this column: {value} (日期格式，Excel 可能自动转换了)")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return fold(str(value))


def building_key(name: str) -> str:
    """``1号楼`` / ``1栋`` / ``1#`` / ``一号楼`` → ``1``; other names compare folded."""
    s = _compact(name)
    m = re.fullmatch(_NUM + r"(号楼|#楼|栋|幢|座|号|#|楼)?", s)
    return _arabic(m.group(1)) if m else s


def parse_entrance(text: str) -> str:
    """``1单元`` / ``一单元`` / ``1`` → ``1``; anything else as written."""
    m = re.fullmatch(_NUM + r"(单元|门|梯)?", fold(text).replace(" ", ""), re.IGNORECASE)
    return _arabic(m.group(1)) if m else fold(text)


def parse_room(text: str) -> str:
    s = fold(text).replace(" ", "")
    m = re.fullmatch(r"([0-9A-Za-z\-]+)(室|号|房)", s)
    return m.group(1) if m else s


def parse_floor(text: str) -> int:
    s = _compact(text)
    num = r"(\d+|[零〇一二两三四五六七八九十]+)"
    m = re.fullmatch(r"(b|地下|负|-)" + num + r"(f|层|楼)?", s) or re.fullmatch(
        r"(f|第)?" + num + r"(\.0+)?(f|层|楼)?", s
    )
    if m is None or not _arabic(m.group(2)).isdigit():
        raise CellError(f"not a floor: {text!r} (楼层无法识别，例如 12、12层、12F、B1)")
    floor = int(_arabic(m.group(2))) * (-1 if m.group(1) in {"b", "地下", "负", "-"} else 1)
    if not -10 <= floor <= 300:
        raise CellError(f"floor out of range: {floor} (楼层超出范围 -10…300)")
    return floor


_AREA_UNIT = re.compile(r"(m2|m\^2|sqm|sq\.m|平方米|平米|平方|米2)$")


def parse_area(text: str) -> Decimal:
    s = _AREA_UNIT.sub("", fold(text).lower().replace(" ", "").replace(",", ""))
    if not re.fullmatch(r"\d+(\.\d+)?", s):
        raise CellError(f"not a number: {text!r} (不是数字)")
    try:
        area = Decimal(s).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise CellError(f"not a number: {text!r} (不是数字)") from exc
    if not Decimal(0) < area <= Decimal(100000):
        raise CellError(f"area out of range: {text!r} (面积须大于 0 且不超过 100000)")
    return area


_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{9,11}")
_SERVICE = re.compile(r"[48]00\d{7}")


def _one_phone(raw: str) -> str:
    digits = re.sub(r"[\s\-()（）.·]", "", fold(raw))
    national = re.sub(r"^(\+86|0086|86(?=1[3-9]\d{9}$))", "", digits)
    if national != digits and national[:1] not in {"0", "1"}:
        national = "0" + national  # +86 571 … drops the trunk 0 of a landline
    digits = national
    if _MOBILE.fullmatch(digits) or _SERVICE.fullmatch(digits):
        return digits
    if _LANDLINE.fullmatch(digits):
        cut = 3 if digits[1] in "12" else 4  # 010 / 02x have a two-digit area code, others three
        if 7 <= len(digits) - cut <= 8:
            return f"{digits[:cut]}-{digits[cut:]}"
    raise CellError(f"not a plausible Chinese phone number: {raw!r} (电话号码无效：应为 11 位手机号或带区号的固定电话)")


def parse_phone(text: str) -> str:
    """One or more numbers (``/``, ``、``, ``,`` or ``;`` between them), normalised."""
    parts = [p for p in re.split(r"[/、,，;；]", text) if p.strip()]
    if not parts:
        raise CellError(f"not a plausible Chinese phone number: {text!r} (电话号码无效)")
    phone = "/".join(_one_phone(p) for p in parts)
    if len(phone) > 40:
        raise CellError(f"too many phone numbers: {text!r} (电话过长)")
    return phone


def parse_status(text: str) -> str:
    status = _STATUS.get(fold(text).lower().replace(" ", "").replace("-", "_"))
    if status is None:
        raise CellError(f"unknown status: {text!r} (交付状态应为 已交付 / 已入住 / 空置)")
    return status


PARSERS: dict[str, Any] = {
    "entrance": parse_entrance,
    "floor": parse_floor,
    "room_no": parse_room,
    "area_m2": parse_area,
    "owner_phone": parse_phone,
    "status": parse_status,
}
