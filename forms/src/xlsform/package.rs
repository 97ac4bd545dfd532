//! The `.xlsx` package checked before calamine reads it: every file in the zip inflates within
//! [`MAX_PART_BYTES`], all of them together within [`MAX_WORKBOOK_BYTES`], the shared strings
//! declare (`uniqueCount`) and hold at most [`MAX_SHARED_STRINGS`], and every other file but the
//! worksheets (styles, workbook, relationships: calamine reads them whole on opening and keeps
//! what they list) holds at most [`MAX_ELEMENTS`] XML elements. The sizes a zip declares for its
//! entries can lie, so the bytes are counted as they inflate; calamine reserves room for the
//! declared count of shared strings when it opens the workbook, so the count is read here first.
//!
//! Cost: one more inflation of the package, streamed, and one XML scan of each file but the
//! worksheets; memory is a few buffers and the longest XML event (at most [`MAX_PART_BYTES`]).

use super::error::{ImportError, Limit, Part, Problem};
use super::limits::{MAX_ELEMENTS, MAX_PART_BYTES, MAX_SHARED_STRINGS, MAX_WORKBOOK_BYTES};
use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;
use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// Sheets, or relationships, a workbook may list: a workbook listing more is hostile, and the
/// sheets past these are checked as parts of another kind.
const MAX_LISTED: usize = 10_000;

/// `Err` with [`Problem::TooLarge`] when a part of the package goes past a bound; a package that
/// does not open as a zip passes, for calamine to report it unreadable.
pub fn check(bytes: &[u8]) -> Result<(), Box<ImportError>> {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let sheets = sheet_names_by_part(&mut zip);
    let mut left = MAX_WORKBOOK_BYTES;
    for index in 0..zip.len() {
        let Ok(file) = zip.by_index(index) else {
            continue; // unreadable entries are calamine's to report, if it needs them
        };
        let path = file.name().map(|n| n.into_owned()).unwrap_or_default();
        let kind = if sheets.contains_key(&normalized(&path)) {
            Kind::Sheet
        } else if normalized(&path).ends_with("sharedstrings.xml") {
            Kind::SharedStrings
        } else {
            Kind::Other
        };
        let budget = left.min(MAX_PART_BYTES);
        let part = inflate(file, budget, kind);
        let limit = if part.over && budget == MAX_PART_BYTES {
            Limit::InflatedBytes {
                max: MAX_PART_BYTES,
            }
        } else if part.over {
            Limit::WorkbookBytes {
                max: MAX_WORKBOOK_BYTES,
            }
        } else if kind == Kind::SharedStrings && part.count > MAX_SHARED_STRINGS {
            Limit::SharedStrings {
                max: MAX_SHARED_STRINGS,
            }
        } else if kind == Kind::Other && part.count > MAX_ELEMENTS {
            Limit::Elements { max: MAX_ELEMENTS }
        } else {
            left -= part.inflated;
            continue;
        };
        let part = match sheets.get(&normalized(&path)) {
            Some(sheet) => Part::Sheet(sheet.clone()),
            None => Part::File(path),
        };
        return Err(Box::new(ImportError {
            location: None,
            problem: Problem::TooLarge { part, limit },
        }));
    }
    Ok(())
}

/// What a file of the package is to the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A worksheet: its cells are bounded as they are read (see `workbook`).
    Sheet,
    /// Bounded in strings, declared and held.
    SharedStrings,
    /// Anything else calamine may read whole when it opens the workbook (styles, the workbook,
    /// relationships): bounded in XML elements, each of which it may keep.
    Other,
}

/// What inflating one file of the package found.
struct Inflated {
    inflated: u64,
    /// Past the budget.
    over: bool,
    /// The shared strings or the elements, by its [`Kind`]; what its XML held before a mistake
    /// when it is damaged (calamine says so if it reads it).
    count: u64,
}

/// Inflates `file` up to `budget` bytes, counting what its kind is bounded in.
fn inflate(file: impl Read, budget: u64, kind: Kind) -> Inflated {
    let mut reader = Bounded::new(file, budget);
    let count = match kind {
        Kind::Sheet => 0,
        Kind::SharedStrings | Kind::Other => {
            let scan = scan_xml(&mut reader);
            if kind == Kind::SharedStrings {
                scan.declared_strings.max(scan.strings)
            } else {
                scan.elements
            }
        }
    };
    // An error is the bound (`over`) or damaged deflate, calamine's to report.
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
    Inflated {
        inflated: reader.read,
        over: reader.over,
        count,
    }
}

