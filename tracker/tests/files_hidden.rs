//! Every place an Office file keeps text (#16 part 4): alt text, document properties,
//! comments, headers and footers, footnotes, SmartArt, and documents and workbooks
//! embedded in the file, each read by `read_target` as a part saying where it was found.
//! And the hostile side of embeddings: nesting is bounded, budgets are shared with the
//! outer file, and a broken embedding is skipped (and said so) without losing the rest.

mod files_common;

use std::path::Path;

use files_common::*;
use rust_xlsxwriter::{DocProperties, Format, Note, Shape, Workbook};
use tracker::WritePart;
use tracker::files::{Limits, TargetDoc, read_target};

const MIB: usize = 1024 * 1024;

const P_NS: &str = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;
const W_NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

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

/// The parts holding `needle` (in their text or in a cell).
fn holding<'a>(doc: &'a TargetDoc, needle: &str) -> Vec<&'a WritePart> {
    doc.parts
        .iter()
        .filter(|p| match p {
            WritePart::Text { text, .. } => text.contains(needle),
            WritePart::Table { rows, .. } => rows.iter().flatten().any(|c| c.contains(needle)),
        })
        .collect()
}

fn locations(doc: &TargetDoc) -> Vec<&str> {
    doc.parts.iter().map(|p| p.location()).collect()
}

/// A deck of one slide with `shapes`, the slide's relationships and further entries.
fn deck(shapes: &str, slide_rels: &[(&str, &str, &str)], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let rels = rels(slide_rels);
    let mut entries: Vec<(&str, &[u8])> =
        vec![("ppt/slides/_rels/slide1.xml.rels", rels.as_bytes())];
    entries.extend_from_slice(extra);
    pptx(&[slide_xml(shapes)], &[0], &entries)
}

/// A docx whose `word/document.xml` has these relationships.
fn document(body: &str, doc_rels: &[(&str, &str, &str)], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let rels = rels(doc_rels);
    let mut entries: Vec<(&str, &[u8])> = vec![("word/_rels/document.xml.rels", rels.as_bytes())];
    entries.extend_from_slice(extra);
    docx(body, &entries)
}

fn para(s: &str) -> String {
    format!("<w:p><w:r><w:t>{s}</w:t></w:r></w:p>")
}

fn read(dir: &Path, name: &str, bytes: &[u8]) -> TargetDoc {
    let path = write(dir, name, bytes);
    read_target(&path, &Limits::default()).expect("read target")
}

/// Book1.xlsx: Sheet1 with a header row and one row of values.
fn book(value: f64) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Region").expect("write");
    ws.write_string(0, 1, "Revenue").expect("write");
    ws.write_string(1, 0, "EMEA").expect("write");
    ws.write_number_with_format(1, 1, value, &Format::new().set_num_format("#,##0.00"))
        .expect("write");
    wb.save_to_buffer().expect("xlsx")
}

#[test]
fn alt_text_of_shapes_and_pictures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pic = r#"<p:pic><p:nvPicPr><p:cNvPr id="4" name="Picture 3" descr="Q3 revenue 187,432.55" title="EMEA"/><p:cNvPicPr/><p:nvPr/></p:nvPicPr><p:blipFill/><p:spPr/></p:pic>"#;
    let doc = read(dir.path(), "alt.pptx", &deck(pic, &[], &[]));
    assert_eq!(
        doc.parts,
        vec![text(
            "alt text of shape 'Picture 3' on slide 1",
            "EMEA\nQ3 revenue 187,432.55"
        )]
    );

    // Word keeps alt text on the drawing (wp:docPr) and often again on the picture.
    let body = r#"<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><wp:docPr id="1" name="Picture 1" descr="Margin 187,432.55"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData><pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="0" name="Picture 1" descr="Margin 187,432.55"/><pic:cNvPicPr/></pic:nvPicPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"#;
    let doc = read(dir.path(), "alt.docx", &docx(body, &[]));
    assert_eq!(
        doc.parts,
        vec![text("alt text of shape 'Picture 1'", "Margin 187,432.55")]
    );
}

