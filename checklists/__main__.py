"""Authoring from the command line.

python -m checklists check [DIR]                 validate every template file (default: bundled)
python -m checklists to-xlsx FILE.json OUT.xlsx  export a template file to a workbook
python -m checklists from-xlsx IN.xlsx OUT.json  import a workbook into a template file
python -m checklists hash FILE.json              print the content hash of a template file
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checklists.errors import ChecklistError
from checklists.loader import BUNDLED_DIR, dumps_template, load_template_file, load_templates
from checklists.model import count_items
from checklists.versions import content_hash
from checklists.xlsx import export_xlsx, import_xlsx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checklists", description="FieldRound checklist templates")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate every template file of a directory")
    check.add_argument("directory", nargs="?", default=str(BUNDLED_DIR))
    to_xlsx = sub.add_parser("to-xlsx", help="export a template file to a workbook")
    to_xlsx.add_argument("template")
    to_xlsx.add_argument("workbook")
    from_xlsx = sub.add_parser("from-xlsx", help="import a workbook into a template file")
    from_xlsx.add_argument("workbook")
    from_xlsx.add_argument("template")
    hash_ = sub.add_parser("hash", help="print the content hash of a template file")
    hash_.add_argument("template")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            for key, template in load_templates(args.directory).items():
                print(f"{key}\t{template.version}\t{count_items(template)} items\t{content_hash(template)}")
        elif args.command == "to-xlsx":
            Path(args.workbook).write_bytes(export_xlsx(load_template_file(args.template)))
        elif args.command == "from-xlsx":
            template = import_xlsx(Path(args.workbook).read_bytes())
            Path(args.template).write_text(dumps_template(template), encoding="utf-8")
            print(f"{args.template}\t{content_hash(template)}")
        else:
            print(content_hash(load_template_file(args.template)))
    except ChecklistError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
