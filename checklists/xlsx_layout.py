"""The spreadsheet layout shared by export and import: sheets, columns, cell types.

Every header cell reads "中文名 column_id"; import matches columns by the last word
(the id), so authors may reword the Chinese part or reorder columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from checklists.conditions import OPS
from checklists.model import DISCIPLINES, ITEM_KINDS, RESPONSIBLES, SEVERITIES, TEMPLATE_KINDS

CellType: TypeAlias = Literal["key", "text", "bool", "float", "int", "condition", "enum"]

SETTINGS = "设置"
SECTIONS = "分区"
ITEMS = "检查项"
CHOICES = "选项"
INSTANCES = "实例"
README = "说明"

TRUE_WORDS = frozenset({"是", "true", "yes", "y", "1", "√", "✓"})
FALSE_WORDS = frozenset({"否", "false", "no", "n", "0", "×"})
YES, NO = "是", "否"


@dataclass(frozen=True)
class Col:
    id: str
    zh: str
    type: CellType
    required: bool = False
    values: tuple[str, ...] = ()

    @property
    def header(self) -> str:
        return f"{self.zh} {self.id}"


SETTINGS_COLS = (Col("field", "项目", "key", True), Col("value", "值", "text", True))
SETTINGS_FIELDS: dict[str, Col] = {
    c.id: c
    for c in (
        Col("key", "模板键", "key", True),
        Col("kind", "模板类型", "enum", True, TEMPLATE_KINDS),
        Col("discipline", "专业", "enum", False, DISCIPLINES),
        Col("title_zh", "标题(中文)", "text", True),
        Col("title_en", "标题(英文)", "text"),
        Col("version", "版本", "text", True),
        Col("basis", "依据(可多行)", "text"),
    )
}

SECTION_COLS = (
    Col("key", "键", "key", True),
    Col("title_zh", "标题(中文)", "text", True),
    Col("title_en", "标题(英文)", "text"),
    Col("guidance_zh", "说明(中文)", "text"),
    Col("guidance_en", "说明(英文)", "text"),
    Col("visible_if", "显示条件", "condition"),
    Col("repeat", "可重复", "bool"),
    Col("instance_label_zh", "实例名称(中文)", "text"),
    Col("instance_label_en", "实例名称(英文)", "text"),
    Col("allow_add", "允许添加实例", "bool"),
    Col("min_instances", "最少实例数", "int"),
    Col("max_instances", "最多实例数", "int"),
)

ITEM_COLS = (
    Col("section", "分区", "key", True),
    Col("key", "键", "key", True),
    Col("kind", "类型", "enum", True, ITEM_KINDS),
    Col("label_zh", "标签(中文)", "text", True),
    Col("label_en", "标签(英文)", "text"),
    Col("guidance_zh", "说明(中文)", "text"),
    Col("guidance_en", "说明(英文)", "text"),
    Col("required", "必填", "bool"),
    Col("photo_on_fail", "不合格需照片", "bool"),
    Col("note_on_fail", "不合格需备注", "bool"),
    Col("severity", "严重程度", "enum", False, SEVERITIES),
    Col("responsible", "责任方", "enum", False, RESPONSIBLES),
    Col("standard", "依据标准", "text"),
    Col("visible_if", "显示条件", "condition"),
    Col("allow_na", "允许不适用", "bool"),
    Col("unit", "单位", "text"),
    Col("min", "下限", "float"),
    Col("max", "上限", "float"),
    Col("multiline", "多行", "bool"),
    Col("min_photos", "最少照片数", "int"),
    Col("allow_other", "允许其他", "bool"),
)

#: Item fields every kind has, written and read as they are (besides key, label,
#: guidance and visible_if, which need converting).
COMMON_ITEM_FIELDS: tuple[str, ...] = (
    "required",
    "photo_on_fail",
    "note_on_fail",
    "severity",
    "responsible",
    "standard",
)
#: Item columns that only some kinds have (the rest of the row applies to all kinds).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "pass_fail": ("allow_na",),
    "number": ("unit", "min", "max"),
    "text": ("multiline",),
    "single_choice": (),
    "multi_choice": (),
    "photo": ("min_photos",),
    "signature": (),
    "location": ("allow_other",),
    "date": (),
}
#: Kinds whose choices / options come from the 选项 sheet.
CHOICE_FIELD = {"single_choice": "choices", "multi_choice": "choices", "location": "options"}

CHOICE_COLS = (
    Col("item", "检查项", "key", True),
    Col("key", "键", "key", True),
    Col("label_zh", "标签(中文)", "text", True),
    Col("label_en", "标签(英文)", "text"),
    Col("fails", "不合格", "bool"),
)

INSTANCE_COLS = (
    Col("section", "分区", "key", True),
    Col("id", "键", "key", True),
    Col("label_zh", "标签(中文)", "text", True),
    Col("label_en", "标签(英文)", "text"),
)

SHEETS: dict[str, tuple[Col, ...]] = {
    SETTINGS: SETTINGS_COLS,
    SECTIONS: SECTION_COLS,
    ITEMS: ITEM_COLS,
    CHOICES: CHOICE_COLS,
    INSTANCES: INSTANCE_COLS,
}

README_ROWS: tuple[tuple[str, str], ...] = (
    ("用途 purpose", "在此工作簿中编写检查表模板,导入后发布为新版本。"),
    ("", "Author a checklist template here; importing it publishes a new version."),
    ("工作表 sheets", "设置 settings · 分区 sections · 检查项 items · 选项 choices · 实例 instances"),
    ("", "本页不导入。This sheet is not imported."),
    ("规则 rules", "不得使用公式和合并单元格;表头最后一个词是列名,中文部分和列顺序可调整。"),
    ("", "No formulas, no merged cells; the last word of a header is the column id."),
    ("是/否 yes/no", "是 / 否 (也接受 TRUE/FALSE, 1/0); 留空 = 默认值 (blank = default)."),
    ("类型 item kinds", ", ".join(ITEM_KINDS)),
    ("严重程度 severity", "general 一般 · important 重要 · serious 严重"),
    ("责任方 responsible", "developer 开发商 · contractor 施工单位 · engineering 工程部"),
    ("", "cleaning 保洁 · greening 绿化 · security 秩序维护"),
    ("显示条件 visible_if", 'JSON, 例 e.g. {"item": "room", "op": "in", "value": ["kitchen", "bathroom"]}'),
    ("条件运算 ops", ", ".join(OPS)),
    ("", 'all / any / not: {"all": [...]}, {"any": [...]}, {"not": {...}}'),
    ("详见 see", "docs/checklists.md"),
)
