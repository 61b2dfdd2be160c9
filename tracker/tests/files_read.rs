//! The file readers on real files built here: workbooks with number formats and a Purview
//! label, pptx, docx, csv, txt and md targets.

mod files_common;

use std::path::Path;

use files_common::*;
use rust_xlsxwriter::{DocProperties, Format, Workbook};
use tracker::files::{
    Limits, PurviewLabel, purview_label, read_target, read_workbook, read_workbook_range,
};
use tracker::{App, CellAddr, CellRange, CellValue, ReadCell, WritePart};

const GUID: &str = "3a8e1d2c-5b6f-4e7a-9c0d-1e2f3a4b5c6d";

fn cell(a1: &str, value: CellValue, text: Option<&str>, fmt: Option<&str>) -> ReadCell {
    ReadCell {
        addr: CellAddr::parse_a1(a1).expect("address"),
        value,
        text: text.map(str::to_string),
        number_format: fmt.map(str::to_string),
    }
}

fn text(location: &str, text: &str) -> WritePart {
    WritePart::Text {
        location: location.into(),
        text: text.into(),
    }
}

fn table_part(location: &str, rows: &[&[&str]]) -> WritePart {
    WritePart::Table {
        location: location.into(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect(),
    }
}

/// Q3.xlsx: a Revenue sheet with currency, percent, date, bool and General cells, a Notes
/// sheet, and a Purview label in its custom properties.
fn q3_workbook(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("Q3.xlsx");
    let mut wb = Workbook::new();
    let money = Format::new().set_num_format("$#,##0.00");
    let pct = Format::new().set_num_format("0.0%");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet();
    ws.set_name("Revenue").expect("name");
    ws.write_string(0, 0, "Region").expect("write");
    ws.write_string(0, 1, "Q3").expect("write");
    ws.write_string(1, 0, "EMEA").expect("write");
    ws.write_number_with_format(1, 1, 1234567.891, &money)
        .expect("write");
    ws.write_number_with_format(1, 2, 0.1234, &pct)
        .expect("write");
    ws.write_number_with_format(1, 3, 45366.0, &date)
        .expect("write");
    ws.write_boolean(1, 4, true).expect("write");
    ws.write_number(1, 5, 42.0).expect("write");
    ws.write_number_with_format(2, 1, -1234.5, &money)
        .expect("write");
    let notes = wb.add_worksheet();
    notes.set_name("Notes & ideas").expect("name");
    notes
        .write_string(0, 0, "Confidential until Oct")
        .expect("write");
    let props = DocProperties::new()
        .set_custom_property(format!("MSIP_Label_{GUID}_Enabled"), "true")
        .set_custom_property(format!("MSIP_Label_{GUID}_Name"), "Confidential")
        .set_custom_property(format!("MSIP_Label_{GUID}_SiteId"), "0000-1111");
    wb.set_properties(&props);
    wb.save(&path).expect("save xlsx");
    path
}

#[test]
fn xlsx_cells_values_formats_and_displayed_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = q3_workbook(dir.path());
    let wb = read_workbook(&path, &Limits::default()).expect("read Q3.xlsx");

    assert_eq!(wb.document.app, App::File);
    assert_eq!(wb.document.name, "Q3.xlsx");
    assert!(Path::new(&wb.document.location).is_absolute());
    assert_eq!(
        wb.purview,
        Some(PurviewLabel {
            id: GUID.into(),
            name: "Confidential".into(),
            enabled: true
        })
    );
    let names: Vec<&str> = wb.sheets.iter().map(|s| s.sheet.as_str()).collect();
    assert_eq!(names, ["Revenue", "Notes & ideas"]);

    let g = Some("General");
    assert_eq!(
        wb.sheets[0].cells,
        vec![
            cell("A1", CellValue::Text("Region".into()), None, g),
            cell("B1", CellValue::Text("Q3".into()), None, g),
            cell("A2", CellValue::Text("EMEA".into()), None, g),
            cell(
                "B2",
                CellValue::Number(1234567.891),
                Some("$1,234,567.89"),
                Some("$#,##0.00")
            ),
            cell("C2", CellValue::Number(0.1234), Some("12.3%"), Some("0.0%")),
            cell(
                "D2",
                CellValue::Number(45366.0),
                Some("2024-03-15"),
                Some("yyyy-mm-dd")
            ),
            cell("E2", CellValue::Bool(true), None, g),
            cell("F2", CellValue::Number(42.0), Some("42"), g),
            cell(
                "B3",
                CellValue::Number(-1234.5),
                Some("-$1,234.50"),
                Some("$#,##0.00")
            ),
        ]
    );
    assert_eq!(
        wb.sheets[1].cells,
        vec![cell(
            "A1",
            CellValue::Text("Confidential until Oct".into()),
            None,
            g
        )]
    );
}

