//! Slicing text by byte offsets without ever panicking.
//!
//! Offsets reach the normalisers from the tokenizer, from the model's spans and from arithmetic
//! on both, and the text is whatever someone posted on-chain. `&text[a..b]` panics when an end
//! falls inside a multi-byte character (`\u{3000}`, `万`, an emoji) or past the end, and one such
//! panic used to stop the node. Every slice of a text in `extract/` goes through these helpers
//! instead (the module denies `clippy::string_slice`, so a raw slice does not compile under
//! clippy): a start is moved back to the character it falls in, an end forward past it, both
//! are clamped to the text, and an inverted range is empty.

/// The start of the character that byte `i` falls in (`text.len()` past the end).
pub fn floor(text: &str, i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    text.floor_char_boundary(i)
}

/// The end of the character that byte `i` falls in (`text.len()` past the end).
pub fn ceil(text: &str, i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    text.ceil_char_boundary(i)
}

/// The text between two byte offsets, widened to whole characters; empty when `end <= start`.
pub fn span(text: &str, start: usize, end: usize) -> &str {
    let start = floor(text, start);
    let end = ceil(text, end).max(start);
    text.get(start..end).unwrap_or_default()
}

/// The text from byte `start` (moved back to its character) to the end.
pub fn from(text: &str, start: usize) -> &str {
    text.get(floor(text, start)..).unwrap_or_default()
}

/// The text before byte `end` (moved back to its character, so the character it falls in is
/// not part of what comes before): also the longest prefix of at most `end` bytes.
pub fn before(text: &str, end: usize) -> &str {
    text.get(..floor(text, end)).unwrap_or_default()
}

/// The byte at `i`, if there is one (ASCII checks look at bytes; a multi-byte character's bytes
/// are all ≥ 0x80, so they never pass for ASCII).
pub fn byte(text: &str, i: usize) -> Option<u8> {
    text.as_bytes().get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "借款\u{3000}5万元";

    #[test]
    fn ends_inside_a_character_take_the_whole_character() {
        // 借 0..3, 款 3..6, U+3000 6..9, 5 9..10, 万 10..13, 元 13..16
        assert_eq!(span(TEXT, 7, 10), "\u{3000}5");
        assert_eq!(span(TEXT, 9, 11), "5万");
        assert_eq!(span(TEXT, 11, 11), "万");
        assert_eq!(span(TEXT, 10, 10), "");
        assert_eq!(span(TEXT, 12, 4), "", "an inverted range is empty");
        assert_eq!(span(TEXT, 14, 99), "元");
        assert_eq!(span(TEXT, 99, 120), "");
        assert_eq!(span(TEXT, usize::MAX, usize::MAX), "");
    }

    #[test]
    fn before_from_and_prefix_stay_on_boundaries() {
        assert_eq!(before(TEXT, 7), "借款");
        assert_eq!(from(TEXT, 7), "\u{3000}5万元");
        assert_eq!(from(TEXT, 99), "");
        assert_eq!(before(TEXT, 99), TEXT);
        assert_eq!(before(TEXT, 5), "借");
        assert_eq!(before("除以", 4), "除");
        assert_eq!(byte(TEXT, 9), Some(b'5'));
        assert_eq!(byte(TEXT, 16), None);
    }

    #[test]
    fn every_pair_of_offsets_is_safe() {
        let text = "\u{a0}\u{2009}\u{202f}\u{200b}\u{200f}1 000\u{3000}€😀";
        for a in 0..=text.len() + 2 {
            for b in 0..=text.len() + 2 {
                let s = span(text, a, b);
                assert!(text.contains(s));
                let _ = (from(text, a), before(text, b));
            }
        }
    }
}
