//! Text from documents and from the daemon, made safe to write to a terminal.
//!
//! The daemon checks what people type, but the partner's daemon may be an older or hostile
//! build that writes anything into the shared document, and a document already on disk may
//! hold anything. A terminal obeys control characters (escape sequences retitle or clear it,
//! a carriage return overwrites the line) and bidi controls reorder what is shown, so the
//! CLI never writes them raw: it shows them escaped, e.g. `\u{1b}`, so the reader sees
//! that they are there. Everything else (accents, dashes, emoji, CJK, right-to-left
//! scripts) is printed unchanged.

use std::borrow::Cow;

use tandem_protocol::entity::is_bidi_control;

/// Text for a table cell or a one-line message: every control character, line breaks and
/// tabs included, is escaped.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, Lines::One)
}

/// Text that may span lines (notes, whole lines of output): line breaks are kept and tabs
/// become spaces; every other control character is escaped.
pub fn multi_line(text: &str) -> Cow<'_, str> {
    escape(text, Lines::Many)
}

/// What a tab in multi-line text is shown as.
const TAB: &str = "    ";

/// Whether the text may keep its line breaks.
#[derive(Clone, Copy, PartialEq)]
enum Lines {
    One,
    Many,
}

/// Characters a terminal obeys or that reorder what it shows: C0, DEL and C1 controls,
/// bidi embeddings, overrides and isolates, and the invisible direction marks (LRM, RLM,
/// ALM), which can flip the order of the characters next to them.
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{200e}' | '\u{200f}' | '\u{61c}')
}

fn escape(text: &str, lines: Lines) -> Cow<'_, str> {
    let kept = |c: char| lines == Lines::Many && c == '\n';
    if !text.chars().any(|c| is_unsafe(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !is_unsafe(c) || kept(c) => out.push(c),
            '\t' if lines == Lines::Many => out.push_str(TAB),
            c => out.extend(c.escape_default()),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the issue forbids on the terminal: C0 except the newline, DEL and C1, bidi
    /// embeddings, overrides and isolates.
    fn forbidden(c: char) -> bool {
        (c.is_control() && c != '\n') || is_bidi_control(c)
    }

    /// Strings mixing what terminals obey with ordinary text of several scripts.
    fn mixed() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                proptest::char::range('\0', '\u{a0}'),
                proptest::char::range('\u{200b}', '\u{2070}'),
                Just('\u{61c}'),
                any::<char>(),
            ],
            0..40,
        )
        .prop_map(String::from_iter)
    }

    proptest! {
        #[test]
        fn one_line_output_is_one_line_and_obeys_nothing(raw in mixed()) {
            let shown = one_line(&raw);
            prop_assert!(!shown.chars().any(|c| forbidden(c) || c == '\n'), "{shown:?}");
            prop_assert!(!shown.chars().any(is_unsafe), "{shown:?}");
        }

        #[test]
        fn multi_line_output_keeps_lines_and_obeys_nothing_else(raw in mixed()) {
            let shown = multi_line(&raw);
            prop_assert!(!shown.chars().any(forbidden), "{shown:?}");
            let breaks = |s: &str| s.matches('\n').count();
            prop_assert_eq!(breaks(&shown), breaks(&raw));
        }

        /// Text without anything unsafe is printed as it is, not even copied.
        #[test]
        fn ordinary_text_is_unchanged(raw in "[\\PC&&[^\\u{200e}\\u{200f}\\u{61c}]]{0,40}") {
            prop_assert!(matches!(one_line(&raw), Cow::Borrowed(s) if s == raw));
            prop_assert!(matches!(multi_line(&raw), Cow::Borrowed(s) if s == raw));
        }
    }

    #[test]
    fn escapes_show_what_was_there() {
        assert_eq!(
            one_line("a\u{1b}]0;pwned\u{7}\n\t\u{202e}\u{9b}\0"),
            "a\\u{1b}]0;pwned\\u{7}\\n\\t\\u{202e}\\u{9b}\\u{0}"
        );
        assert_eq!(
            multi_line("one\n\ttwo\r\u{2066}"),
            "one\n    two\\r\\u{2066}"
        );
        for ordinary in [
            "– Ł",
            "Crème brûlée 🎉",
            "夜の散歩",
            "שלום עולם",
            "C:\\path",
        ] {
            assert_eq!(one_line(ordinary), ordinary);
        }
    }
}