const CORE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>Board pack</dc:title><dc:subject>EMEA 187,432.55</dc:subject><dc:creator>Ann</dc:creator><cp:keywords>margin</cp:keywords><dc:description>Q3 APAC 42,001.17</dc:description><cp:lastModifiedBy>Bob</cp:lastModifiedBy><cp:revision>7</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">2024-03-15T00:00:00Z</dcterms:created><cp:category>finance</cp:category></cp:coreProperties>"#;
const APP: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Template>Normal.dotm</Template><TotalTime>12</TotalTime><Pages>3</Pages><Words>412</Words><Application>Microsoft Office Word</Application><Manager>Carol</Manager><Company>Acme 99,001.25</Company></Properties>"#;

#[test]
fn document_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    let label = custom_props("ABCDEF01-2345-6789-ABCD-EF0123456789", "General", true);
    let custom = label.replace(
        "</Properties>",
        r#"<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="5" name="Budget"><vt:r8>187432.55</vt:r8></property><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="6" name="Owner"><vt:lpwstr>Treasury</vt:lpwstr></property></Properties>"#,
    );
    let props: [(&str, &[u8]); 3] = [
        ("docProps/core.xml", CORE.as_bytes()),
        ("docProps/app.xml", APP.as_bytes()),
        ("docProps/custom.xml", custom.as_bytes()),
    ];
    // Statistics (pages, words), dates and the Purview label's own properties are not
    // text anyone wrote.
    let want = text(
        "document properties",
        "title: Board pack\nsubject: EMEA 187,432.55\ncreator: Ann\nkeywords: margin\ndescription: Q3 APAC 42,001.17\nlastModifiedBy: Bob\ncategory: finance\nManager: Carol\nCompany: Acme 99,001.25\nBudget: 187432.55\nOwner: Treasury",
    );
    let doc = read(dir.path(), "props.docx", &docx(&para("Body"), &props));
    assert_eq!(doc.parts, vec![text("paragraph 1", "Body"), want.clone()]);
    let doc = read(dir.path(), "props.pptx", &pptx(&[], &[], &props));
    assert_eq!(doc.parts, vec![want]);
}

#[test]
fn slide_comments_legacy_and_modern() {
    let dir = tempfile::tempdir().expect("tempdir");
    let legacy = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:cmLst {P_NS}><p:cm authorId="0" dt="2024-03-15T10:00:00.000" idx="1"><p:pos x="10" y="10"/><p:text>Check 187,432.55</p:text></p:cm></p:cmLst>"#
    );
    let modern = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p188:cmLst xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p188="http://schemas.microsoft.com/office/powerpoint/2018/8/main"><p188:cm id="{1A}" authorId="{2B}" created="2024-03-15T10:00:00.000"><pc:sldMkLst xmlns:pc="http://schemas.microsoft.com/office/powerpoint/2013/main/command"><pc:docMk/><pc:sldMk cId="0" sldId="256"/></pc:sldMkLst><p188:replyLst><p188:reply id="{3C}" authorId="{2B}" created="2024-03-15T11:00:00.000"><p188:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US"/><a:t>APAC was 42,001.17</a:t></a:r></a:p></p188:txBody></p188:reply></p188:replyLst><p188:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>EMEA was 187,432.55</a:t></a:r></a:p></p188:txBody></p188:cm></p188:cmLst>"#;
    let slide_rels = [
        ("rId2", "comments", "../comments/comment1.xml"),
        (
            "rId3",
            "http://schemas.microsoft.com/office/2018/10/relationships/comments",
            "../comments/modernComment_100_ABCDEF.xml",
        ),
    ];
    let bytes = deck(
        &shape(&[&["Revenue"]]),
        &slide_rels,
        &[
            ("ppt/comments/comment1.xml", legacy.as_bytes()),
            (
                "ppt/comments/modernComment_100_ABCDEF.xml",
                modern.as_bytes(),
            ),
        ],
    );
    let doc = read(dir.path(), "comments.pptx", &bytes);
    assert_eq!(
        doc.parts,
        vec![
            text("slide 1", "Revenue"),
            text(
                "comments on slide 1",
                "Check 187,432.55\nEMEA was 187,432.55\nAPAC was 42,001.17"
            ),
        ]
    );
}