#[test]
fn xlsx_sheet_and_range_selection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = q3_workbook(dir.path());
    let limits = Limits::default();
    let range = CellRange::parse("B2:C3").expect("range");
    let wb = read_workbook_range(&path, Some("Revenue"), Some(range), &limits).expect("read");
    assert_eq!(wb.sheets.len(), 1);
    let addrs: Vec<String> = wb.sheets[0].cells.iter().map(|c| c.addr.to_a1()).collect();
    assert_eq!(addrs, ["B2", "C2", "B3"]);

    // Sheet names match case-insensitively, as in Excel.
    let wb = read_workbook_range(&path, Some("notes & IDEAS"), None, &limits).expect("read");
    assert_eq!(wb.sheets[0].sheet, "Notes & ideas");

    let err = read_workbook_range(&path, Some("Costs"), None, &limits)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err,
        Some(format!(
            "{}: no sheet named \"Costs\" (sheets: Revenue, Notes & ideas)",
            path.display()
        ))
    );
}

#[test]
fn xlsx_as_target_is_one_table_per_sheet_of_displayed_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = q3_workbook(dir.path());
    let doc = read_target(&path, &Limits::default()).expect("read target");
    assert_eq!(doc.document.name, "Q3.xlsx");
    assert_eq!(
        doc.parts,
        vec![
            table_part(
                "Revenue!A1:F3",
                &[
                    &["Region", "Q3", "", "", "", ""],
                    &["EMEA", "$1,234,567.89", "12.3%", "2024-03-15", "TRUE", "42"],
                    &["", "-$1,234.50", "", "", "", ""],
                ]
            ),
            table_part("'Notes & ideas'!A1", &[&["Confidential until Oct"]]),
        ]
    );
}

#[test]
fn purview_labels_from_xlsx_docx_and_label_info() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits::default();
    let xlsx = q3_workbook(dir.path());
    assert_eq!(
        purview_label(&xlsx, &limits)
            .expect("label")
            .map(|l| l.name),
        Some("Confidential".to_string())
    );

    let custom = custom_props("ABCDEF01-2345-6789-ABCD-EF0123456789", "General", false);
    let docx_path = write(
        dir.path(),
        "memo.docx",
        &docx("<w:p/>", &[("docProps/custom.xml", custom.as_bytes())]),
    );
    assert_eq!(
        purview_label(&docx_path, &limits).expect("label"),
        Some(PurviewLabel {
            id: "abcdef01-2345-6789-abcd-ef0123456789".into(),
            name: "General".into(),
            enabled: false
        })
    );

    let info = r#"<?xml version="1.0" encoding="utf-8" standalone="yes"?><clbl:labelList xmlns:clbl="http://schemas.microsoft.com/office/2020/mipLabelMetadata"><clbl:label id="{11111111-2222-3333-4444-555555555555}" enabled="1" method="Standard" siteId="{x}" removed="0" /></clbl:labelList>"#;
    let pptx_path = write(
        dir.path(),
        "deck.pptx",
        &pptx(&[], &[], &[("docMetadata/LabelInfo.xml", info.as_bytes())]),
    );
    assert_eq!(
        purview_label(&pptx_path, &limits).expect("label"),
        Some(PurviewLabel {
            id: "11111111-2222-3333-4444-555555555555".into(),
            name: "11111111-2222-3333-4444-555555555555".into(),
            enabled: true
        })
    );

    let plain = write(dir.path(), "plain.docx", &docx("<w:p/>", &[]));
    assert_eq!(purview_label(&plain, &limits).expect("label"), None);

    let err = purview_label(&dir.path().join("data.csv"), &limits)
        .err()
        .map(|e| e.problem.to_string());
    assert_eq!(
        err.as_deref(),
        Some("unsupported file type .csv (supported: xlsx, xlsm, pptx, docx)")
    );
}

