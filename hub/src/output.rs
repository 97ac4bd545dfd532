//! What the command line prints, and the one rule for printing it: every control character and
//! every bidirectional-text control in what it prints is shown escaped (`\u{1b}`, `\r`), so that
//! a name, an id or a form's title that holds one cannot clear the screen, move the cursor, fake
//! a line or reorder what a supervisor reads. Every listing, message and error goes through here,
//! as text or as JSON for scripts (`--json`: serde_json's escaping, plus `\uXXXX` for the
//! characters above that JSON would let through raw). Times are shown in the office's local
//! time zone (the process's, `TZ`), to the second, with the offset.

use crate::error::{HubError, Result};
use chrono::{DateTime, Local, Utc};
use serde::Serialize;
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

    /// Prints a header row then one row per item, each escaped and separated by tabs: a
    /// listing as text.
    pub fn table<T>(
        &mut self,
        header: &[&str],
        items: &[T],
        fields: impl Fn(&T) -> Vec<String>,
    ) -> Result<()> {
        let header: Vec<&dyn fmt::Display> =
            header.iter().map(|h| h as &dyn fmt::Display).collect();
        self.row(&header)?;
        for item in items {
            let values = fields(item);
            let values: Vec<&dyn fmt::Display> =
                values.iter().map(|v| v as &dyn fmt::Display).collect();
            self.row(&values)?;
        }
        Ok(())
    }

    /// Prints `value` as indented JSON and a newline: strings escaped by serde_json, and every
    /// character [`escape`] would escape written as `\uXXXX`, so that the output is valid JSON
    /// and safe on a terminal.
    pub fn json(&mut self, value: &impl Serialize) -> Result<()> {
        let mut bytes = Vec::new();
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut bytes, TerminalSafeJson::default());
        value
            .serialize(&mut serializer)
            .map_err(|e| HubError::Corrupt(format!("JSON output: {e}")))?;
        let text =
            String::from_utf8(bytes).map_err(|e| HubError::Corrupt(format!("JSON output: {e}")))?;
        self.write_line(&text)
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

/// `count` and `noun`, plural when it is not one: "1 document", "3 documents".
pub fn plural(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// `time` in the process's local time zone (`TZ`, else the system's), to the second, with the
/// offset: `2026-03-14 09:26:53 -05:00`.
pub fn local_time(time: &DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// [`local_time`], or `never` for a time that has not happened.
pub fn local_time_or_never(time: Option<&DateTime<Utc>>) -> String {
    time.map_or_else(|| "never".into(), local_time)
}

/// serde_json's indented output, with the characters a terminal acts on inside strings (those
/// serde_json leaves raw: DEL, the C1 controls, the bidirectional marks) written as `\uXXXX`.
#[derive(Default)]
struct TerminalSafeJson(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for TerminalSafeJson {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| must_escape(*c)) {
            writer.write_all(&rest.as_bytes()[..at])?;
            // Every such character is in the Basic Multilingual Plane: one `\uXXXX`.
            write!(writer, "\\u{:04x}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
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
    fn json_is_valid_and_shows_no_control_character_raw() {
        let name = "Ana\u{1b}[2J\u{9b}31m\u{202e}\r\"quoted\"";
        let out = printed(|p| p.json(&serde_json::json!([{ "name": name, "n": 1 }])));
        assert!(!out.chars().any(|c| must_escape(c) && c != '\n'), "{out:?}");
        assert!(out.contains(r"\u009b") && out.contains(r"\u202e") && out.contains(r"\u001b"));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back[0]["name"], name, "the same text for a script");
        assert_eq!(back[0]["n"], 1);
    }

    #[test]
    fn a_table_has_its_header_then_escaped_rows() {
        let out = printed(|p| {
            p.table(&["name", "n"], &[("a\tb", 1)], |(s, n)| {
                vec![s.to_string(), n.to_string()]
            })
        });
        assert_eq!(out, "name\tn\na\\tb\t1\n");
    }

    #[test]
    fn a_block_keeps_its_lines() {
        let out = printed(|p| p.block("▀▄\n█\u{1b}"));
        assert_eq!(out, "▀▄\n█\\u{1b}\n");
    }
}
