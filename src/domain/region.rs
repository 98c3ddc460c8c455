//! Administrative division codes (行政区划代码): six digits. `000000` stands for the whole
//! country (used by national associations).
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

pub const NATIONAL: &str = "000000";

/// Province-level prefixes in use (GB/T 2260), so that typos are caught.
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

impl RegionCode {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a 6-digit administrative division code");
        }
        if s != NATIONAL && !PROVINCES.contains(&&s[..2]) {
            return Err("does not start with a known province-level code");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether an association serving `self` covers an institution in `other`:
    /// national covers all, `XX0000` its province, `XXXX00` its city, else exact.
    pub fn covers(&self, other: &RegionCode) -> bool {
        let s = self.as_str();
        if s == NATIONAL {
            true
        } else if s.ends_with("0000") {
            other.as_str().starts_with(&s[..2])
        } else if s.ends_with("00") {
            other.as_str().starts_with(&s[..4])
        } else {
            s == other.as_str()
        }
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert!(RegionCode::parse("110108").is_ok());
        assert!(RegionCode::parse("000000").is_ok());
        assert!(RegionCode::parse("99010").is_err());
        assert!(RegionCode::parse("990100").is_err());
        assert!(RegionCode::parse("11010a").is_err());
    }

    #[test]
    fn coverage_goes_from_country_to_county() {
        let r = |s| RegionCode::parse(s).unwrap();
        assert!(r("000000").covers(&r("440305")));
        assert!(r("440000").covers(&r("440305")));
        assert!(r("440300").covers(&r("440305")));
        assert!(r("440305").covers(&r("440305")));
        assert!(!r("440100").covers(&r("440305")));
        assert!(!r("110000").covers(&r("440305")));
        assert!(!r("440305").covers(&r("440300")));
    }
}