#[test]
fn word_headers_footers_comments_footnotes_and_endnotes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let header = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:hdr {W_NS}><w:p><w:r><w:t>Confidential: EMEA 187,432.55</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>APAC</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>42,001.17</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:hdr>"#
    );
    let footer = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr {W_NS}><w:p><w:r><w:t>Page </w:t></w:r><w:fldSimple w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p></w:ftr>"#
    );
    let comments = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:comments {W_NS}><w:comment w:id="0" w:author="Ann"><w:p><w:r><w:t>Was 187,432.55</w:t></w:r></w:p></w:comment><w:comment w:id="1" w:author="Bob"><w:p><w:r><w:t>APAC 42,001.17</w:t></w:r></w:p></w:comment></w:comments>"#
    );
    let footnotes = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:footnotes {W_NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> Source: ledger 187,432.55</w:t></w:r></w:p></w:footnote></w:footnotes>"#
    );
    let endnotes = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:endnotes {W_NS}><w:endnote w:id="1"><w:p><w:r><w:t>Restated 42,001.17</w:t></w:r></w:p></w:endnote></w:endnotes>"#
    );
    let bytes = document(
        &para("Body"),
        &[
            ("rId1", "header", "header1.xml"),
            ("rId2", "footer", "footer1.xml"),
            ("rId3", "comments", "comments.xml"),
            ("rId4", "footnotes", "footnotes.xml"),
            ("rId5", "endnotes", "endnotes.xml"),
        ],
        &[
            ("word/header1.xml", header.as_bytes()),
            ("word/footer1.xml", footer.as_bytes()),
            ("word/comments.xml", comments.as_bytes()),
            ("word/footnotes.xml", footnotes.as_bytes()),
            ("word/endnotes.xml", endnotes.as_bytes()),
        ],
    );
    let doc = read(dir.path(), "memo.docx", &bytes);
    assert_eq!(
        doc.parts,
        vec![
            text("paragraph 1", "Body"),
            text("header 1", "Confidential: EMEA 187,432.55"),
            table_part("header 1 table 1", &[&["APAC", "42,001.17"]]),
            text("footer 1", "Page 1"),
            text("footnote", "Source: ledger 187,432.55"),
            text("endnote", "Restated 42,001.17"),
            text("comments", "Was 187,432.55\nAPAC 42,001.17"),
        ]
    );
}

#[test]
fn smartart_text_is_read_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="5" name="Diagram 4"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/diagram"><dgm:relIds xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" r:dm="rId2" r:lo="rId3" r:qs="rId4" r:cs="rId5"/></a:graphicData></a:graphic></p:graphicFrame>"#;
    let data = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><dgm:ptLst><dgm:pt modelId="{0}" type="doc"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/><a:lstStyle/><a:p><a:endParaRPr lang="en-US"/></a:p></dgm:t></dgm:pt><dgm:pt modelId="{1}"><dgm:prSet phldrT="[Text]"/><dgm:spPr/><dgm:t><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US"/><a:t>EMEA 187,432.55</a:t></a:r></a:p></dgm:t></dgm:pt><dgm:pt modelId="{2}" type="parTrans"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/><a:lstStyle/><a:p><a:endParaRPr lang="en-US"/></a:p></dgm:t></dgm:pt><dgm:pt modelId="{3}"><dgm:prSet/><dgm:spPr/><dgm:t><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>APAC 42,001.17</a:t></a:r></a:p></dgm:t></dgm:pt></dgm:ptLst><dgm:cxnLst/><dgm:bg/><dgm:whole/></dgm:dataModel>"#;
    // The cached drawing repeats the text; read once, from the data.
    let drawing = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<dsp:drawing xmlns:dsp="http://schemas.microsoft.com/office/drawing/2008/diagram" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><dsp:spTree><dsp:sp modelId="{1}"><dsp:txBody><a:p><a:r><a:t>EMEA 187,432.55</a:t></a:r></a:p></dsp:txBody></dsp:sp><dsp:sp modelId="{3}"><dsp:txBody><a:p><a:r><a:t>APAC 42,001.17</a:t></a:r></a:p></dsp:txBody></dsp:sp></dsp:spTree></dsp:drawing>"#;
    let bytes = deck(
        frame,
        &[
            ("rId2", "diagramData", "../diagrams/data1.xml"),
            (
                "rId6",
                "http://schemas.microsoft.com/office/2007/relationships/diagramDrawing",
                "../diagrams/drawing1.xml",
            ),
        ],
        &[
            ("ppt/diagrams/data1.xml", data.as_bytes()),
            ("ppt/diagrams/drawing1.xml", drawing.as_bytes()),
        ],
    );
    let doc = read(dir.path(), "smartart.pptx", &bytes);
    assert_eq!(
        doc.parts,
        vec![text(
            "slide 1 SmartArt 1",
            "EMEA 187,432.55\nAPAC 42,001.17"
        )]
    );

    let body = r#"<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/diagram"><dgm:relIds xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:dm="rId8"/></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"#;
    let bytes = document(
        body,
        &[("rId8", "diagramData", "diagrams/data1.xml")],
        &[("word/diagrams/data1.xml", data.as_bytes())],
    );
    let doc = read(dir.path(), "smartart.docx", &bytes);
    assert_eq!(
        doc.parts,
        vec![text("SmartArt 1", "EMEA 187,432.55\nAPAC 42,001.17")]
    );
}

