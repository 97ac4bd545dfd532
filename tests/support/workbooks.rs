//! Hostile `.xlsx` workbooks made byte by byte (a zip of raw XML, as no spreadsheet program would
//! write them): cells far out, declared dimensions and shared-string counts that lie, parts that
//! inflate to hundreds of megabytes; the importer run on them in a child process under a memory
//! limit, so that a failed allocation fails a test instead of the test binary or the machine;
//! and a proptest generator of such workbooks for the bounded fuzzing in CI.

use minga_forms::xlsform::{self, limits, Limit, Part, Problem};
use proptest::prelude::*;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// A piece of a part's XML: text as given, or one unit repeated (streamed, never held whole).
#[derive(Clone, Debug)]
pub enum Piece {
    Text(String),
    Repeat(String, u64),
}

/// A workbook with a `survey` sheet that is a valid form (a header row and one text question,
/// in shared strings 0 to 5), and whatever hostile XML a case adds.
#[derive(Clone, Debug)]
pub struct Workbook {
    /// The survey sheet's `<dimension ref>`.
    pub dimension: String,
    /// Written in `<sheetData>` after the two rows of the form.
    pub extra_rows: Vec<Piece>,
    /// The `count` and `uniqueCount` of the shared strings.
    pub declared_strings: String,
    /// Letters of a seventh shared string (index 6), if not 0.
    pub long_string: u64,
    /// Whitespace inside the styles part, in bytes.
    pub styles_padding: u64,
    /// Cell formats (`<xf/>`) in the styles part beside the one every workbook has.
    pub cell_styles: u64,
    /// More parts (`xl/media/padN.xml`), each of this many bytes of whitespace.
    pub extra_parts: Vec<u64>,
}

/// The form's shared strings: `type`, `name`, `label` on row 1; `text`, `q1`, `Q1` on row 2.
const STRINGS: [&str; 6] = ["type", "name", "label", "text", "q1", "Q1"];

impl Default for Workbook {
    fn default() -> Self {
        Workbook {
            dimension: "A1:C2".into(),
            extra_rows: Vec::new(),
            declared_strings: STRINGS.len().to_string(),
            long_string: 0,
            styles_padding: 0,
            cell_styles: 0,
            extra_parts: Vec::new(),
        }
    }
}

impl Workbook {
    /// The issue's first workbook: a second cell at the last cell a spreadsheet has.
    pub fn far_cell() -> Self {
        Workbook {
            dimension: "A1:XFD1048576".into(),
            extra_rows: vec![text(
                r#"<row r="1048576"><c r="XFD1048576" t="s"><v>4</v></c></row>"#,
            )],
            ..Workbook::default()
        }
    }

    /// About `bytes` of cells holding only spaces, one a row from row 3 down, in the last
    /// column: blank to a form, but a range from A1 to them is rows × 16,384 cells.
    pub fn blank_cells(bytes: usize) -> Self {
        let mut rows = String::new();
        for row in 3.. {
            if rows.len() >= bytes {
                break;
            }
            rows += &format!(
                r#"<row r="{row}"><c r="XFD{row}" t="inlineStr"><is><t xml:space="preserve">   </t></is></c></row>"#
            );
        }
        Workbook {
            extra_rows: vec![Piece::Text(rows)],
            ..Workbook::default()
        }
    }