#[test]
fn pptx_slides_in_presentation_order_with_text_and_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = slide_xml(&format!(
        "{}{}",
        shape(&[&["Q3 ", "revenue"], &["EMEA &amp; APAC up 12.3%"]]),
        table(&[&["Region", "Revenue"], &["EMEA", "$1.23M"]])
    ));
    let second = slide_xml(&shape(&[&["Agenda"]]));
    // slide1.xml is shown second, slide2.xml first.
    let bytes = pptx(&[first, second], &[1, 0], &[]);
    let path = write(dir.path(), "Q3.pptx", &bytes);
    let doc = read_target(&path, &Limits::default()).expect("read pptx");
    assert_eq!(doc.document.app, App::File);
    assert_eq!(doc.document.name, "Q3.pptx");
    assert_eq!(
        doc.parts,
        vec![
            text("slide 1", "Agenda"),
            text("slide 2", "Q3 revenue\nEMEA & APAC up 12.3%"),
            table_part(
                "slide 2 table 1",
                &[&["Region", "Revenue"], &["EMEA", "$1.23M"]]
            ),
        ]
    );
}

#[test]
fn docx_paragraphs_and_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t xml:space="preserve">Revenue was </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>$1,234,567.89</w:t></w:r><w:del w:id="1"><w:r><w:delText>old</w:delText></w:r></w:del></w:p>
<w:p/>
<w:p><w:r><w:t>Name</w:t><w:tab/><w:t>EMEA</w:t><w:br/><w:t>next line</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Region</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Q3</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>EMEA</w:t></w:r></w:p><w:p><w:r><w:t>(Europe)</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>12.3%</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:p><w:r><w:t>After the table</w:t></w:r></w:p>
<w:p><w:r><w:t>Before box</w:t></w:r><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>Box text</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Box text</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"#;
    let path = write(dir.path(), "memo.docx", &docx(body, &[]));
    let doc = read_target(&path, &Limits::default()).expect("read docx");
    assert_eq!(
        doc.parts,
        vec![
            text("paragraph 1", "Revenue was $1,234,567.89"),
            text("paragraph 3", "Name\tEMEA\nnext line"),
            text("paragraph 4", "After the table"),
            text("paragraph 5", "Before box\nBox text"),
            table_part(
                "table 1",
                &[&["Region", "Q3"], &["EMEA\n(Europe)", "12.3%"]]
            ),
        ]
    );
}

#[test]
fn csv_as_workbook_and_as_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "sales.csv",
        "\u{feff}Region,Revenue,Note\r\nEMEA,\"1,234.50\",\"said \"\"hi\"\"\"\r\nAPAC,-42,\r\n"
            .as_bytes(),
    );
    let wb = read_workbook(&path, &Limits::default()).expect("read csv");
    assert_eq!(wb.sheets.len(), 1);
    assert_eq!(wb.sheets[0].sheet, "sales");
    assert_eq!(wb.purview, None);
    assert_eq!(
        wb.sheets[0].cells,
        vec![
            cell("A1", CellValue::Text("Region".into()), None, None),
            cell("B1", CellValue::Text("Revenue".into()), None, None),
            cell("C1", CellValue::Text("Note".into()), None, None),
            cell("A2", CellValue::Text("EMEA".into()), None, None),
            cell("B2", CellValue::Number(1234.5), Some("1,234.50"), None),
            cell("C2", CellValue::Text("said \"hi\"".into()), None, None),
            cell("A3", CellValue::Text("APAC".into()), None, None),
            cell("B3", CellValue::Number(-42.0), Some("-42"), None),
        ]
    );
    let only = read_workbook_range(
        &path,
        Some("sales"),
        Some(CellRange::parse("B2:B3").expect("range")),
        &Limits::default(),
    )
    .expect("read range");
    assert_eq!(only.sheets[0].cells.len(), 2);

    let doc = read_target(&path, &Limits::default()).expect("read csv target");
    assert_eq!(
        doc.parts,
        vec![table_part(
            "rows 1-3",
            &[
                &["Region", "Revenue", "Note"],
                &["EMEA", "1,234.50", "said \"hi\""],
                &["APAC", "-42", ""],
            ]
        )]
    );
}