#[test]
fn embedded_workbooks_and_documents_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="6" name="Object 5"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/presentationml/2006/ole"><p:oleObj name="Worksheet" r:id="rId2" progId="Excel.Sheet.12"><p:embed/></p:oleObj></a:graphicData></a:graphic></p:graphicFrame>"#;
    let xlsx = book(187432.55);
    let bytes = deck(
        frame,
        &[(
            "rId2",
            "package",
            "../embeddings/Microsoft_Excel_Worksheet.xlsx",
        )],
        &[("ppt/embeddings/Microsoft_Excel_Worksheet.xlsx", &xlsx)],
    );
    let doc = read(dir.path(), "embedded.pptx", &bytes);
    assert_eq!(
        doc.parts,
        vec![table_part(
            "embedded Microsoft_Excel_Worksheet.xlsx on slide 1 > Sheet1!A1:B2",
            &[&["Region", "Revenue"], &["EMEA", "187,432.55"]]
        )]
    );
    assert!(doc.skipped.is_empty(), "{:?}", doc.skipped);

    // A chart's data lives in a workbook of its own, embedded in the deck.
    let chart_frame = r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="4" name="Chart 3"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" r:id="rId2"/></a:graphicData></a:graphic></p:graphicFrame>"#;
    let chart = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart><c:plotArea><c:barChart><c:ser><c:val><c:numRef><c:numCache><c:pt idx="0"><c:v>187432.55</c:v></c:pt></c:numCache></c:numRef></c:val></c:ser></c:barChart></c:plotArea></c:chart></c:chartSpace>"#;
    let chart_rels = rels(&[(
        "rId1",
        "package",
        "../embeddings/Microsoft_Excel_Worksheet.xlsx",
    )]);
    let bytes = deck(
        chart_frame,
        &[("rId2", "chart", "../charts/chart1.xml")],
        &[
            ("ppt/charts/chart1.xml", chart.as_bytes()),
            ("ppt/charts/_rels/chart1.xml.rels", chart_rels.as_bytes()),
            ("ppt/embeddings/Microsoft_Excel_Worksheet.xlsx", &xlsx),
        ],
    );
    let doc = read(dir.path(), "chart.pptx", &bytes);
    assert_eq!(
        locations(&doc),
        [
            "slide 1 chart 1",
            "embedded Microsoft_Excel_Worksheet.xlsx on slide 1 > Sheet1!A1:B2"
        ]
    );

    // A deck inside a document, and a document inside that deck.
    let inner_doc = docx(&para("Ledger 42,001.17"), &[]);
    let inner_deck = pptx(
        &[slide_xml(&shape(&[&["EMEA 187,432.55"]]))],
        &[0],
        &[("ppt/embeddings/Microsoft_Word_Document.docx", &inner_doc)],
    );
    let bytes = docx(
        &para("Body"),
        &[(
            "word/embeddings/Microsoft_PowerPoint_Presentation.pptx",
            &inner_deck,
        )],
    );
    let doc = read(dir.path(), "nested.docx", &bytes);
    assert_eq!(
        doc.parts,
        vec![
            text("paragraph 1", "Body"),
            text(
                "embedded Microsoft_PowerPoint_Presentation.pptx > slide 1",
                "EMEA 187,432.55"
            ),
            text(
                "embedded Microsoft_PowerPoint_Presentation.pptx > embedded Microsoft_Word_Document.docx > paragraph 1",
                "Ledger 42,001.17"
            ),
        ]
    );
}

