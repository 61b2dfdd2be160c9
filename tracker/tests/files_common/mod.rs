//! Builders for real OOXML fixtures, written in the tests themselves so nothing binary is
//! checked in: minimal but valid pptx and docx packages, and raw zips for hostile cases.
#![allow(dead_code)]

pub mod hostile;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

pub fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A zip archive of `(name, bytes)` entries, deflated.
pub fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, deflated()).expect("start entry");
        w.write_all(data).expect("write entry");
    }
    w.finish().expect("finish zip").into_inner()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

const CT: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#;

fn package_rels(main: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{main}"/></Relationships>"#
    )
}

/// A text box shape with the given paragraphs (each a list of runs).
pub fn shape(paragraphs: &[&[&str]]) -> String {
    let mut s = String::from(
        r#"<p:sp><p:nvSpPr><p:cNvPr id="2" name="Box"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/>"#,
    );
    for runs in paragraphs {
        s.push_str(r#"<a:p><a:pPr><a:tabLst><a:tab pos="100"/></a:tabLst></a:pPr>"#);
        for r in *runs {
            s.push_str(&format!(
                r#"<a:r><a:rPr lang="en-US"/><a:t>{r}</a:t></a:r>"#
            ));
        }
        s.push_str("</a:p>");
    }
    s.push_str("</p:txBody></p:sp>");
    s
}

/// A table graphic frame with the given rows of cell texts.
pub fn table(rows: &[&[&str]]) -> String {
    let mut s = String::from(
        r#"<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="3" name="Table"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/table"><a:tbl><a:tblGrid><a:gridCol w="1"/></a:tblGrid>"#,
    );
    for row in rows {
        s.push_str(r#"<a:tr h="1">"#);
        for cell in *row {
            s.push_str(&format!(
                r#"<a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>{cell}</a:t></a:r></a:p></a:txBody></a:tc>"#
            ));
        }
        s.push_str("</a:tr>");
    }
    s.push_str("</a:tbl></a:graphicData></a:graphic></p:graphicFrame>");
    s
}

pub fn slide_xml(shapes: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>{shapes}</p:spTree></p:cSld></p:sld>"#
    )
}

/// A pptx whose slide files are `ppt/slides/slide{i+1}.xml` for `slides[i]`, shown in the
/// order given by `order` (indexes into `slides`), so file order and presentation order
/// can differ. `extra` entries are added as they are.
pub fn pptx(slides: &[String], order: &[usize], extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut ids = String::new();
    let mut rels = String::new();
    for (k, &i) in order.iter().enumerate() {
        ids.push_str(&format!(
            r#"<p:sldId id="{}" r:id="rId{}"/>"#,
            256 + k,
            10 + i
        ));
    }
    for i in 0..slides.len() {
        rels.push_str(&format!(
            r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide{}.xml"/>"#,
            10 + i,
            i + 1
        ));
    }
    let presentation = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<p:presentation xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:sldIdLst>{ids}</p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/></p:presentation>"#
    );
    let pres_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com/" TargetMode="External"/></Relationships>"#
    );
    let pkg = package_rels("ppt/presentation.xml");
    let names: Vec<String> = (1..=slides.len())
        .map(|i| format!("ppt/slides/slide{i}.xml"))
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", CT.as_bytes()),
        ("_rels/.rels", pkg.as_bytes()),
        ("ppt/presentation.xml", presentation.as_bytes()),
        ("ppt/_rels/presentation.xml.rels", pres_rels.as_bytes()),
    ];
    for (name, xml) in names.iter().zip(slides) {
        entries.push((name.as_str(), xml.as_bytes()));
    }
    entries.extend_from_slice(extra);
    zip_bytes(&entries)
}

/// A docx with the given `w:body` content.
pub fn docx(body: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    let pkg = package_rels("word/document.xml");
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", CT.as_bytes()),
        ("_rels/.rels", pkg.as_bytes()),
        ("word/document.xml", document.as_bytes()),
    ];
    entries.extend_from_slice(extra);
    zip_bytes(&entries)
}

/// `docProps/custom.xml` carrying a Purview label.
pub fn custom_props(guid: &str, name: &str, enabled: bool) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="MSIP_Label_{guid}_Enabled"><vt:lpwstr>{enabled}</vt:lpwstr></property><property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="3" name="MSIP_Label_{guid}_Name"><vt:lpwstr>{name}</vt:lpwstr></property><property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="4" name="MSIP_Label_{guid}_SiteId"><vt:lpwstr>00000000-1111-2222-3333-444444444444</vt:lpwstr></property></Properties>"#
    )
}
