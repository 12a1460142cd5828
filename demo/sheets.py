"""Minimal XLSX and ODS writers: the demo writes ~20,000-row sheets and openpyxl / odfpy take
seconds for that; plain SpreadsheetML / OpenDocument XML takes milliseconds, and with fixed zip
dates the same rows always give the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

Cell = str | int | float | None
_DATE = (2026, 1, 1, 0, 0, 0)


def _zip(entries: list[tuple[str, str]], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for n, (name, text) in enumerate(entries):
            info = zipfile.ZipInfo(name, date_time=_DATE)
            stored = stored_first and n == 0
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def xlsx(sheet: str, rows: list[list[Cell]]) -> bytes:
    """One-sheet workbook; strings inline, numbers as numbers, None as an empty cell."""
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
             'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if value is None or value == "":
                continue
            if isinstance(value, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        if cells:
            lines.append(f'<row r="{r}">{"".join(cells)}</row>')
    lines.append("</sheetData></worksheet>")
    main = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    entries = [
        ("[Content_Types].xml",
         f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{pkg}/'
         'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
         'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
         f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
         f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
         f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/></Types>'),
        ("_rels/.rels",
         f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{pkg}'
         f'/relationships"><Relationship Id="rId1" Type="{main}/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>'),
        ("xl/workbook.xml",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://'
         f'schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{main}"><sheets>'
         f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        ("xl/_rels/workbook.xml.rels",
         f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{pkg}'
         f'/relationships"><Relationship Id="rId1" Type="{main}/worksheet" '
         f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{main}/styles" '
         'Target="styles.xml"/></Relationships>'),
        ("xl/styles.xml",
         '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="http://'
         'schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"'
         '/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType='
         '"none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1">'
         '<xf/></cellStyleXfs><cellXfs count="1"><xf xfId="0"/></cellXfs><cellStyles count="1">'
         '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'),
        ("xl/worksheets/sheet1.xml", "".join(lines)),
    ]
    return _zip(entries)


def ods(sheet: str, rows: list[list[Cell]]) -> bytes:
    """One-sheet OpenDocument spreadsheet, as LibreOffice would save it (minus styles)."""
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    body = [f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {ns} '
            f'office:version="1.2"><office:body><office:spreadsheet>'
            f'<table:table table:name="{escape(sheet)}">']
    for row in rows:
        cells = []
        for value in row:
            if value is None or value == "":
                cells.append("<table:table-cell/>")
            elif isinstance(value, str):
                cells.append('<table:table-cell office:value-type="string"><text:p>'
                             f"{escape(value)}</text:p></table:table-cell>")
            else:
                cells.append(f'<table:table-cell office:value-type="float" office:value='
                             f'"{value}"><text:p>{value}</text:p></table:table-cell>')
        body.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
    body.append("</table:table></office:spreadsheet></office:body></office:document-content>")
    mime = "application/vnd.oasis.opendocument.spreadsheet"
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    return _zip([("mimetype", mime), ("META-INF/manifest.xml", manifest),
                 ("content.xml", "".join(body))], stored_first=True)