#[test]
fn ole_objects_holding_a_package_or_an_xls_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A compound file's Package stream is an Office package; pad the docx past the
    // mini-stream cutoff with an entry stored as is, as real ones are.
    let filler: Vec<u8> = (0..6000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let inner = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in unzip_entries(&docx(&para("Ledger 187,432.55"), &[])) {
            w.start_file(name, deflated()).expect("entry");
            std::io::Write::write_all(&mut w, &data).expect("write");
        }
        w.start_file(
            "word/media/filler.bin",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .expect("entry");
        std::io::Write::write_all(&mut w, &filler).expect("write");
        w.finish().expect("zip").into_inner()
    };
    let ole_package = compound_file(&[("Package", &inner)]);
    let xls = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.xls"))
        .expect("small.xls");
    let bytes = docx(
        &para("Body"),
        &[
            ("word/embeddings/oleObject1.bin", &ole_package),
            ("word/embeddings/oleObject2.bin", &xls),
        ],
    );
    let doc = read(dir.path(), "ole.docx", &bytes);
    assert_eq!(
        locations(&doc),
        [
            "paragraph 1",
            "embedded oleObject1.bin > paragraph 1",
            "embedded oleObject2.bin > Revenue!A1:C3",
            "embedded oleObject2.bin > Notes!A1",
        ]
    );
    assert_eq!(holding(&doc, "187,432.55").len(), 1);
    assert_eq!(
        doc.parts[2],
        table_part(
            "embedded oleObject2.bin > Revenue!A1:C3",
            &[
                &["Region", "Q3", ""],
                &["EMEA", "1234.5", "2024-03-15"],
                &["APAC", "42", ""]
            ]
        )
    );
}

fn unzip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("open zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut out = Vec::new();
            f.read_to_end(&mut out).expect("read entry");
            (f.name().expect("name").to_string(), out)
        })
        .collect()
}

/// A zip with the entries of `bytes` and `extra` ones added.
fn add_entries(bytes: &[u8], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let entries = unzip_entries(bytes);
    let mut all: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    all.extend_from_slice(extra);
    zip_bytes(&all)
}

#[test]
fn workbook_as_target_reads_notes_headers_shapes_properties_and_embeddings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Summary").expect("name");
    ws.write_string(0, 0, "Total").expect("write");
    ws.insert_note(0, 0, &Note::new("EMEA was 187,432.55").set_author("Ann"))
        .expect("note");
    ws.set_header("&L&\"Arial,Bold\"&14Confidential&C&P&RQ3 42,001.17");
    ws.set_footer("&CPrepared &D");
    ws.insert_shape(
        3,
        3,
        &Shape::textbox()
            .set_text("APAC 42,001.17")
            .set_alt_text("Box of 187,432.55"),
    )
    .expect("shape");
    wb.set_properties(&DocProperties::new().set_company("Acme 99,001.25"));
    let xlsx = wb.save_to_buffer().expect("xlsx");
    let inner = docx(&para("Ledger 187,432.55"), &[]);
    let xlsx = add_entries(
        &xlsx,
        &[("xl/embeddings/Microsoft_Word_Document.docx", &inner)],
    );
    let doc = read(dir.path(), "summary.xlsx", &xlsx);
    assert_eq!(
        doc.parts,
        vec![
            table_part("Summary!A1", &[&["Total"]]),
            // Excel (and rust_xlsxwriter) start a note with its author's name.
            text("comment on Summary!A1", "Ann:\nEMEA was 187,432.55"),
            text(
                "header and footer of Summary",
                "Confidential\nQ3 42,001.17\nPrepared"
            ),
            text("text boxes on Summary", "APAC 42,001.17"),
            text(
                "alt text of shape 'TextBox 1' on Summary",
                "Box of 187,432.55"
            ),
            text("document properties", "Company: Acme 99,001.25"),
            text(
                "embedded Microsoft_Word_Document.docx > paragraph 1",
                "Ledger 187,432.55"
            ),
        ]
    );
}

