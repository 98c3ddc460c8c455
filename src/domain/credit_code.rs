//! Unified social credit code (统一社会信用代码), GB 32100-2015.
//!
//! 18 characters from a 31-symbol alphabet (digits and capitals without I, O, S, V, Z):
//! registration authority, organisation type, 6-digit administrative division, 9-character
//! organisation code, and a check character computed over the first 17.
use std::fmt;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// 3^i mod 31 for positions 1..=17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("must be exactly 18 characters (got {0})")]
    Length(usize),
    #[error(
        "character {position} ({found:?}) is not allowed; use digits and capital letters except I, O, S, V, Z"
    )]
    Character { position: usize, found: char },
    #[error("characters 3 to 8 must be the 6-digit administrative division code")]
    Region,
    #[error("check character is wrong (expected {expected:?})")]
    CheckDigit { expected: char },
}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (which must be from the alphabet).
fn check_char(first17: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(*c)? * w;
    }
    Some(ALPHABET[((31 - sum % 31) % 31) as usize] as char)
}

impl CreditCode {
    /// Parses a code; surrounding spaces are ignored and lower case is accepted.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let code = input.trim().to_ascii_uppercase();
        let count = code.chars().count();
        if count != 18 {
            return Err(CreditCodeError::Length(count));
        }
        let bytes = code.as_bytes();
        for (i, c) in code.chars().enumerate() {
            if !c.is_ascii() || value_of(c as u8).is_none() {
                return Err(CreditCodeError::Character {
                    position: i + 1,
                    found: c,
                });
            }
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Region);
        }
        let expected = check_char(&bytes[..17]).ok_or(CreditCodeError::Length(count))?;
        if bytes[17] as char != expected {
            return Err(CreditCodeError::CheckDigit { expected });
        }
        Ok(Self(code))
    }

    /// Completes 17 characters with their check character (for generated demo data).
    pub fn complete(first17: &str) -> Result<Self, CreditCodeError> {
        let upper = first17.to_ascii_uppercase();
        let check = check_char(upper.as_bytes()).ok_or(CreditCodeError::Length(upper.len()))?;
        Self::parse(&format!("{upper}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit administrative division embedded in the code.
    pub fn region(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_codes_are_accepted() {
        for code in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
        ] {
            let parsed = CreditCode::parse(code).unwrap();
            assert_eq!(parsed.as_str(), code);
        }
        assert_eq!(
            CreditCode::parse(" 91350100m000100y43 ").unwrap().region(),
            "350100"
        );
    }

    #[test]
    fn wrong_check_characters_are_refused_with_the_expected_one() {
        for (code, expected) in [
            ("911100001000013428", 'C'),
            ("91310000MA1FL4T82X", 'M'),
            ("52110000500021429E", 'K'),
            ("91350100M000100Y44", '3'),
        ] {
            assert_eq!(
                CreditCode::parse(code),
                Err(CreditCodeError::CheckDigit { expected }),
                "{code}"
            );
        }
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            CreditCode::parse("9135010"),
            Err(CreditCodeError::Length(7))
        );
        assert!(matches!(
            CreditCode::parse("91350100M0001O0Y43"),
            Err(CreditCodeError::Character {
                position: 14,
                found: 'O'
            })
        ));
        assert!(matches!(
            CreditCode::parse("9135010中M000100Y43"),
            Err(CreditCodeError::Character { position: 8, .. })
        ));
        assert_eq!(
            CreditCode::parse("913501A0M000100Y43"),
            Err(CreditCodeError::Region)
        );
    }

    #[test]
    fn complete_adds_the_check_character() {
        assert_eq!(
            CreditCode::complete("91350100M000100Y4").unwrap().as_str(),
            "91350100M000100Y43"
        );
        assert!(CreditCode::complete("9135").is_err());
    }

    proptest! {
        /// Changing any single character of a valid code makes it invalid.
        #[test]
        fn any_single_substitution_is_detected(pos in 0usize..18, sym in 0usize..31) {
            let valid = b"91440300708461136T";
            prop_assume!(valid[pos] != ALPHABET[sym]);
            let mut changed = valid.to_vec();
            changed[pos] = ALPHABET[sym];
            let s = String::from_utf8(changed).unwrap();
            prop_assert!(CreditCode::parse(&s).is_err());
        }
    }
}
