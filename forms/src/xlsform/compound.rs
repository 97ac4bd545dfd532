//! The `.xls` compound file checked before calamine reads it. calamine follows each chain of
//! sectors of the file until its end marker or the length the directory declares, and follows the
//! directory's own chain with no length at all: a damaged sector table whose chain loops back makes
//! it copy the same sectors forever (a fuzzed `widgets.xls` grew a process to 24 GB). It also
//! reserves room for every cell a sheet's DIMENSIONS record declares before reading the first,
//! and makes a dense range of the rows and columns a sheet's cells span (one damaged column
//! number asked for 33 GB).
//! So, before calamine opens the bytes, every chain it follows is walked here without copying,
//! and refused when it loops or holds more than [`MAX_PART_BYTES`]; then the Workbook stream's
//! BIFF records are scanned and a sheet declaring or spanning past [`MAX_ROWS`], [`MAX_COLUMNS`]
//! or [`MAX_CELLS`] is refused, naming the sheet. A file this check cannot make sense of passes, for calamine to
//! report it unreadable.
//!
//! Cost: a walk of each chain (at most one step per sector of the file) and one pass over the
//! Workbook stream's record headers; memory is the sector table and one copy of the Workbook
//! stream (at most [`MAX_PART_BYTES`]).

use super::error::{column_letter, ImportError, Limit, Part, Problem};
use super::limits::{MAX_CELLS, MAX_COLUMNS, MAX_PART_BYTES, MAX_ROWS};

/// Sector ids from here on are markers (end of chain, free, FAT, DIFAT), as calamine reads them.
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
/// Streams shorter than this live in the mini stream, in sectors of 64 bytes.
const MINI_STREAM_CUTOFF: u64 = 4096;
const MINI_SECTOR: usize = 64;

/// `Err` with [`Problem::TooLarge`] when a chain of the compound file loops or is too long, or a
/// sheet declares more cells than a form may have.
pub fn check(bytes: &[u8]) -> Result<(), Box<ImportError>> {
    let Some(file) = Compound::open(bytes)? else {
        return Ok(());
    };
    let Some(stream) = file.workbook_stream()? else {
        return Ok(());
    };
    check_dimensions(&stream)
}

/// A compound file's sectors and sector table, as calamine reads them.
struct Compound<'a> {
    bytes: &'a [u8],
    sector: usize,
    /// The last sector id calamine accepts (it reads a shorter sector past the end of the file).
    max_id: u32,
    fats: Vec<u32>,
}

/// How far a chain of sectors goes before calamine would stop.
enum Walk {
    /// The sectors, in order, holding at most the length asked.
    Sectors(Vec<u32>),
    /// A sector calamine refuses or cannot index: its error to report, not ours.
    Broken,
}

impl<'a> Compound<'a> {
    /// The header and sector table, `None` when they are not what calamine accepts.
    fn open(bytes: &'a [u8]) -> Result<Option<Compound<'a>>, Box<ImportError>> {
        if bytes.len() < 512 || !bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
            return Ok(None);
        }
        let sector = match u16_at(bytes, 30) {
            9 => 512,
            12 => 4096,
            _ => return Ok(None),
        };
        let max_id = (bytes.len() / sector) as u32;
        let mut file = Compound {
            bytes,
            sector,
            max_id,
            fats: Vec::new(),
        };
        let Some(fat_sectors) = file.fat_sectors() else {
            return Ok(None);
        };
        // Each FAT sector listed is copied: a list longer than the file has sectors repeats them.
        if fat_sectors.len() > max_id as usize + 1 {
            return Err(too_large("sector table"));
        }
        for id in fat_sectors {
            let Some(words) = file.sector_words(id) else {
                return Ok(None);
            };
            file.fats.extend(words);
        }
        Ok(Some(file))
    }

    /// The FAT sectors the header and the DIFAT chain list, as calamine collects them.
    fn fat_sectors(&self) -> Option<Vec<u32>> {
        let mut difat: Vec<u32> = words(&self.bytes[76..512]).collect();
        let mut id = u32_at(self.bytes, 68);
        let mut steps = 0u32;
        while id < RESERVED_SECTORS {
            steps += 1;
            if steps > self.max_id.saturating_add(1) {
                return None; // calamine refuses this chain itself
            }
            difat.extend(self.sector_words(id)?);
            id = difat.pop()?;
        }
        Some(difat.into_iter().filter(|id| *id < DIFSECT).collect())
    }