const SHEET_NS: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

#[test]
fn threaded_comments_are_read_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook {SHEET_NS}><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {SHEET_NS}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Total</t></is></c></row></sheetData></worksheet>"#
    );
    // Excel writes a threaded comment twice: threaded, and as a note for older readers.
    let legacy = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><comments {SHEET_NS}><authors><author>tc={{X}}</author></authors><commentList><comment ref="A1" authorId="0"><text><t>[Threaded comment]

Your version of Excel allows you to read this threaded comment; however, any edits to it will get removed if the file is opened in a newer version of Excel.

Comment:
    EMEA was 187,432.55</t></text></comment><comment ref="B2" authorId="0"><text><r><t>Plain note </t></r><r><t>42,001.17</t></r><rPh sb="0" eb="1"><t>phonetic</t></rPh></text></comment></commentList></comments>"#
    );
    let threaded = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"><threadedComment ref="A1" dT="2024-03-15T10:00:00.00" personId="{P}" id="{C1}"><text>EMEA was 187,432.55</text></threadedComment><threadedComment ref="A1" dT="2024-03-15T11:00:00.00" personId="{P}" id="{C2}" parentId="{C1}"><text>APAC too</text></threadedComment></ThreadedComments>"#;
    let bytes = zip_bytes(&[
        (
            "_rels/.rels",
            rels(&[("rId1", "officeDocument", "xl/workbook.xml")]).as_bytes(),
        ),
        ("xl/workbook.xml", workbook.as_bytes()),
        (
            "xl/_rels/workbook.xml.rels",
            rels(&[("rId1", "worksheet", "worksheets/sheet1.xml")]).as_bytes(),
        ),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        (
            "xl/worksheets/_rels/sheet1.xml.rels",
            rels(&[
                ("rId1", "comments", "../comments1.xml"),
                (
                    "rId2",
                    "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment",
                    "../threadedComments/threadedComment1.xml",
                ),
            ])
            .as_bytes(),
        ),
        ("xl/comments1.xml", legacy.as_bytes()),
        (
            "xl/threadedComments/threadedComment1.xml",
            threaded.as_bytes(),
        ),
    ]);
    let doc = read(dir.path(), "threads.xlsx", &bytes);
    assert_eq!(
        doc.parts,
        vec![
            table_part("Data!A1", &[&["Total"]]),
            text(
                "comments on Data",
                "EMEA was 187,432.55\nAPAC too\nPlain note 42,001.17"
            ),
        ]
    );
}

/// A docx holding `levels` documents, each inside the one before.
fn nested_docx(levels: usize) -> Vec<u8> {
    let mut bytes = docx(&para(&format!("level {levels}")), &[]);
    for level in (0..levels).rev() {
        bytes = docx(
            &para(&format!("level {level}")),
            &[("word/embeddings/Microsoft_Word_Document.docx", &bytes)],
        );
    }
    bytes
}

#[test]
fn embeddings_nested_past_the_depth_bound_are_skipped_and_said_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = read(dir.path(), "nested.docx", &nested_docx(5));
    let found: Vec<&str> = doc
        .parts
        .iter()
        .filter_map(|p| match p {
            WritePart::Text { text, .. } => Some(text.as_str()),
            WritePart::Table { .. } => None,
        })
        .collect();
    assert_eq!(found, ["level 0", "level 1", "level 2", "level 3"]);
    let e = "embedded Microsoft_Word_Document.docx";
    assert_eq!(
        doc.skipped,
        [format!(
            "{e} > {e} > {e} > {e}: not read: embedded more than 3 levels deep"
        )]
    );
    let shallow = Limits {
        max_embedding_depth: 1,
        ..Limits::default()
    };
    let path = write(dir.path(), "nested2.docx", &nested_docx(5));
    let doc = read_target(&path, &shallow).expect("read");
    assert_eq!(doc.parts.len(), 2);
}

