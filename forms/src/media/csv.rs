//! Reading a form's list files as CSV, as ODK Collect reads them (RFC 4180: fields separated
//! by commas, quoted with `"` where they hold a comma, a quote (doubled) or a line break; lines
//! end in LF or CRLF; a UTF-8 byte-order mark is skipped). Blank lines are skipped.

/// The records of `text`, each a list of fields, read by the `csv` crate (a UTF-8 byte-order
/// mark and blank lines skipped, records of any length). Cost: one pass over the text.
pub(super) fn records(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        // Text that is a `str` and records of any length leave the reader nothing to fail on.
        .filter_map(Result::ok)
        .map(|record| record.iter().map(str::to_owned).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::records;

    #[test]
    fn quoted_fields_keep_their_commas_quotes_and_line_breaks() {
        let text = "\u{feff}name,label\r\na,\"Quito, \"\"norte\"\"\"\r\n\r\nb,\"two\nlines\"\n";
        assert_eq!(
            records(text),
            vec![
                vec!["name", "label"],
                vec!["a", "Quito, \"norte\""],
                vec!["b", "two\nlines"],
            ]
        );
    }

    #[test]
    fn an_empty_field_and_a_missing_last_line_break_are_read() {
        assert_eq!(records("a,,c"), vec![vec!["a", "", "c"]]);
    }
}