    /// The bytes of sector `id` (shorter at the end of the file), `None` past what calamine reads.
    fn sector_bytes(&self, id: u32) -> Option<&'a [u8]> {
        if id > self.max_id {
            return None;
        }
        let start = (id as usize + 1) * self.sector;
        let end = (start + self.sector).min(self.bytes.len());
        Some(self.bytes.get(start..end).unwrap_or_default())
    }

    fn sector_words(&self, id: u32) -> Option<impl Iterator<Item = u32> + 'a> {
        Some(words(self.sector_bytes(id)?))
    }

    /// Follows the chain from `start` through `table` as calamine's `get_chain` does, for at most
    /// `len` bytes, refusing `part` when the chain loops before that or goes past
    /// [`MAX_PART_BYTES`]. `sector_len` gives the bytes calamine gets for a sector.
    fn walk(
        &self,
        part: &str,
        start: u32,
        table: &[u32],
        len: u64,
        sector_len: impl Fn(u32) -> Option<usize>,
        sectors_in_file: u64,
    ) -> Result<Walk, Box<ImportError>> {
        let (mut id, mut held, mut steps) = (start, 0u64, 0u64);
        let mut chain = Vec::new();
        while id != ENDOFCHAIN {
            let Some(bytes) = sector_len(id) else {
                return Ok(Walk::Broken);
            };
            chain.push(id);
            held += bytes as u64;
            steps += 1;
            if held >= len {
                break;
            }
            if held > MAX_PART_BYTES || steps > sectors_in_file {
                return Err(too_large(part)); // a chain longer than the file loops
            }
            let Some(next) = table.get(id as usize) else {
                return Ok(Walk::Broken);
            };
            id = *next;
        }
        Ok(Walk::Sectors(chain))
    }

    /// A chain of the file's own sectors.
    fn walk_sectors(&self, part: &str, start: u32, len: u64) -> Result<Walk, Box<ImportError>> {
        let sector_len = |id| self.sector_bytes(id).map(<[u8]>::len);
        let in_file = self.max_id as u64 + 1;
        self.walk(part, start, &self.fats, len, sector_len, in_file)
    }

    /// The bytes of the sectors of `walk`, up to `len`.
    fn gather(&self, sectors: &[u32], len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for id in sectors {
            out.extend_from_slice(self.sector_bytes(*id).unwrap_or_default());
        }
        out.truncate(len.min(out.len() as u64) as usize);
        out
    }

    /// The Workbook (or Book) stream, once every chain calamine follows to reach it is checked;
    /// `None` when calamine would fail before reading it.
    fn workbook_stream(&self) -> Result<Option<Vec<u8>>, Box<ImportError>> {
        let Walk::Sectors(chain) =
            self.walk_sectors("directory", u32_at(self.bytes, 48), u64::MAX)?
        else {
            return Ok(None);
        };
        let directory = self.gather(&chain, u64::MAX);
        let entries: Vec<Entry> = directory
            .chunks_exact(128)
            .map(|raw| Entry::read(raw, self.sector))
            .collect();
        let Some(root) = entries.first() else {
            return Ok(None);
        };
        let mini = if u32_at(self.bytes, 64) > 0 {
            let Walk::Sectors(stream) = self.walk_sectors("mini stream", root.start, root.len)?
            else {
                return Ok(None);
            };
            let table_len = u32_at(self.bytes, 64) as u64 * self.sector as u64;
            let Walk::Sectors(table) =
                self.walk_sectors("mini sector table", u32_at(self.bytes, 60), table_len)?
            else {
                return Ok(None);
            };
            let table: Vec<u32> = words(&self.gather(&table, table_len)).collect();
            Some((self.gather(&stream, root.len), table))
        } else {
            None
        };
        let Some(entry) = ["Workbook", "Book"]
            .iter()
            .find_map(|name| entries.iter().find(|e| e.name.eq_ignore_ascii_case(name)))
        else {
            return Ok(None);
        };
        if entry.len >= MINI_STREAM_CUTOFF {
            let Walk::Sectors(chain) = self.walk_sectors("Workbook", entry.start, entry.len)?
            else {
                return Ok(None);
            };
            return Ok(Some(self.gather(&chain, entry.len)));
        }
        let Some((stream, table)) = mini else {
            return Ok(None);
        };
        let in_stream = (stream.len() / MINI_SECTOR) as u64 + 1;
        let sector_len = |id: u32| {
            let start = id as usize * MINI_SECTOR;
            (start <= stream.len()).then(|| (stream.len() - start).min(MINI_SECTOR))
        };
        let Walk::Sectors(chain) = self.walk(
            "Workbook",
            entry.start,
            &table,
            entry.len,
            sector_len,
            in_stream,
        )?
        else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for id in chain {
            let start = id as usize * MINI_SECTOR;
            out.extend_from_slice(&stream[start..(start + MINI_SECTOR).min(stream.len())]);
        }
        out.truncate(entry.len.min(out.len() as u64) as usize);
        Ok(Some(out))
    }
}

