//! The bounds on what import reads of a workbook. A workbook is a zip of XML: a few kilobytes can
//! declare a cell at XFD1048576, inflate to gigabytes or announce two billion shared strings, and
//! an import that believes them fails to allocate and aborts the process (no panic guard catches
//! that). Past a bound the workbook is refused with [`super::Problem::TooLarge`], naming the sheet
//! (or the part of the file) and the bound, before it has cost more than a few tens of megabytes.
//!
//! The bounds are far above any real form. The forms of the test corpus (the largest,
//! `xlsform_spec_test.xlsx`, is 199 KB) have at most 1,001 rows, content up to column AB (28),
//! sheets of at most 563 KB of XML and 126 KB of shared strings; a country's list of villages on the
//! choices sheet (100,000 rows by 5 columns) is about 20 MB of sheet XML. Each bound has a margin
//! of 50 to 100 times over the corpus, and Excel's own limit where there is one.

/// The last row a cell may be in (1-based). 100 times the corpus's largest sheet; a choice list
/// longer than this belongs in a CSV attached with `select_one_from_file`.
pub const MAX_ROWS: u32 = 100_000;

/// The number of columns a cell may be in (A to AMJ). A survey sheet with twenty languages has
/// about 350 columns; 1,024 is also the width LibreOffice had for years.
pub const MAX_COLUMNS: u32 = 1_024;

/// Non-empty cells in the survey, choices and settings sheets together: what stays in memory
/// (about 50 bytes each beside the text). The village list above is 500,000.
pub const MAX_CELLS: usize = 1_000_000;

/// Bytes of text in those cells together. A shared string is copied into each cell that uses
/// it, so 100,000 cells naming one string of 30,000 characters would keep 3 GB. The corpus's
/// largest form keeps well under 1 MB.
pub const MAX_TEXT_BYTES: usize = 32 << 20;

/// Characters in one cell: Excel's own limit, so no spreadsheet program writes a longer one.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Bytes one XML part of the `.xlsx` (a sheet, the shared strings, the styles) may inflate to:
/// 57 times the corpus's largest sheet, and more than the village list needs.
pub const MAX_PART_BYTES: u64 = 32 << 20;

/// Bytes all the XML parts together may inflate to, so that many parts under the bound of one
/// do not make a bomb either.
pub const MAX_WORKBOOK_BYTES: u64 = 128 << 20;

/// Shared strings a workbook may declare (`uniqueCount`) or hold: calamine reserves room for
/// the declared count before reading the first one.
pub const MAX_SHARED_STRINGS: u64 = 1_000_000;

/// XML elements in any part calamine reads whole when it opens the workbook, other than the
/// worksheets and the shared strings (bounded above): the styles, the workbook, relationships.
/// calamine keeps about 150 bytes for each cell style (`<xf/>`, 5 bytes of XML), so 30 MB of
/// styles would take a gigabyte. The corpus's largest such part has 464 elements; Excel allows
/// 64,000 cell formats, about three elements each.
pub const MAX_ELEMENTS: u64 = 250_000;
