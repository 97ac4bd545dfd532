//! What the command line prints, and the one rule for printing it: every control character and
//! every bidirectional-text control in what it prints is shown escaped (`\u{1b}`, `\r`), so that
//! a name, an id or a form's title that holds one cannot clear the screen, move the cursor, fake
//! a line or reorder what a supervisor reads. Every listing, message and error goes through here.

use crate::error::{HubError, Result};
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io::Write;

/// Whether `c` must not reach a terminal as it is: the C0 and C1 controls and DEL, and the
/// Unicode controls that reorder text (the "Trojan Source" marks).
fn must_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character a terminal would act on written as its Rust escape (`\r`, `\t`,
/// `\n`, `\u{1b}`, `\u{202e}`); borrowed when there is none, as there almost never is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(must_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if must_escape(c) {
            // `escape_default` writes `\t`, `\r`, `\n` by name and the rest as `\u{…}`.
            let _ = write!(escaped, "{}", c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Prints lines to a terminal, a pipe or (in tests) a buffer, each escaped with [`escape`].
pub struct Printer<W: Write> {
    out: W,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W) -> Self {
        Printer { out }
    }

    /// Prints one line: the formatted text, escaped whole (so a tab or a newline in it is shown,
    /// not obeyed), and a newline.
    pub fn line(&mut self, text: fmt::Arguments<'_>) -> Result<()> {
        let text = text.to_string();
        self.write_line(&escape(&text))
    }

    /// Prints one row of a listing: the fields, each escaped, separated by tabs.
    pub fn row(&mut self, fields: &[&dyn fmt::Display]) -> Result<()> {
        let row: Vec<String> = fields
            .iter()
            .map(|field| escape(&field.to_string()).into_owned())
            .collect();
        self.write_line(&row.join("\t"))
    }

    /// Prints a block of several lines (a QR code drawn in characters), each line escaped.
    pub fn block(&mut self, text: &str) -> Result<()> {
        text.lines()
            .try_for_each(|line| self.write_line(&escape(line)))
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        writeln!(self.out, "{line}").map_err(|e| HubError::io("standard output", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(print: impl FnOnce(&mut Printer<&mut Vec<u8>>) -> Result<()>) -> String {
        let mut bytes = Vec::new();
        print(&mut Printer::new(&mut bytes)).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn escape_codes_carriage_returns_and_bells_are_shown_not_obeyed() {
        assert_eq!(escape("x\u{1b}[2J"), r"x\u{1b}[2J");
        assert_eq!(escape("ok\rFAKE"), r"ok\rFAKE");
        assert_eq!(escape("ding\u{7}"), r"ding\u{7}");
        assert_eq!(
            escape("a\u{9b}31m"),
            r"a\u{9b}31m",
            "the one-byte CSI of C1"
        );
        assert_eq!(escape("abc\u{202e}fed"), r"abc\u{202e}fed");
        assert_eq!(escape("del\u{7f}"), r"del\u{7f}");
    }

    #[test]
    fn ordinary_text_is_printed_as_it_is() {
        for text in ["Ana Quishpe", "Cotacachi – zona 3", "ñandú 🐦", r"C:\path"] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn a_row_escapes_its_fields_but_not_its_own_tabs() {
        let out = printed(|p| p.row(&[&"id\t1", &"name\nfake line", &7]));
        assert_eq!(out, "id\\t1\tname\\nfake line\t7\n");
    }

    #[test]
    fn a_line_is_one_line_whatever_it_holds() {
        let name = "ana\r\nrevoked 2026-01-01";
        let out = printed(|p| p.line(format_args!("created {name}")));
        assert_eq!(out, "created ana\\r\\nrevoked 2026-01-01\n");
    }

    #[test]
    fn a_block_keeps_its_lines() {
        let out = printed(|p| p.block("▀▄\n█\u{1b}"));
        assert_eq!(out, "▀▄\n█\\u{1b}\n");
    }
}