/// One entry of the directory: a stream's name, first sector and length.
struct Entry {
    name: String,
    start: u32,
    len: u64,
}

impl Entry {
    fn read(raw: &[u8], sector: usize) -> Entry {
        let units: Vec<u16> = raw[..64]
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .take_while(|unit| *unit != 0)
            .collect();
        let len = if sector == 512 {
            u32_at(raw, 120) as u64
        } else {
            u64::from_le_bytes(raw[120..128].try_into().expect("8 bytes"))
        };
        Entry {
            name: String::from_utf16_lossy(&units),
            start: u32_at(raw, 116),
            len,
        }
    }
}

/// Refuses a sheet of the Workbook stream (BIFF) whose DIMENSIONS record declares, or whose
/// cells span, more rows, columns or cells than a form may have: calamine reserves room for the
/// declared cells when it opens the file, and makes a dense range of the span when a sheet is read.
fn check_dimensions(stream: &[u8]) -> Result<(), Box<ImportError>> {
    let names = sheet_names_by_offset(stream);
    let mut sheet = String::from("the workbook");
    let mut span = Span::default();
    let mut at = 0;
    while let Some(header) = stream.get(at..at + 4) {
        let (typ, len) = (u16_at(header, 0), u16_at(header, 2) as usize);
        let data = stream.get(at + 4..at + 4 + len).unwrap_or_default();
        if typ == 0x0809 {
            if let Some((_, name)) = names.iter().find(|(offset, _)| *offset == at) {
                refuse(&sheet, span.limit())?;
                span = Span::default();
                sheet.clone_from(name);
            }
        }
        if typ == 0x0200 {
            refuse(&sheet, dimensions_limit(data))?;
        }
        span.add(typ, data);
        at += 4 + len;
    }
    refuse(&sheet, span.limit())
}

fn refuse(sheet: &str, limit: Option<Limit>) -> Result<(), Box<ImportError>> {
    match limit {
        None => Ok(()),
        Some(limit) => Err(Box::new(ImportError {
            location: None,
            problem: Problem::TooLarge {
                part: Part::Sheet(sheet.into()),
                limit,
            },
        })),
    }
}

/// The rows and columns a sheet's cell records reach, first and last (0-based).
#[derive(Default)]
struct Span {
    reach: Option<((u32, u32), (u32, u32))>,
}

impl Span {
    /// Takes in the place of a cell record calamine keeps (blank cells it does not).
    fn add(&mut self, typ: u16, data: &[u8]) {
        let columns = match typ {
            0x0006 | 0x00D6 | 0x00FD | 0x0203 | 0x0204 | 0x0205 | 0x027E if data.len() >= 4 => {
                (u16_at(data, 2), u16_at(data, 2))
            }
            0x00BD if data.len() >= 6 => (u16_at(data, 2), u16_at(data, data.len() - 2)),
            _ => return,
        };
        let row = u16_at(data, 0) as u32;
        let (first, last) = (columns.0 as u32, columns.1.max(columns.0) as u32);
        let ((r0, r1), (c0, c1)) = self.reach.unwrap_or(((row, row), (first, last)));
        self.reach = Some(((r0.min(row), r1.max(row)), (c0.min(first), c1.max(last))));
    }

    fn limit(&self) -> Option<Limit> {
        let ((r0, r1), (c0, c1)) = self.reach?;
        let cell = format!("{}{}", column_letter(c1), r1 + 1);
        if r1 >= MAX_ROWS {
            Some(Limit::Rows {
                max: MAX_ROWS,
                cell,
            })
        } else if c1 >= MAX_COLUMNS {
            Some(Limit::Columns {
                max: MAX_COLUMNS,
                cell,
            })
        } else if (r1 - r0 + 1) as u64 * (c1 - c0 + 1) as u64 > MAX_CELLS as u64 {
            Some(Limit::DeclaredCells { max: MAX_CELLS })
        } else {
            None
        }
    }
}