    /// A third row whose cell is an inline string of `chars` letters.
    pub fn huge_cell(chars: u64) -> Self {
        Workbook {
            extra_rows: vec![
                text(r#"<row r="3"><c r="C3" t="inlineStr"><is><t>"#),
                Piece::Repeat("x".into(), chars),
                text("</t></is></c></row>"),
            ],
            ..Workbook::default()
        }
    }

    /// Shared strings that say there are `count` of them.
    pub fn shared_string_count(count: u64) -> Self {
        Workbook {
            declared_strings: count.to_string(),
            ..Workbook::default()
        }
    }

    /// `rows` more rows, one cell each (the shared string `q1`; the rows without `r`, as the
    /// smallest XML that still counts them).
    pub fn rows(rows: u64) -> Self {
        Workbook {
            extra_rows: vec![Piece::Repeat(
                r#"<row><c t="s"><v>4</v></c></row>"#.into(),
                rows,
            )],
            ..Workbook::default()
        }
    }

    /// One shared string of `chars` letters, used by a cell in each of `rows` more rows: a
    /// string copied into every cell that names it.
    pub fn repeated_long_string(chars: u64, rows: u64) -> Self {
        Workbook {
            long_string: chars,
            extra_rows: vec![Piece::Repeat(
                r#"<row><c t="s"><v>6</v></c></row>"#.into(),
                rows,
            )],
            ..Workbook::default()
        }
    }

    /// A zip bomb in the styles part, which calamine reads on opening: `bytes` of spaces.
    pub fn styles_bomb(bytes: u64) -> Self {
        Workbook {
            styles_padding: bytes,
            ..Workbook::default()
        }
    }

    /// `count` more cell formats in the styles: 5 bytes of XML each, which calamine keeps in
    /// about 150 bytes.
    pub fn cell_styles(count: u64) -> Self {
        Workbook {
            cell_styles: count,
            ..Workbook::default()
        }
    }

    /// The `.xlsx` file. Cost: the time to deflate every byte the parts inflate to.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, pieces) in self.parts() {
            let options = zip::write::SimpleFileOptions::default().large_file(true);
            zip.start_file(name, options).expect("a zip entry");
            for piece in &pieces {
                write_piece(&mut zip, piece);
            }
        }
        zip.finish().expect("the zip closes").into_inner()
    }

    /// The files of the package, in the order of the zip.
    fn parts(&self) -> Vec<(String, Vec<Piece>)> {
        let strings: String = STRINGS
            .iter()
            .map(|s| format!("<si><t>{s}</t></si>"))
            .collect();
        let declared = &self.declared_strings;
        let mut sheet = vec![text(&format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><dimension ref="{}"/><sheetData>{FORM_ROWS}"#,
            self.dimension
        ))];
        sheet.extend(self.extra_rows.iter().cloned());
        sheet.push(text("</sheetData></worksheet>"));
        let mut parts = vec![
            ("[Content_Types].xml".to_string(), vec![text(CONTENT_TYPES)]),
            ("_rels/.rels".into(), vec![text(PACKAGE_RELS)]),
            ("xl/workbook.xml".into(), vec![text(WORKBOOK)]),
            (
                "xl/_rels/workbook.xml.rels".into(),
                vec![text(WORKBOOK_RELS)],
            ),
            (
                STYLES.into(),
                vec![
                    text(STYLES_START),
                    Piece::Repeat(" ".into(), self.styles_padding),
                    Piece::Repeat("<xf/>".into(), self.cell_styles),
                    text(STYLES_END),
                ],
            ),
            (
                SHARED_STRINGS.into(),
                vec![
                    text(&format!(
                        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{declared}" uniqueCount="{declared}">{strings}"#
                    )),
                    text(if self.long_string > 0 { "<si><t>" } else { "" }),
                    Piece::Repeat("x".into(), self.long_string),
                    text(if self.long_string > 0 {
                        "</t></si>"
                    } else {
                        ""
                    }),
                    text("</sst>"),
                ],
            ),
            ("xl/worksheets/sheet1.xml".into(), sheet),
        ];
        for (index, bytes) in self.extra_parts.iter().enumerate() {
            let pieces = vec![
                text("<pad>"),
                Piece::Repeat(" ".into(), *bytes),
                text("</pad>"),
            ];
            parts.push((format!("xl/media/pad{index}.xml"), pieces));
        }
        parts
    }

    /// The bound of the package this workbook goes past, if any, found as the importer looks:
    /// part by part in zip order, each within its own bound and what is left of the
    /// workbook's. Only for what [`hostile`] generates.
    pub fn package_bound(&self) -> Option<Limit> {
        let mut left = limits::MAX_WORKBOOK_BYTES;
        for (name, pieces) in self.parts() {
            let size: u64 = pieces.iter().map(Piece::len).sum();
            let budget = left.min(limits::MAX_PART_BYTES);
            if size > budget && budget == limits::MAX_PART_BYTES {
                let max = limits::MAX_PART_BYTES;
                return Some(Limit::InflatedBytes { max });
            }
            if size > budget {
                let max = limits::MAX_WORKBOOK_BYTES;
                return Some(Limit::WorkbookBytes { max });
            }
            let declared = self.declared_strings.parse::<u64>().unwrap_or(u64::MAX);
            if name == SHARED_STRINGS && declared > limits::MAX_SHARED_STRINGS {
                let max = limits::MAX_SHARED_STRINGS;
                return Some(Limit::SharedStrings { max });
            }
            if name == STYLES && STYLES_ELEMENTS + self.cell_styles > limits::MAX_ELEMENTS {
                let max = limits::MAX_ELEMENTS;
                return Some(Limit::Elements { max });
            }
            left -= size;
        }
        None
    }
}

