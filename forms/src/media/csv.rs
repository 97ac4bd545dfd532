//! A CSV reader for a form's list files, as ODK Collect reads them (RFC 4180: fields separated
//! by commas, quoted with `"` where they hold a comma, a quote (doubled) or a line break; lines
//! end in LF or CRLF; a UTF-8 byte-order mark is skipped). Blank lines are skipped.

/// The records of `text`, each a list of fields. A quote left open at the end is closed
/// there. Cost: one pass over the text.
pub(super) fn records(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => end_record(&mut records, &mut record, &mut field),
            (false, c) => field.push(c),
        }
    }
    end_record(&mut records, &mut record, &mut field);
    records
}

/// Ends the record being read; a line with nothing on it is no record.
fn end_record(records: &mut Vec<Vec<String>>, record: &mut Vec<String>, field: &mut String) {
    record.push(std::mem::take(field));
    let record = std::mem::take(record);
    if !(record.len() == 1 && record[0].is_empty()) {
        records.push(record);
    }
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