/// The bound a DIMENSIONS record goes past, reckoned as calamine does (with its wrapping).
fn dimensions_limit(data: &[u8]) -> Option<Limit> {
    let (first_row, last_row, first_col, last_col) = match data.len() {
        10 => (
            u16_at(data, 0) as u32,
            u16_at(data, 2) as u32,
            u16_at(data, 4) as u32,
            u16_at(data, 6) as u32,
        ),
        14 | 16 => (
            u32_at(data, 0),
            u32_at(data, 4),
            u16_at(data, 8) as u32,
            u16_at(data, 10) as u32,
        ),
        _ => return None,
    };
    if last_row < 1 || last_col < 1 {
        return None; // calamine reserves one cell
    }
    let first_col = if first_col > 0xFF || last_col < first_col {
        0
    } else {
        first_col
    };
    let rows = (last_row - 1).wrapping_sub(first_row).wrapping_add(1) as u64;
    let columns = (last_col - 1).wrapping_sub(first_col).wrapping_add(1) as u64;
    let cell = format!("{}{}", column_letter(last_col - 1), last_row);
    if last_row > MAX_ROWS {
        Some(Limit::Rows {
            max: MAX_ROWS,
            cell,
        })
    } else if last_col > MAX_COLUMNS {
        Some(Limit::Columns {
            max: MAX_COLUMNS,
            cell,
        })
    } else if rows.saturating_mul(columns) > MAX_CELLS as u64 {
        Some(Limit::DeclaredCells { max: MAX_CELLS })
    } else {
        None
    }
}

/// The sheets the workbook globals list (BOUNDSHEET records), by the offset of their BOF record.
fn sheet_names_by_offset(stream: &[u8]) -> Vec<(usize, String)> {
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(header) = stream.get(at..at + 4) {
        let (typ, len) = (u16_at(header, 0), u16_at(header, 2) as usize);
        let data = stream.get(at + 4..at + 4 + len).unwrap_or_default();
        if typ == 0x0085 && data.len() >= 8 {
            names.push((u32_at(data, 0) as usize, sheet_name(&data[6..])));
        }
        if typ == 0x000A {
            break; // the end of the globals
        }
        at += 4 + len;
    }
    names
}

/// A BIFF8 short string: a count of characters, a flag, then bytes or UTF-16.
fn sheet_name(data: &[u8]) -> String {
    let count = data[0] as usize;
    let text = data.get(2..).unwrap_or_default();
    if data[1] & 1 == 0 {
        text.iter().take(count).map(|b| *b as char).collect()
    } else {
        let units: Vec<u16> = text
            .chunks_exact(2)
            .take(count)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    }
}

fn too_large(part: &str) -> Box<ImportError> {
    Box::new(ImportError {
        location: None,
        problem: Problem::TooLarge {
            part: Part::File(part.into()),
            limit: Limit::Stream {
                max: MAX_PART_BYTES,
            },
        },
    })
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn words(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BIFF8 DIMENSIONS record's data: first row, one past the last row, first column, one
    /// past the last column.
    fn dimensions(rows: (u32, u32), columns: (u16, u16)) -> Vec<u8> {
        [
            &rows.0.to_le_bytes()[..],
            &rows.1.to_le_bytes(),
            &columns.0.to_le_bytes(),
            &columns.1.to_le_bytes(),
            &[0, 0],
        ]
        .concat()
    }

    #[test]
    fn the_dimensions_of_the_largest_corpus_form_pass() {
        assert_eq!(dimensions_limit(&dimensions((0, 1001), (0, 28))), None);
    }

    #[test]
    fn a_sheet_declared_down_to_row_1048576_is_refused_naming_the_last_cell() {
        let limit = dimensions_limit(&dimensions((0, 1_048_576), (0, 3)));
        let cell = "C1048576".to_string();
        assert_eq!(
            limit,
            Some(Limit::Rows {
                max: MAX_ROWS,
                cell
            })
        );
    }

    #[test]
    fn a_sheet_declared_over_every_column_of_old_excel_is_refused_for_its_cells() {
        let limit = dimensions_limit(&dimensions((0, 65_536), (0, 256)));
        assert_eq!(limit, Some(Limit::DeclaredCells { max: MAX_CELLS }));
    }

    #[test]
    fn a_first_row_after_the_last_is_refused_as_calamine_would_wrap_it() {
        let limit = dimensions_limit(&dimensions((10, 5), (0, 3)));
        assert_eq!(limit, Some(Limit::DeclaredCells { max: MAX_CELLS }));
    }

    #[test]
    fn bytes_that_are_not_a_compound_file_are_left_to_calamine() {
        assert!(check(b"nothing like a workbook").is_ok());
        assert!(check(&[0xD0, 0xCF, 0x11, 0xE0]).is_ok());
    }
}
