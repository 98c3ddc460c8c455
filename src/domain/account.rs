//! Account inputs, parsed at the boundary: email, password policy, display name.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases, then checks the address form (RFC 5322 via `email_address`).
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let normalised = input.trim().to_lowercase();
        if normalised.len() > 254 {
            return Err("must be at most 254 characters");
        }
        match email_address::EmailAddress::parse_with_options(
            &normalised,
            email_address::Options::default().without_display_text(),
        ) {
            Ok(addr) if addr.domain().contains('.') => Ok(Self(normalised)),
            _ => Err("must be an email address like name@example.com"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy. `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;

const COMMON: [&str; 12] = [
    "1234567890",
    "12345678910",
    "0123456789",
    "password123",
    "password1234",
    "qwertyuiop",
    "1qaz2wsx3edc",
    "iloveyou123",
    "abcdefghij",
    "a1234567890",
    "woaini1314",
    "1234567890a",
];

impl Password {
    /// Policy: 10 to 128 characters, not a well-known password, not one repeated
    /// character, and not containing the account's email name.
    pub fn parse(input: &str, email: &Email) -> Result<Self, String> {
        let chars = input.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(format!(
                "must be at least {PASSWORD_MIN_CHARS} characters (a short phrase works well)"
            ));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
        }
        let lower = input.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err("is too common; choose something others would not guess".into());
        }
        let mut it = input.chars();
        if let Some(first) = it.next()
            && it.all(|c| c == first)
        {
            return Err("must not be one character repeated".into());
        }
        let local = email.as_str().split('@').next().unwrap_or_default();
        if local.len() >= 4 && lower.contains(local) {
            return Err("must not contain your email name".into());
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: 1 to 100 characters after trimming, no control characters.
pub fn parse_display_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("must be 1 to 100 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse("  Li.Hua@Example.COM ").unwrap().as_str(),
            "li.hua@example.com"
        );
        for bad in ["", "no-at-sign", "a@b", "a b@example.com", "@example.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn password_policy() {
        let email = Email::parse("lihua@example.com").unwrap();
        assert!(Password::parse("correct horse battery", &email).is_ok());
        assert!(Password::parse("short", &email).is_err());
        assert!(Password::parse("1234567890", &email).is_err());
        assert!(Password::parse("aaaaaaaaaaaa", &email).is_err());
        assert!(Password::parse("my-lihua-password", &email).is_err());
        assert!(Password::parse(&"x".repeat(129), &email).is_err());
        let p = Password::parse("correct horse battery", &email).unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn display_names() {
        assert_eq!(parse_display_name("  李华 ").unwrap(), "李华");
        assert!(parse_display_name("   ").is_err());
        assert!(parse_display_name("a\u{7}b").is_err());
    }
}
