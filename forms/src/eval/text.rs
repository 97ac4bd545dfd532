//! The text functions whose rules take more than a line: `substr()` (JavaRosa's, counting a
//! negative position from the end), XPath's `substring()` and `translate()`, and
//! `base64-decode()`. Each costs one pass over its text.

/// JavaRosa's `substr(s, start, end)`: 0-based, end exclusive, each truncated to a whole number;
/// a negative position counts from the end (`substr('hello', -2)` is `lo`); then clamped to the
/// text.
pub(crate) fn substr(s: &str, start: f64, end: Option<f64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as f64;
    let position = |n: f64| {
        // Java's (int) NaN is 0.
        let n = if n.is_nan() { 0.0 } else { n.trunc() };
        let from_start = if n < 0.0 { len + n } else { n };
        from_start.clamp(0.0, len) as usize
    };
    let (from, to) = (position(start), position(end.unwrap_or(len)));
    if from >= to {
        String::new()
    } else {
        chars[from..to].iter().collect()
    }
}

/// XPath 1.0's `substring(s, start, length)`: 1-based, rounding as the standard says.
pub(crate) fn substring(s: &str, start: f64, length: Option<f64>) -> String {
    let first = start.round();
    let last = length.map_or(f64::INFINITY, |l| first + l.round());
    s.chars()
        .enumerate()
        .filter(|(i, _)| {
            let position = (*i + 1) as f64;
            position >= first && position < last
        })
        .map(|(_, c)| c)
        .collect()
}

pub(crate) fn translate(s: &str, from: &str, to: &str) -> String {
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.chars().position(|f| f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}

/// `base64-decode()`: the bytes as UTF-8 text (a byte sequence that is not UTF-8 shows U+FFFD,
/// as Java's `new String(bytes, UTF_8)` does); empty if the text is not base64.
pub(crate) fn base64_decode(encoded: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substr_with_negative_positions_counts_from_the_end() {
        assert_eq!(substr("hello", -2.0, None), "lo");
        assert_eq!(substr("hello", 0.0, Some(-1.0)), "hell");
        assert_eq!(substr("hello", -4.0, Some(-2.0)), "el");
        assert_eq!(substr("hello", -9.0, None), "hello");
        assert_eq!(
            substr("ñandú", 1.9, Some(3.9)),
            "an",
            "positions are truncated"
        );
        assert_eq!(
            substr("hello", f64::NAN, Some(2.0)),
            "he",
            "NaN is 0, as Java's (int)"
        );
    }

    #[test]
    fn base64_decode_reads_utf8_text() {
        assert_eq!(base64_decode("w6nDqMOx"), "éèñ");
        assert_eq!(base64_decode("/w=="), "\u{FFFD}", "a byte that is no UTF-8");
        assert_eq!(base64_decode("not base64!"), "");
    }
}