impl Piece {
    /// The bytes it writes.
    fn len(&self) -> u64 {
        match self {
            Piece::Text(xml) => xml.len() as u64,
            Piece::Repeat(unit, count) => unit.len() as u64 * count,
        }
    }
}

const SHARED_STRINGS: &str = "xl/sharedStrings.xml";
const STYLES: &str = "xl/styles.xml";

fn text(xml: &str) -> Piece {
    Piece::Text(xml.to_string())
}

/// Writes `piece`, a repeated unit in chunks of about 64 KiB.
fn write_piece(out: &mut impl Write, piece: &Piece) {
    match piece {
        Piece::Text(xml) => out.write_all(xml.as_bytes()).expect("written"),
        Piece::Repeat(unit, count) => {
            let per_chunk = (65_536 / unit.len().max(1)).max(1) as u64;
            let chunk = unit.repeat(per_chunk as usize);
            for _ in 0..count / per_chunk {
                out.write_all(chunk.as_bytes()).expect("written");
            }
            let rest = unit.repeat((count % per_chunk) as usize);
            out.write_all(rest.as_bytes()).expect("written");
        }
    }
}

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";

const FORM_ROWS: &str = concat!(
    r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>"#,
    r#"<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" t="s"><v>5</v></c></row>"#,
);

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;

const PACKAGE_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
    r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    r#"<sheet name="survey" sheetId="1" r:id="rId1"/></sheets></workbook>"#
);

const WORKBOOK_RELS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>"#,
    r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#,
    r#"<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#,
    r#"</Relationships>"#
);

const STYLES_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="1"><xf numFmtId="0"/>"#;
const STYLES_END: &str = "</cellXfs></styleSheet>";
/// The elements of the styles part without [`Workbook::cell_styles`].
const STYLES_ELEMENTS: u64 = 3;

/// What the importer made of a workbook in a child process.
#[derive(Debug)]
pub struct ChildImport {
    /// The first mistake's problem as `{:?}`, or `Ok` when the form imported.
    pub outcome: String,
    /// The child's peak resident memory (`VmHWM`), in kB.
    pub peak_kb: u64,
}

/// The environment variable that turns the child test into an import of the file it names.
pub const WORKBOOK_FILE: &str = "MINGA_WORKBOOK_FILE";