#[test]
fn txt_and_md_blocks_by_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = write(
        dir.path(),
        "notes.md",
        b"# Q3 summary\n\nEMEA revenue was $1.23M,\nup 12.3% on Q2.\n\n\n- APAC flat\n",
    );
    let doc = read_target(&md, &Limits::default()).expect("read md");
    assert_eq!(
        doc.parts,
        vec![
            text("line 1", "# Q3 summary"),
            text("line 3", "EMEA revenue was $1.23M,\nup 12.3% on Q2."),
            text("line 7", "- APAC flat"),
        ]
    );
    // Plain text saved as "ANSI" on Western Windows (Windows-1252) reads as written.
    let txt = write(dir.path(), "latin1.txt", b"Caf\xE9 M\xFCller\n");
    let doc = read_target(&txt, &Limits::default()).expect("read txt");
    assert_eq!(doc.parts, vec![text("line 1", "Caf\u{E9} M\u{FC}ller")]);
}

const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;

#[test]
fn ods_cells_and_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Data"><table:table-row><table:table-cell office:value-type="string"><text:p>Region</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1234.5"><text:p>1,234.50</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>APAC</text:p></table:table-cell><table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>TRUE</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let bytes = zip_bytes(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", MANIFEST.as_bytes()),
        ("content.xml", content.as_bytes()),
    ]);
    let path = write(dir.path(), "data.ods", &bytes);
    let wb = read_workbook(&path, &Limits::default()).expect("read ods");
    assert_eq!(wb.sheets[0].sheet, "Data");
    assert_eq!(
        wb.sheets[0].cells,
        vec![
            cell("A1", CellValue::Text("Region".into()), None, None),
            cell("B1", CellValue::Number(1234.5), None, None),
            cell("A2", CellValue::Text("APAC".into()), None, None),
            cell("B2", CellValue::Bool(true), None, None),
        ]
    );
    let doc = read_target(&path, &Limits::default()).expect("read ods target");
    assert_eq!(
        doc.parts,
        vec![table_part(
            "Data!A1:B2",
            &[&["Region", "1234.5"], &["APAC", "TRUE"]]
        )]
    );
}

#[test]
fn xlsm_and_builtin_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("macro.xlsm");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    // Built-in ids: 14 is the locale's short date (m/d/yyyy in en-US), 3 is #,##0,
    // 10 is 0.00%, 7 is currency with two decimals and negatives in parentheses.
    for (col, id, value) in [
        (0, 14, 45366.0),
        (1, 3, 1234567.4),
        (2, 10, 0.25),
        (3, 7, -1234.5),
    ] {
        let f = Format::new().set_num_format_index(id);
        ws.write_number_with_format(0, col, value, &f)
            .expect("write");
    }
    wb.save(&path).expect("save");
    let read = read_workbook(&path, &Limits::default()).expect("read xlsm");
    let got: Vec<(Option<&str>, Option<&str>)> = read.sheets[0]
        .cells
        .iter()
        .map(|c| (c.text.as_deref(), c.number_format.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("3/15/2024"), Some("m/d/yyyy")),
            (Some("1,234,567"), Some("#,##0")),
            (Some("25.00%"), Some("0.00%")),
            (
                Some("($1,234.50)"),
                Some("\"$\"#,##0.00_);\\(\"$\"#,##0.00\\)")
            ),
        ]
    );
}

const CHART: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><c:chart><c:title><c:tx><c:strRef><c:f>x</c:f><c:strCache><c:pt idx="0"><c:v>Chart title</c:v></c:pt></c:strCache></c:strRef></c:tx></c:title><c:plotArea><c:barChart>
<c:ser><c:idx val="0"/><c:tx><c:strRef><c:f>Revenue!$B$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>Q3</c:v></c:pt></c:strCache></c:strRef></c:tx>
<c:cat><c:strRef><c:f>Revenue!$A$2:$A$3</c:f><c:strCache><c:ptCount val="2"/><c:pt idx="0"><c:v>EMEA</c:v></c:pt><c:pt idx="1"><c:v>APAC</c:v></c:pt></c:strCache></c:strRef></c:cat>
<c:val><c:numRef><c:f>Revenue!$B$2:$B$3</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="2"/><c:pt idx="0"><c:v>1234567.891</c:v></c:pt><c:pt idx="1"><c:v>42</c:v></c:pt></c:numCache></c:numRef></c:val></c:ser>
<c:ser><c:idx val="1"/><c:tx><c:v>Q4</c:v></c:tx><c:val><c:numRef><c:numCache><c:pt idx="1"><c:v>7</c:v></c:pt><c:pt idx="4000000000"><c:v>9</c:v></c:pt></c:numCache></c:numRef></c:val></c:ser>
</c:barChart><c:valAx><c:title><c:tx><c:strRef><c:strCache><c:pt idx="0"><c:v>USD</c:v></c:pt></c:strCache></c:strRef></c:tx></c:title></c:valAx></c:plotArea></c:chart></c:chartSpace>"#;

