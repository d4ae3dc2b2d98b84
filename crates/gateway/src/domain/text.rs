//! Free text the site gives an order: the description shown to the payer, and `attach` returned to it.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::DomainError;

/// Refuses the characters that are not seen but change how text around them is seen: controls
/// (`Cc`), every format character (`Cf`: direction overrides and isolates U+202A..U+202E and
/// U+2066..U+2069, marks U+200E/U+200F, zero-width U+200B..U+200D, U+FEFF, soft hyphen, tags), and
/// the line and paragraph separators (`Zl`, `Zp`). With them a description can show the payer
/// something other than what it is (`U+202E` turns "VIP 1 day" around), or hide a difference
/// between two texts that look the same. This also refuses the zero-width joiner of emoji
/// sequences (a family emoji); the emoji themselves are fine.
///
/// # Errors
/// `InvisibleCharacter` naming `field` and the first such character.
pub fn refuse_invisible(field: &'static str, s: &str) -> Result<(), DomainError> {
    match s.chars().find(|&c| is_invisible(c)) {
        Some(found) => Err(DomainError::InvisibleCharacter { field, found }),
        None => Ok(()),
    }
}

fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// What the payer sees on the payment page and in their bill: 1–127 characters (seed 000:
/// "≤127 字符", counted in characters, so 127 Chinese characters fit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 127;

    /// # Errors
    /// `Missing` when empty, `DescriptionTooLong` past 127 characters, `InvisibleCharacter` with
    /// control or format characters (see [`refuse_invisible`]).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing {
                field: "description",
            });
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::DescriptionTooLong {
                max: Self::MAX_CHARS,
            });
        }
        // It is shown to the payer: on the checkout page, and by the channel in its payment
        // screen and the payer's bill.
        refuse_invisible("description", s)?;
        Ok(Self(s.to_owned()))
    }

    /// A description read back from the database, checked as it was when stored. Versions before
    /// [`refuse_invisible`] accepted format characters: an order stored then must stay readable
    /// (and can still be paid, closed and checked) until it ends.
    ///
    /// # Errors
    /// `Malformed` when empty, too long or with control characters.
    pub fn parse_stored(s: &str) -> Result<Self, DomainError> {
        let bad = DomainError::Malformed {
            field: "description",
        };
        if s.is_empty() || s.chars().count() > Self::MAX_CHARS || s.chars().any(char::is_control) {
            return Err(bad);
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Opaque data the site attaches to an order and gets back in the notification: 1–128 characters,
/// WeChat Pay's `attach` limit (Alipay's `passback_params` allows more, so the stricter one wins).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attach(String);

impl Attach {
    pub const MAX_CHARS: usize = 128;

    /// # Errors
    /// `InvalidAttach` when empty or longer than 128 characters (an absent attach is `None`, not "");
    /// `InvisibleCharacter` with control or format characters: it is returned in every
    /// notification and sent to the channel, and a NUL cannot even be stored in PostgreSQL.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let n = s.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(DomainError::InvalidAttach {
                max: Self::MAX_CHARS,
            });
        }
        refuse_invisible("attach", s)?;
        Ok(Self(s.to_owned()))
    }

    /// An attach read back from the database, stored before format characters were refused.
    ///
    /// # Errors
    /// `Malformed` when empty or too long.
    pub fn parse_stored(s: &str) -> Result<Self, DomainError> {
        let n = s.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(DomainError::Malformed { field: "attach" });
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_counts_characters_not_bytes() {
        assert!(Description::parse("VIP月卡").is_ok());
        assert!(Description::parse(&"月".repeat(127)).is_ok());
        assert!(Description::parse(&"a".repeat(127)).is_ok());
        let too_long = Description::parse(&"月".repeat(128)).unwrap_err();
        assert_eq!(too_long.code(), "description_too_long");
        assert_eq!(too_long.field(), "description");
        assert_eq!(
            Description::parse(&"a".repeat(128)).unwrap_err().code(),
            "description_too_long"
        );
    }

    #[test]
    fn description_empty_is_missing_and_control_characters_are_refused() {
        assert_eq!(Description::parse("").unwrap_err().code(), "missing_fields");
        let err = Description::parse("a\nb").unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            ("invalid_characters", "description")
        );
    }

    #[test]
    fn every_format_character_in_a_description_is_refused() {
        let format_characters = [
            '\u{00AD}',
            '\u{061C}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2060}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{206F}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{E0001}',
            '\u{E0041}',
        ];
        let separators_and_controls = ['\u{2028}', '\u{2029}', '\u{7F}', '\u{85}', '\t', '\0'];
        for c in format_characters.into_iter().chain(separators_and_controls) {
            let err = Description::parse(&format!("VIP{c}月卡")).unwrap_err();
            assert_eq!(err.code(), "invalid_characters", "U+{:04X}", u32::from(c));
            assert!(
                err.to_string().contains(&format!("U+{:04X}", u32::from(c))),
                "{err}"
            );
        }
        // Everything Unicode calls a format character, not only the well-known ones.
        let every_cf = (0..=0x10_FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|c| c.general_category() == GeneralCategory::Format);
        for c in every_cf {
            assert!(
                Description::parse(&c.to_string()).is_err(),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn a_stored_description_is_read_as_it_was_accepted() {
        assert!(Description::parse_stored("VIP\u{202E}月卡").is_ok());
        assert!(Description::parse_stored("a\nb").is_err());
        assert!(Description::parse_stored("").is_err());
    }

    #[test]
    fn visible_text_in_any_script_is_accepted() {
        for ok in [
            "VIP月卡",
            "مرحبا بالعالم",
            "שלום",
            "Ünïcödé – “quotes” · ¥29.90",
            "emoji 🎉👍🏽",
            "full\u{3000}width space",
        ] {
            assert!(Description::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn attach_edges() {
        assert!(Attach::parse("x").is_ok());
        assert!(Attach::parse(&"附".repeat(128)).is_ok());
        assert_eq!(Attach::parse("").unwrap_err().code(), "invalid_attach");
        assert_eq!(
            Attach::parse(&"a".repeat(129)).unwrap_err().code(),
            "invalid_attach"
        );
    }

    #[test]
    fn attach_refuses_nul_and_invisible_characters_but_reads_old_ones_back() {
        for bad in ["ab\u{0}c", "x\u{202E}y", "line\nbreak"] {
            let err = Attach::parse(bad).unwrap_err();
            assert_eq!(
                (err.code(), err.field()),
                ("invalid_characters", "attach"),
                "{bad:?}"
            );
            assert!(Attach::parse_stored(bad).is_ok());
        }
        assert!(Attach::parse("order=1&user=2").is_ok());
    }
}