/// A zip path as calamine looks it up: `/` separators, any case.
fn normalized(path: &str) -> String {
    path.replace('\\', "/").to_ascii_lowercase()
}

/// A reader that stops with an error past `budget` bytes, and says whether it did.
struct Bounded<R> {
    inner: R,
    budget: u64,
    read: u64,
    over: bool,
}

impl<R: Read> Bounded<R> {
    fn new(inner: R, budget: u64) -> Self {
        Bounded {
            inner,
            budget,
            read: 0,
            over: false,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.budget {
            self.over = true;
            return Err(std::io::Error::other("past the bound"));
        }
        Ok(n)
    }
}

/// What an XML part holds, as far as it parses.
#[derive(Default)]
struct Scan {
    elements: u64,
    /// `<si>` elements.
    strings: u64,
    /// The `uniqueCount` of an `<sst>`.
    declared_strings: u64,
}

/// Counts the elements of the XML `reader` gives. Cost: memory for the longest XML event
/// (bounded by the reader's budget).
fn scan_xml(reader: &mut impl Read) -> Scan {
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(reader));
    let mut buf = Vec::new();
    let mut scan = Scan::default();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                scan.elements += 1;
                match e.local_name().as_ref() {
                    "si" => scan.strings += 1,
                    // `count` counts the cells that use a string; calamine reserves none for it.
                    "sst" => scan.declared_strings = number_attribute(&e, "uniqueCount"),
                    _ => {}
                }
            }
            Ok(Event::Eof) | Err(_) => return scan,
            Ok(_) => {}
        }
    }
}

/// The attribute `name` of `e` as a number; one that does not parse (or is too big for a u64)
/// counts as `u64::MAX`, as calamine would fail on it or believe it.
fn number_attribute(e: &BytesStart, name: &str) -> u64 {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .map_or(0, |a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(u64::MAX)
        })
}

/// The sheet names of the workbook by the (normalized) zip path of their XML, read from the
/// workbook and its relationships as calamine reads them; empty when they do not parse. Each
/// file is read within [`MAX_PART_BYTES`], and no more than [`MAX_LISTED`] of its elements kept.
fn sheet_names_by_part(zip: &mut Archive) -> HashMap<String, String> {
    let workbook = attributes_of(zip, "_rels/.rels", "Relationship")
        .into_iter()
        .find(|a| {
            a.get("Type")
                .is_some_and(|t| t.ends_with("/officeDocument"))
        })
        .and_then(|a| a.get("Target").cloned())
        .unwrap_or_else(|| "xl/workbook.xml".into());
    let workbook = workbook.trim_start_matches('/');
    let (dir, file) = workbook.rsplit_once('/').unwrap_or(("", workbook));
    let dir = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let relationships = format!("{dir}_rels/{file}.rels");
    let targets: HashMap<String, String> = attributes_of(zip, &relationships, "Relationship")
        .into_iter()
        .filter_map(|mut a| Some((a.remove("Id")?, a.remove("Target")?)))
        .collect();
    // What calamine reads whole on opening is never a sheet, whatever a relationship says.
    let read_on_opening = [
        "_rels/.rels".to_string(),
        workbook.to_string(),
        relationships,
        format!("{dir}styles.xml"),
        format!("{dir}sharedStrings.xml"),
        format!("{dir}theme/theme1.xml"),
    ]
    .map(|path| normalized(&path));
    attributes_of(zip, workbook, "sheet")
        .into_iter()
        .filter_map(|mut a| {
            let target = targets.get(&a.remove("id")?)?;
            let path = match target.strip_prefix('/') {
                Some(absolute) => absolute.to_string(),
                None => format!("{dir}{target}"),
            };
            Some((normalized(&path), a.remove("name")?))
        })
        .filter(|(path, _)| !read_on_opening.contains(path))
        .collect()
}

