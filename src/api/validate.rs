//! Collects field errors while parsing a request into domain types, so the caller
//! learns about every bad field at once.
use std::fmt::Display;

use crate::error::{ApiError, FieldError};

#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// Records the error of `result` under `field`, if any.
    pub fn check<T, E: Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError::new(field, e.to_string()));
                None
            }
        }
    }

    /// Ends parsing: every recorded error at once, or the parsed value.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if !self.0.is_empty() {
            return Err(ApiError::Validation(self.0));
        }
        value().ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("parsed value missing")))
    }
}

/// Trimmed text of 1 to `max` characters without control characters (newlines and tabs
/// allowed when `multiline`).
pub fn text(input: &str, max: usize, multiline: bool) -> Result<String, String> {
    let t = input.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
    if t.chars().any(bad) {
        return Err("must not contain control characters".into());
    }
    Ok(t.to_owned())
}

/// Like `text`, but empty is allowed (returns an empty string).
pub fn optional_text(input: &str, max: usize) -> Result<String, String> {
    if input.trim().is_empty() {
        Ok(String::new())
    } else {
        text(input, max, true)
    }
}

/// An http(s) URL of at most 300 characters.
pub fn web_url(input: &str) -> Result<String, String> {
    let t = input.trim();
    let parsed =
        url::Url::parse(t).map_err(|_| "must be a URL like https://example.com".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("must be an http or https URL".into());
    }
    if t.len() > 300 {
        return Err("must be at most 300 characters".into());
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_all_errors() {
        let mut f = Fields::default();
        let a = f.check("a", text("", 10, false));
        let b = f.check("b", text("ok", 10, false));
        let c = f.check("c", web_url("ftp://x.y"));
        assert!(a.is_none() && b.is_some() && c.is_none());
        match f.finish(|| Some(())) {
            Err(ApiError::Validation(errors)) => {
                let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, ["a", "c"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn text_rules() {
        assert_eq!(text("  hi ", 5, false).unwrap(), "hi");
        assert!(text("toolong", 3, false).is_err());
        assert!(text("a\nb", 5, false).is_err());
        assert!(text("a\nb", 5, true).is_ok());
        assert_eq!(optional_text("   ", 5).unwrap(), "");
    }
}
