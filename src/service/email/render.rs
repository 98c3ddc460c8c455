//! Mail templates: one file per kind and language under `templates/`
//! (`{kind}.{lang}.hbs`): the first line is the subject, then a blank line, then the
//! body as plain paragraphs. Each is compiled twice, in strict mode (a missing value is
//! an error): for the plain-text part and the subject without escaping, and for the
//! HTML part with Handlebars' HTML escaping of every value.
use handlebars::{Handlebars, no_escape};
use serde_json::Value;

use crate::domain::email::{EmailKind, MailLanguage};

macro_rules! templates {
    ($($kind:literal),+ $(,)?) => {
        &[$(
            ($kind, "zh-CN", include_str!(concat!("templates/", $kind, ".zh-CN.hbs"))),
            ($kind, "en", include_str!(concat!("templates/", $kind, ".en.hbs"))),
        )+]
    };
}

/// (kind, language, source)
const SOURCES: &[(&str, &str, &str)] = templates!(
    "case_filed",
    "info_requested",
    "case_responded",
    "case_escalated",
    "deadline_missed",
    "offer_received",
    "case_settled",
    "case_closed",
    "verify_email",
    "account_exists",
);

/// A mail ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The compiled templates; built once.
pub struct Templates {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
}

fn name(kind: &str, lang: &str, part: &str) -> String {
    format!("{kind}.{lang}.{part}")
}

impl Templates {
    pub fn new() -> anyhow::Result<Self> {
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        for (kind, lang, source) in SOURCES {
            let (subject, body) = source
                .split_once("\n\n")
                .ok_or_else(|| anyhow::anyhow!("template {kind}.{lang} has no subject line"))?;
            let reg = |hb: &mut Handlebars<'static>, part: &str, src: &str| {
                hb.register_template_string(&name(kind, lang, part), src)
                    .map_err(|e| anyhow::anyhow!("template {kind}.{lang}: {e}"))
            };
            reg(&mut text, "subject", subject)?;
            reg(&mut text, "body", body)?;
            reg(&mut html, "body", body)?;
        }
        Ok(Self { text, html })
    }

    /// The mail of `kind` in `lang` with these values (a JSON object, `public_url`
    /// included).
    pub fn render(
        &self,
        kind: EmailKind,
        lang: MailLanguage,
        vars: &Value,
    ) -> anyhow::Result<Rendered> {
        let (k, l) = (kind.as_str(), lang.tag());
        let subject = self.text.render(&name(k, l, "subject"), vars)?;
        let text = self.text.render(&name(k, l, "body"), vars)?;
        let escaped = self.html.render(&name(k, l, "body"), vars)?;
        Ok(Rendered {
            // One line, whatever the values held.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text,
            html: html_document(&escaped, l),
        })
    }
}

/// Wraps escaped plain paragraphs in a small HTML document: blank lines separate
/// paragraphs, line breaks stay, a line that is a lone http(s) address becomes a link.
fn html_document(escaped: &str, lang: &str) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:sans-serif;line-height:1.5\">\n"
    );
    for para in escaped
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let lines: Vec<String> = para
            .lines()
            .map(|line| {
                let l = line.trim();
                let is_link = (l.starts_with("https://") || l.starts_with("http://"))
                    && !l.contains(char::is_whitespace);
                if is_link {
                    // Already escaped, so it may stand in the attribute as it is.
                    format!("<a href=\"{l}\">{l}</a>")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        out.push_str("<p>");
        out.push_str(&lines.join("<br>\n"));
        out.push_str("</p>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars() -> Value {
        json!({
            "public_url": "https://redress.example",
            "case_id": "0195",
            "reference": "ED-2026-000001",
            "institution": "<b>Bad & Co</b>",
            "state": "resolved",
            "verify_path": "/verify-email?token=a&b",
            "sign_in_path": "/sign-in",
        })
    }

    #[test]
    fn every_kind_renders_in_both_languages_with_its_link() {
        let t = Templates::new().unwrap();
        for kind in EmailKind::ALL {
            for lang in MailLanguage::ALL {
                let r = t.render(*kind, lang, &vars()).unwrap();
                assert!(!r.subject.is_empty() && !r.subject.contains('\n'));
                assert!(
                    r.text.contains("https://redress.example/"),
                    "{kind} {lang:?}"
                );
                assert!(r.html.contains("<a href=\"https://redress.example/"));
            }
        }
    }

    #[test]
    fn case_mails_link_to_the_case_page_and_carry_the_reference() {
        let t = Templates::new().unwrap();
        let r = t
            .render(EmailKind::CaseFiled, MailLanguage::En, &vars())
            .unwrap();
        assert!(r.subject.contains("ED-2026-000001"));
        assert!(r.text.contains("https://redress.example/cases/0195"));
        let zh = t
            .render(EmailKind::Responded, MailLanguage::ZhCn, &vars())
            .unwrap();
        assert!(zh.subject.contains("已答复"), "{}", zh.subject);
    }

    #[test]
    fn values_are_escaped_in_html_and_plain_in_text() {
        let t = Templates::new().unwrap();
        let r = t
            .render(EmailKind::Responded, MailLanguage::En, &vars())
            .unwrap();
        assert!(
            r.html.contains("&lt;b&gt;Bad &amp; Co&lt;/b&gt;"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<b>Bad"));
        assert!(r.text.contains("<b>Bad & Co</b>"));
        let v = t
            .render(EmailKind::VerifyEmail, MailLanguage::En, &vars())
            .unwrap();
        // Handlebars also escapes `=`; entities in an href are decoded by the reader.
        assert!(
            v.html.contains("a&amp;b") && !v.html.contains("a&b"),
            "{}",
            v.html
        );
        assert!(v.text.contains("token=a&b"));
    }

    #[test]
    fn closed_mails_say_how_the_case_ended() {
        let t = Templates::new().unwrap();
        let mut v = vars();
        for (state, words) in [
            ("resolved", "resolved"),
            ("unresolved", "without an agreement"),
            ("rejected", "could not take it up"),
            ("withdrawn", "you withdrew it"),
        ] {
            v["state"] = json!(state);
            let r = t.render(EmailKind::Closed, MailLanguage::En, &v).unwrap();
            assert!(r.text.contains(words), "{state}: {}", r.text);
        }
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_blank() {
        let t = Templates::new().unwrap();
        let err = t.render(
            EmailKind::CaseFiled,
            MailLanguage::En,
            &json!({ "public_url": "x" }),
        );
        assert!(err.is_err());
    }
}