/// Imports `bytes` in a child process (the test `child_test` of the current test binary, which
/// calls [`import_if_child`]) whose address space is limited to `memory_limit` bytes. `Err`
/// with what happened when the child did not finish (killed, aborted on a failed allocation).
pub fn import_in_child(
    child_test: &str,
    bytes: &[u8],
    memory_limit: u64,
) -> Result<ChildImport, String> {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), bytes).expect("the workbook is written");
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
        .env(WORKBOOK_FILE, file.path())
        // One malloc arena: the limit is on address space, and each arena reserves 64 MB.
        .env("MALLOC_ARENA_MAX", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: memory_limit,
                rlim_max: memory_limit,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = |prefix: &str| {
        stdout
            .lines()
            // The harness prints `test child_imports_workbook ... ` before the first line.
            .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest.to_string()))
    };
    match (
        output.status.success(),
        line("outcome: "),
        line("peak_kb: "),
    ) {
        (true, Some(outcome), Some(peak)) => Ok(ChildImport {
            outcome,
            peak_kb: peak.parse().unwrap_or(0),
        }),
        _ => Err(format!(
            "the import did not finish under a limit of {} MB ({}): {}",
            memory_limit >> 20,
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .join(" / ")
        )),
    }
}

/// In the child started by [`import_in_child`]: imports the workbook and prints the outcome
/// and the peak memory. Does nothing in an ordinary test run.
pub fn import_if_child() {
    let Some(path) = std::env::var_os(WORKBOOK_FILE) else {
        return;
    };
    let bytes = std::fs::read(path).expect("the workbook is read");
    let outcome = match xlsform::import(&bytes, "hostile.xlsx") {
        Ok(_) => "Ok".to_string(),
        Err(errors) => format!("{:?}", errors.0[0].problem),
    };
    println!("outcome: {outcome}");
    println!("peak_kb: {}", peak_kb());
}

/// This process's peak resident memory (`VmHWM` in /proc/self/status), in kB.
pub fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The outcome line of a workbook refused as `part` past `limit`.
pub fn refused(part: Part, limit: Limit) -> String {
    format!("{:?}", Problem::TooLarge { part, limit })
}

