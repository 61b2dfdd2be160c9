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

/// Relationships part with `(id, type suffix, target)` entries; the type is
/// `http://schemas.openxmlformats.org/officeDocument/2006/relationships/<suffix>` unless
/// the suffix is already a full URI.
pub fn rels(entries: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (id, ty, target) in entries {
        let ty = if ty.starts_with("http") {
            ty.to_string()
        } else {
            format!("http://schemas.openxmlformats.org/officeDocument/2006/relationships/{ty}")
        };
        s.push_str(&format!(
            r#"<Relationship Id="{id}" Type="{ty}" Target="{target}"/>"#
        ));
    }
    s.push_str("</Relationships>");
    s
}

/// An OLE compound file (version 3, 512-byte sectors) holding the given streams, each at
/// least 4,096 bytes (so in regular sectors, not the mini stream), at most 60 KiB in all:
/// what Office writes as `oleObject1.bin`.
pub fn compound_file(streams: &[(&str, &[u8])]) -> Vec<u8> {
    const FREE: u32 = 0xFFFF_FFFF;
    const END: u32 = 0xFFFF_FFFE;
    assert!(
        streams.len() <= 3,
        "one directory sector holds four entries"
    );
    let mut fat: Vec<u32> = vec![0xFFFF_FFFD, END];
    let mut data = Vec::new();
    let mut starts = Vec::new();
    for (_, bytes) in streams {
        assert!(
            bytes.len() >= 4096,
            "streams under 4096 bytes go to the mini stream"
        );
        let sectors = bytes.len().div_ceil(512);
        let start = fat.len() as u32;
        starts.push(start);
        for k in 0..sectors as u32 {
            fat.push(if k + 1 == sectors as u32 {
                END
            } else {
                start + k + 1
            });
        }
        let mut padded = bytes.to_vec();
        padded.resize(sectors * 512, 0);
        data.extend(padded);
    }
    assert!(fat.len() <= 128, "one FAT sector maps 128 sectors");
    fat.resize(128, FREE);

    let entry = |name: &str, ty: u8, child: u32, right: u32, start: u32, size: u32| {
        let mut e = vec![0u8; 128];
        let units: Vec<u16> = name.encode_utf16().collect();
        for (k, u) in units.iter().enumerate() {
            e[2 * k..2 * k + 2].copy_from_slice(&u.to_le_bytes());
        }
        e[64..66].copy_from_slice(&(((units.len() + 1) * 2) as u16).to_le_bytes());
        e[66] = ty;
        e[67] = 1;
        e[68..72].copy_from_slice(&FREE.to_le_bytes());
        e[72..76].copy_from_slice(&right.to_le_bytes());
        e[76..80].copy_from_slice(&child.to_le_bytes());
        e[116..120].copy_from_slice(&start.to_le_bytes());
        e[120..124].copy_from_slice(&size.to_le_bytes());
        e
    };
    let mut dir = entry(
        "Root Entry",
        5,
        if streams.is_empty() { FREE } else { 1 },
        FREE,
        END,
        0,
    );
    for (k, (name, bytes)) in streams.iter().enumerate() {
        let right = if k + 1 < streams.len() {
            k as u32 + 2
        } else {
            FREE
        };
        dir.extend(entry(name, 2, FREE, right, starts[k], bytes.len() as u32));
    }
    dir.resize(512, 0);

    let mut header = vec![0u8; 512];
    header[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    header[0x18..0x1A].copy_from_slice(&0x3Eu16.to_le_bytes());
    header[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes());
    header[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes());
    header[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes());
    header[0x20..0x22].copy_from_slice(&6u16.to_le_bytes());
    header[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes());
    header[0x30..0x34].copy_from_slice(&1u32.to_le_bytes());
    header[0x38..0x3C].copy_from_slice(&4096u32.to_le_bytes());
    header[0x3C..0x40].copy_from_slice(&END.to_le_bytes());
    header[0x44..0x48].copy_from_slice(&END.to_le_bytes());
    for k in 0..109 {
        let id = if k == 0 { 0 } else { FREE };
        header[0x4C + 4 * k..0x50 + 4 * k].copy_from_slice(&id.to_le_bytes());
    }
    let mut out = header;
    out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
    out.extend(dir);
    out.extend(data);
    out
}