/// A docx carrying `size` zero bytes in a part nothing reads: it costs only when the
/// archive holding it is opened and checked.
fn zeros_docx(size: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in unzip_entries(&docx(&para("inner"), &[])) {
        w.start_file(name, deflated()).expect("entry");
        std::io::Write::write_all(&mut w, &data).expect("write");
    }
    w.start_file("word/media/zeros.bin", deflated())
        .expect("entry");
    std::io::Write::write_all(&mut w, &vec![0u8; size]).expect("write");
    w.finish().expect("zip").into_inner()
}

#[test]
fn an_embedded_zip_bomb_is_counted_against_the_outer_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A classic bomb inside: refused, naming the embedding, not skipped.
    let bomb = zeros_docx(50 * MIB);
    let path = write(
        dir.path(),
        "bomb.pptx",
        &deck(
            &shape(&[&["Agenda"]]),
            &[],
            &[("ppt/embeddings/Microsoft_Word_Document.docx", &bomb)],
        ),
    );
    let err = read_target(&path, &Limits::default())
        .err()
        .map(|e| e.problem.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(
            "refused: embedded Microsoft_Word_Document.docx: word/media/zeros.bin declares a compression ratio of "
        ) && err.ends_with(":1, above the 200:1 limit (a zip bomb?)"),
        "{err}"
    );

    // Two embeddings of 3 MiB each: either alone fits a 4 MiB budget, both do not, so
    // the outer file's budget is the one they spend.
    let limits = Limits {
        max_total_uncompressed: 4 * MIB as u64,
        max_ratio: 100_000,
        ..Limits::default()
    };
    let one = zeros_docx(3 * MIB);
    let single = write(
        dir.path(),
        "one.pptx",
        &deck(
            &shape(&[&["Agenda"]]),
            &[],
            &[("ppt/embeddings/a.docx", &one)],
        ),
    );
    assert!(read_target(&single, &limits).is_ok());
    let double = write(
        dir.path(),
        "two.pptx",
        &deck(
            &shape(&[&["Agenda"]]),
            &[],
            &[
                ("ppt/embeddings/a.docx", &one),
                ("ppt/embeddings/b.docx", &one),
            ],
        ),
    );
    let err = read_target(&double, &limits)
        .err()
        .map(|e| e.problem.to_string());
    assert_eq!(
        err.as_deref(),
        Some("refused: embedded b.docx: the archive would expand past 4 MiB in total")
    );

    // Objects held in memory while nested ones are read count against the memory bound.
    let memory = Limits {
        max_memory_bytes: 2_000,
        ..Limits::default()
    };
    let err = read_target(&single, &memory)
        .err()
        .map(|e| e.problem.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("refused: embedded a.docx: the embedded objects being read would take "),
        "{err}"
    );

    // Text and XML elements are one budget too.
    let text_limits = Limits {
        max_text_chars: 30,
        ..Limits::default()
    };
    let inner = docx(&para("0123456789012345678901234"), &[]);
    let path = write(
        dir.path(),
        "text.pptx",
        &deck(
            &shape(&[&["0123456789"]]),
            &[],
            &[("ppt/embeddings/a.docx", &inner)],
        ),
    );
    let err = read_target(&path, &text_limits)
        .err()
        .map(|e| e.problem.to_string());
    assert_eq!(
        err.as_deref(),
        Some("refused: embedded a.docx: the file holds more than 30 characters of text")
    );
}

#[test]
fn a_broken_embedding_is_skipped_and_the_rest_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xlsx = book(187432.55);
    let truncated = &xlsx[..xlsx.len() / 2];
    let bytes = deck(
        &shape(&[&["Agenda"]]),
        &[(
            "rId2",
            "package",
            "../embeddings/Microsoft_Excel_Worksheet.xlsx",
        )],
        &[
            ("ppt/embeddings/Microsoft_Excel_Worksheet.xlsx", truncated),
            ("ppt/embeddings/oleObject1.bin", b"not a compound file"),
            ("ppt/embeddings/Microsoft_Excel_Worksheet1.xlsx", &xlsx),
        ],
    );
    let doc = read(dir.path(), "broken.pptx", &bytes);
    assert_eq!(
        locations(&doc),
        [
            "slide 1",
            "embedded Microsoft_Excel_Worksheet1.xlsx > Sheet1!A1:B2"
        ]
    );
    assert_eq!(doc.skipped.len(), 2, "{:?}", doc.skipped);
    assert!(
        doc.skipped[0].starts_with(
            "embedded Microsoft_Excel_Worksheet.xlsx on slide 1: not a valid xlsx (zip archive is truncated"
        ),
        "{:?}",
        doc.skipped
    );
    assert_eq!(
        doc.skipped[1],
        "embedded oleObject1.bin: not read: neither an Office package nor an OLE compound file"
    );
}