/// Hostile workbooks for the fuzzing: declared dimensions from A1 to XFD1048576, cells far out,
/// shared-string counts up to and past `u64`, cell formats and parts inflating a little past
/// their bounds (about 33 MB each, so that a case stays quick).
pub fn hostile() -> impl Strategy<Value = Workbook> {
    let reference = (0u32..16_384, 0u32..1_048_576).prop_map(|(column, row)| {
        format!("{}{}", xlsform::column_letter(column), u64::from(row) + 1)
    });
    let dimension = prop_oneof![
        reference.clone(),
        (reference.clone(), reference.clone()).prop_map(|(a, b)| format!("{a}:{b}")),
        Just("A1:XFD1048576".to_string()),
    ];
    let far_cells = prop::collection::vec(
        reference.prop_map(|at| text(&format!(r#"<row><c r="{at}" t="s"><v>5</v></c></row>"#))),
        0..3,
    );
    let declared = prop_oneof![
        (0u64..2_000_000).prop_map(|n| n.to_string()),
        Just((1u64 << 31).to_string()),
        Just(u64::MAX.to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
    ];
    let near_bound = prop_oneof![
        Just(0u64),
        Just(1_000),
        Just(limits::MAX_PART_BYTES),
        Just(limits::MAX_PART_BYTES + 1),
    ];
    let extra_parts = prop::collection::vec(near_bound.clone(), 0..5);
    let cell_styles = prop_oneof![
        Just(0u64),
        Just(limits::MAX_ELEMENTS - STYLES_ELEMENTS),
        Just(limits::MAX_ELEMENTS - STYLES_ELEMENTS + 1),
    ];
    (
        dimension,
        far_cells,
        declared,
        (near_bound, cell_styles),
        extra_parts,
    )
        .prop_map(
            |(
                dimension,
                extra_rows,
                declared_strings,
                (styles_padding, cell_styles),
                extra_parts,
            )| {
                Workbook {
                    dimension,
                    extra_rows,
                    declared_strings,
                    styles_padding,
                    cell_styles,
                    extra_parts,
                    ..Workbook::default()
                }
            },
        )
}

/// Imports `workbook` and checks the refusal: past a bound of the package it is refused with
/// that bound; with a cell past the sheet's bounds it is refused naming the sheet; otherwise it
/// is not refused as too large (its far cells may be mistakes of content), and imports when it
/// has no cell beyond the form's.
pub fn check_hostile(workbook: &Workbook) -> Result<(), String> {
    let outcome = xlsform::import(&workbook.to_bytes(), "hostile.xlsx");
    let problem = outcome.as_ref().err().map(|errors| &errors.0[0].problem);
    let cells: Vec<&str> = workbook
        .extra_rows
        .iter()
        .filter_map(|piece| match piece {
            Piece::Text(xml) => Some(xml.as_str()),
            Piece::Repeat(..) => None,
        })
        .collect();
    let fits = match (workbook.package_bound(), problem) {
        (Some(expected), Some(Problem::TooLarge { limit, .. })) => *limit == expected,
        (Some(_), _) => false,
        (None, Some(Problem::TooLarge { part, limit })) => {
            cells.iter().any(|xml| far_out(xml))
                && *part == Part::Sheet("survey".into())
                && matches!(limit, Limit::Rows { .. } | Limit::Columns { .. })
        }
        (None, Some(_)) => !cells.is_empty() && !cells.iter().any(|xml| far_out(xml)),
        (None, None) => !cells.iter().any(|xml| far_out(xml)),
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "{workbook:?}: expected {:?}, got {problem:?}",
            workbook.package_bound()
        ))
    }
}

/// Whether the cell reference in `xml` (`r="XFD1048576"`) is past the rows or columns a sheet
/// may use.
fn far_out(xml: &str) -> bool {
    let Some(at) = xml
        .split(r#"<c r=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
    else {
        return false;
    };
    let letters: String = at.chars().take_while(char::is_ascii_alphabetic).collect();
    let row: u64 = at[letters.len()..].parse().unwrap_or(0);
    let column = letters
        .bytes()
        .fold(0u64, |n, b| n * 26 + u64::from(b - b'A' + 1));
    row > u64::from(limits::MAX_ROWS) || column > u64::from(limits::MAX_COLUMNS)
}

/// The smallest `.xls` compound file whose directory's chain of sectors loops: a header, one
/// sector of the sector table, and one directory sector the table says comes after itself. It
/// is the damage a fuzzed `widgets.xls` showed (one sector-table entry overwritten): calamine,
/// which follows the directory's chain with no length, copied the sector until the process was
/// killed at 24 GB.
pub fn looping_xls() -> Vec<u8> {
    const FREE: u32 = 0xFFFF_FFFF;
    const END: u32 = 0xFFFF_FFFE;
    const FAT_SECTOR: u32 = 0xFFFF_FFFD;
    let mut header = vec![0u8; 512];
    header[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    let put = |bytes: &mut [u8], at: usize, value: u32| {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes())
    };
    header[26] = 3; // version 3
    header[30] = 9; // sectors of 512 bytes
    header[32] = 6; // mini sectors of 64 bytes
    put(&mut header, 44, 1); // one sector of the sector table
    put(&mut header, 48, 1); // the directory starts in sector 1
    put(&mut header, 60, END); // no mini sector table
    put(&mut header, 68, END); // no more of the table's list
    for at in (76..512).step_by(4) {
        put(&mut header, at, FREE);
    }
    put(&mut header, 76, 0); // the table is sector 0
    let mut table = vec![0xFFu8; 512];
    put(&mut table, 0, FAT_SECTOR);
    put(&mut table, 4, 1); // the loop: sector 1 is followed by sector 1
    let mut directory = vec![0u8; 512];
    for (i, unit) in "Root Entry".encode_utf16().enumerate() {
        directory[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    put(&mut directory, 116, END);
    [header, table, directory].concat()
}