fn chart_frame(rid: &str) -> String {
    format!(
        r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="4" name="Chart"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" r:id="{rid}"/></a:graphicData></a:graphic></p:graphicFrame>"#
    )
}

fn chart_rows() -> Vec<&'static [&'static str]> {
    vec![
        &["", "EMEA", "APAC", ""],
        &["Q3", "1234567.891", "42", ""],
        &["Q4", "", "7", "9"],
    ]
}

#[test]
fn charts_and_notes_in_decks_and_documents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slide_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart" Target="../charts/chart1.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide" Target="../notesSlides/notesSlide1.xml"/></Relationships>"#;
    let notes = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:notes xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Say: EMEA grew 12.3%</a:t></a:r></a:p></p:txBody></p:sp><p:sp><p:txBody><a:p><a:fld id="{1}" type="slidenum"><a:t>1</a:t></a:fld></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:notes>"#;
    let slide = slide_xml(&format!(
        "{}{}",
        shape(&[&["Revenue"]]),
        chart_frame("rId2")
    ));
    let bytes = pptx(
        &[slide],
        &[0],
        &[
            ("ppt/slides/_rels/slide1.xml.rels", slide_rels.as_bytes()),
            ("ppt/charts/chart1.xml", CHART.as_bytes()),
            ("ppt/notesSlides/notesSlide1.xml", notes.as_bytes()),
        ],
    );
    let path = write(dir.path(), "chart.pptx", &bytes);
    let doc = read_target(&path, &Limits::default()).expect("read pptx");
    assert_eq!(
        doc.parts,
        vec![
            text("slide 1", "Revenue"),
            table_part("slide 1 chart 1", &chart_rows()),
            text("slide 1 notes", "Say: EMEA grew 12.3%"),
        ]
    );

    let doc_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart" Target="charts/chart1.xml"/></Relationships>"#;
    let body = r#"<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData><c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId7"/></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"#;
    let bytes = docx(
        body,
        &[
            ("word/_rels/document.xml.rels", doc_rels.as_bytes()),
            ("word/charts/chart1.xml", CHART.as_bytes()),
        ],
    );
    let path = write(dir.path(), "chart.docx", &bytes);
    let doc = read_target(&path, &Limits::default()).expect("read docx");
    assert_eq!(doc.parts, vec![table_part("chart 1", &chart_rows())]);
}

/// tests/fixtures/small.xls was written by Python's xlwt 1.3 (no Rust crate writes
/// .xls): Revenue!A1:C3 with text, numbers and a date; Notes!A1.
#[test]
fn legacy_xls_fixture() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.xls");
    let wb = read_workbook(&path, &Limits::default()).expect("read xls");
    let names: Vec<&str> = wb.sheets.iter().map(|s| s.sheet.as_str()).collect();
    assert_eq!(names, ["Revenue", "Notes"]);
    let values: Vec<(String, CellValue, Option<&str>)> = wb.sheets[0]
        .cells
        .iter()
        .map(|c| (c.addr.to_a1(), c.value.clone(), c.text.as_deref()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("A1".into(), CellValue::Text("Region".into()), None),
            ("B1".into(), CellValue::Text("Q3".into()), None),
            ("A2".into(), CellValue::Text("EMEA".into()), None),
            ("B2".into(), CellValue::Number(1234.5), None),
            ("C2".into(), CellValue::Number(45366.0), Some("2024-03-15")),
            ("A3".into(), CellValue::Text("APAC".into()), None),
            ("B3".into(), CellValue::Number(42.0), None),
        ]
    );
    let doc = read_target(&path, &Limits::default()).expect("read xls target");
    assert_eq!(doc.parts.len(), 2);
}