#[test]
fn a_scan_report_lists_what_was_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = docx(
        &para("Body"),
        &[("word/embeddings/oleObject1.bin", b"not a compound file")],
    );
    let path = write(dir.path(), "memo.docx", &bytes);
    let report = tracker::scan::scan(&[path], &[], &Limits::default(), 0, &mut |_| {});
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(
        json["targets"][0]["skipped"],
        serde_json::json!([
            "embedded oleObject1.bin: not read: neither an Office package nor an OLE compound file"
        ])
    );
    assert!(json["targets"][0].get("error").is_none());
}

#[test]
fn damaged_embeddings_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xlsx = book(187432.55);
    let filler: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let package = compound_file(&[("Package", &[xlsx.as_slice(), &filler].concat())]);
    let xls = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.xls"))
        .expect("small.xls");
    let deck_of = |object: &[u8]| {
        deck(
            &shape(&[&["Agenda"]]),
            &[],
            &[("ppt/embeddings/object.xlsx", object)],
        )
    };
    // A small generator of positions and bytes (no randomness needed, only spread).
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut reads = 0;
    for object in [&xlsx, &package, &xls] {
        for k in 1..=24 {
            let cut = object.len() * k / 25;
            let mut flipped = object.clone();
            for _ in 0..4 {
                let at = (next() % flipped.len() as u64) as usize;
                flipped[at] ^= (next() % 255 + 1) as u8;
            }
            for damaged in [&object[..cut], flipped.as_slice()] {
                let path = write(dir.path(), "damaged.pptx", &deck_of(damaged));
                // Read or refused, never a panic; the slide is there whenever it reads.
                if let Ok(doc) = read_target(&path, &Limits::default()) {
                    assert_eq!(doc.parts.first().map(|p| p.location()), Some("slide 1"));
                    reads += 1;
                }
            }
        }
    }
    assert!(reads > 100, "{reads}");
}

/// Places read before this change, checked here so they stay read: a slide's footer
/// and date placeholders (PowerPoint copies the footer onto each slide), and a Word
/// text box written only as VML (older Word, no `mc:AlternateContent`).
#[test]
fn footer_placeholders_and_vml_text_boxes_were_already_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let footer = r#"<p:sp><p:nvSpPr><p:cNvPr id="7" name="Footer Placeholder 6"/><p:cNvSpPr><a:spLocks noGrp="1"/></p:cNvSpPr><p:nvPr><p:ph type="ftr" sz="quarter" idx="11"/></p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US"/><a:t>EMEA 187,432.55</a:t></a:r></a:p></p:txBody></p:sp><p:sp><p:nvSpPr><p:cNvPr id="8" name="Date Placeholder 7"/><p:cNvSpPr/><p:nvPr><p:ph type="dt" sz="half" idx="10"/></p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:fld id="{B1}" type="datetime1"><a:rPr lang="en-US"/><a:t>3/15/2024</a:t></a:fld></a:p></p:txBody></p:sp>"#;
    let doc = read(dir.path(), "footer.pptx", &deck(footer, &[], &[]));
    assert_eq!(
        doc.parts,
        vec![text("slide 1", "EMEA 187,432.55\n3/15/2024")]
    );

    let body = r#"<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" id="Text Box 2" style="width:100pt"><v:textbox><w:txbxContent><w:p><w:r><w:t>APAC 42,001.17</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>"#;
    let doc = read(dir.path(), "vml.docx", &docx(body, &[]));
    assert_eq!(doc.parts, vec![text("paragraph 1", "APAC 42,001.17")]);
}