/// The attributes (by local name) of each `element` in the XML file at `path`.
fn attributes_of(zip: &mut Archive, path: &str, element: &str) -> Vec<HashMap<String, String>> {
    let wanted = normalized(path);
    let index = (0..zip.len()).find(|&i| {
        zip.name_for_index(i)
            .and_then(Result::ok)
            .is_some_and(|name| normalized(&name) == wanted)
    });
    let Some(file) = index.and_then(|i| zip.by_index(i).ok()) else {
        return Vec::new();
    };
    let mut xml =
        quick_xml::Reader::from_reader(BufReader::new(Bounded::new(file, MAX_PART_BYTES)));
    let mut buf = Vec::new();
    let mut found = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == element => {
                if found.len() == MAX_LISTED {
                    return found;
                }
                let attributes = e.attributes().flatten().filter_map(|a| {
                    let key = a.key.local_name().as_ref().to_string();
                    let value = a.normalized_value(XmlVersion::Implicit1_0).ok()?;
                    let value = value.into_owned();
                    Some((key, value))
                });
                found.push(attributes.collect());
            }
            Ok(Event::Eof) | Err(_) => return found,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A zip of `files`, deflated.
    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in files {
            let options = zip::write::SimpleFileOptions::default();
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const WORKBOOK: &[u8] = br#"<workbook xmlns:r="r"><sheets><sheet name="survey" r:id="rId1"/><sheet name="choices" r:id="rId2"/></sheets></workbook>"#;
    const WORKBOOK_RELS: &[u8] = br#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Target="/xl/worksheets/Sheet2.xml"/></Relationships>"#;

    fn problem(bytes: &[u8]) -> Problem {
        check(bytes).unwrap_err().problem
    }

    #[test]
    fn a_sheet_that_inflates_past_its_bound_is_refused_by_the_name_of_its_sheet() {
        let bomb = vec![b' '; MAX_PART_BYTES as usize + 1];
        let bytes = zip_of(&[
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/worksheets/sheet1.xml", b"<worksheet/>"),
            ("xl/worksheets/sheet2.xml", &bomb),
        ]);
        let limit = Limit::InflatedBytes {
            max: MAX_PART_BYTES,
        };
        let part = Part::Sheet("choices".into());
        assert_eq!(problem(&bytes), Problem::TooLarge { part, limit });
    }

    #[test]
    fn parts_each_within_the_bound_are_refused_past_the_bound_of_all() {
        let part_bytes = vec![b' '; MAX_PART_BYTES as usize];
        let parts = (MAX_WORKBOOK_BYTES / MAX_PART_BYTES) as usize + 1;
        let names: Vec<String> = (0..parts).map(|i| format!("xl/media/pad{i}.xml")).collect();
        let files: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), &part_bytes[..]))
            .collect();
        let limit = Limit::WorkbookBytes {
            max: MAX_WORKBOOK_BYTES,
        };
        let part = Part::File(names[parts - 1].clone());
        assert_eq!(problem(&zip_of(&files)), Problem::TooLarge { part, limit });
    }

    #[test]
    fn shared_strings_are_counted_as_held_and_as_declared() {
        let many = format!(
            "<sst uniqueCount=\"1\">{}</sst>",
            "<si/>".repeat(MAX_SHARED_STRINGS as usize + 1)
        );
        let declared = format!("<sst uniqueCount=\"{}\"><si/></sst>", 1u64 << 31);
        let limit = Limit::SharedStrings {
            max: MAX_SHARED_STRINGS,
        };
        for sst in [many, declared] {
            let bytes = zip_of(&[("xl/sharedStrings.xml", sst.as_bytes())]);
            let part = Part::File("xl/sharedStrings.xml".into());
            let limit = limit.clone();
            assert_eq!(problem(&bytes), Problem::TooLarge { part, limit });
        }
        let fine = zip_of(&[(
            "xl/sharedStrings.xml",
            b"<sst count=\"5000000\" uniqueCount=\"2\"><si/><si/></sst>",
        )]);
        assert!(check(&fine).is_ok());
    }

    #[test]
    fn styles_past_the_bound_of_elements_are_refused_even_named_as_a_sheet() {
        let styles = format!(
            "<styleSheet><cellXfs>{}</cellXfs></styleSheet>",
            "<xf/>".repeat(MAX_ELEMENTS as usize)
        );
        let posing =
            br#"<Relationships><Relationship Id="rId1" Target="styles.xml"/></Relationships>"#;
        let bytes = zip_of(&[
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", posing),
            ("xl/styles.xml", styles.as_bytes()),
        ]);
        let limit = Limit::Elements { max: MAX_ELEMENTS };
        let part = Part::File("xl/styles.xml".into());
        assert_eq!(problem(&bytes), Problem::TooLarge { part, limit });
    }

    #[test]
    fn what_is_not_a_zip_is_left_for_calamine_to_report() {
        assert!(check(b"PK\x03\x04 not really a zip").is_ok());
    }
}
