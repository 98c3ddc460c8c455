//! Which emails exist, which case events send one to the learner, and in which
//! language. Pure: the outbox (`service::email`) and the sender use these.
//!
//! A learner is emailed when their case needs them or moves: filed (with the
//! reference), information requested, institution responded, escalated (by the learner,
//! a dispute, or a missed deadline), offer received from the institution's side,
//! settled, closed (any other terminal outcome) and the institution's deadline missed.
//! Everything else on the timeline (messages, attachments, the learner's own offers,
//! assignment, ratings, warnings) sends nothing.
use std::fmt;

use super::{mediation::Side, webhook_event::EventType};

/// A kind of email; each has a template per language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailKind {
    /// The case was filed: its reference, and that the institution has been told.
    CaseFiled,
    /// The institution asked the learner for information.
    InfoRequested,
    /// The institution answered.
    Responded,
    /// The case went to mediation at the learner's request (escalation or dispute).
    Escalated,
    /// The institution missed its deadline; the case went to mediation.
    DeadlineMissed,
    /// The institution (or the mediator for it) made an offer in mediation.
    OfferReceived,
    /// An offer was accepted: the case is settled.
    Settled,
    /// The case closed: resolved, unresolved, rejected or withdrawn.
    Closed,
    /// A link that proves the address is the account's (web sign-up).
    VerifyEmail,
    /// Someone tried to sign up with an address that already has an account.
    AccountExists,
}

impl EmailKind {
    pub const ALL: &'static [EmailKind] = &[
        Self::CaseFiled,
        Self::InfoRequested,
        Self::Responded,
        Self::Escalated,
        Self::DeadlineMissed,
        Self::OfferReceived,
        Self::Settled,
        Self::Closed,
        Self::VerifyEmail,
        Self::AccountExists,
    ];

    /// The name stored in the outbox; also the template's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaseFiled => "case_filed",
            Self::InfoRequested => "info_requested",
            Self::Responded => "case_responded",
            Self::Escalated => "case_escalated",
            Self::DeadlineMissed => "deadline_missed",
            Self::OfferReceived => "offer_received",
            Self::Settled => "case_settled",
            Self::Closed => "case_closed",
            Self::VerifyEmail => "verify_email",
            Self::AccountExists => "account_exists",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// The template values a mail of this kind must be given (beyond `public_url`,
    /// which the sender adds). Case mails: `reference`, `case_id`, `institution`;
    /// a closed case also its final `state`.
    pub fn required_vars(self) -> &'static [&'static str] {
        match self {
            Self::Closed => &["reference", "case_id", "institution", "state"],
            Self::VerifyEmail => &["verify_path"],
            Self::AccountExists => &["sign_in_path"],
            _ => &["reference", "case_id", "institution"],
        }
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mail the learner gets for a case event, if any. `offer_side` is the side an
/// offer was made for (events other than offers ignore it).
pub fn learner_mail_for(event: EventType, offer_side: Option<Side>) -> Option<EmailKind> {
    use EventType::*;
    Some(match event {
        ComplaintFiled => EmailKind::CaseFiled,
        ComplaintInfoRequested => EmailKind::InfoRequested,
        ComplaintResponded => EmailKind::Responded,
        ComplaintEscalated | ComplaintDisputed => EmailKind::Escalated,
        SlaBreached => EmailKind::DeadlineMissed,
        ComplaintOfferMade if offer_side == Some(Side::Institution) => EmailKind::OfferReceived,
        ComplaintSettled => EmailKind::Settled,
        ComplaintResolved | ComplaintUnresolved | ComplaintRejected | ComplaintWithdrawn => {
            EmailKind::Closed
        }
        ComplaintOfferMade
        | ComplaintIntakeAccepted
        | ComplaintInfoProvided
        | ComplaintInfoRequestExpired
        | ComplaintAssigned
        | ComplaintOfferDeclined
        | ComplaintMessagePosted
        | ComplaintAttachmentAdded
        | ComplaintRated
        | ComplaintUpdated
        | SlaWarning
        | SlaAssignmentOverdue
        | Ping => return None,
    })
}

/// The languages mails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MailLanguage {
    #[default]
    ZhCn,
    En,
}

impl MailLanguage {
    pub const ALL: [MailLanguage; 2] = [Self::ZhCn, Self::En];

    /// The BCP 47 tag stored in `accounts.language` and the outbox.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    /// An account's stored language: English for `en`/`en-…`, otherwise (unset, or
    /// anything else) zh-CN.
    pub fn from_tag(tag: Option<&str>) -> Self {
        let t = tag.unwrap_or_default().trim().to_ascii_lowercase();
        if t == "en" || t.starts_with("en-") || t.starts_with("en_") {
            Self::En
        } else {
            Self::ZhCn
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learners_hear_of_the_moves_that_concern_them() {
        use EventType::*;
        let cases = [
            (ComplaintFiled, Some(EmailKind::CaseFiled)),
            (ComplaintInfoRequested, Some(EmailKind::InfoRequested)),
            (ComplaintResponded, Some(EmailKind::Responded)),
            (ComplaintEscalated, Some(EmailKind::Escalated)),
            (ComplaintDisputed, Some(EmailKind::Escalated)),
            (SlaBreached, Some(EmailKind::DeadlineMissed)),
            (ComplaintSettled, Some(EmailKind::Settled)),
            (ComplaintResolved, Some(EmailKind::Closed)),
            (ComplaintUnresolved, Some(EmailKind::Closed)),
            (ComplaintRejected, Some(EmailKind::Closed)),
            (ComplaintWithdrawn, Some(EmailKind::Closed)),
            (ComplaintMessagePosted, None),
            (ComplaintAttachmentAdded, None),
            (ComplaintAssigned, None),
            (ComplaintRated, None),
            (SlaWarning, None),
            (Ping, None),
        ];
        for (event, want) in cases {
            assert_eq!(learner_mail_for(event, None), want, "{event}");
        }
    }

    #[test]
    fn only_the_other_sides_offer_is_news() {
        assert_eq!(
            learner_mail_for(EventType::ComplaintOfferMade, Some(Side::Institution)),
            Some(EmailKind::OfferReceived)
        );
        assert_eq!(
            learner_mail_for(EventType::ComplaintOfferMade, Some(Side::Learner)),
            None
        );
        assert_eq!(learner_mail_for(EventType::ComplaintOfferMade, None), None);
    }

    #[test]
    fn every_timeline_action_maps_without_surprise() {
        // The mapping is decided on the webhook event type of each timeline entry; a
        // missed deadline is the breach, not a second "escalated" mail.
        let breach = EventType::of_timeline(
            "timeout",
            Some("awaiting_response"),
            Some("awaiting_mediation"),
        );
        assert_eq!(
            learner_mail_for(breach, None),
            Some(EmailKind::DeadlineMissed)
        );
        let lapse = EventType::of_timeline("timeout", Some("responded"), Some("resolved"));
        assert_eq!(learner_mail_for(lapse, None), Some(EmailKind::Closed));
        let info_lapse =
            EventType::of_timeline("timeout", Some("info_requested"), Some("awaiting_response"));
        assert_eq!(learner_mail_for(info_lapse, None), None);
    }

    #[test]
    fn kinds_round_trip_and_need_their_values() {
        for k in EmailKind::ALL {
            assert_eq!(EmailKind::parse(k.as_str()), Some(*k));
            assert!(!k.required_vars().is_empty());
        }
        assert_eq!(EmailKind::parse("nope"), None);
    }

    #[test]
    fn language_defaults_to_chinese() {
        assert_eq!(MailLanguage::from_tag(None), MailLanguage::ZhCn);
        assert_eq!(MailLanguage::from_tag(Some("en")), MailLanguage::En);
        assert_eq!(MailLanguage::from_tag(Some("en-GB")), MailLanguage::En);
        assert_eq!(MailLanguage::from_tag(Some("zh-CN")), MailLanguage::ZhCn);
        assert_eq!(MailLanguage::from_tag(Some("fr")), MailLanguage::ZhCn);
        for l in MailLanguage::ALL {
            assert_eq!(MailLanguage::from_tag(Some(l.tag())), l);
        }
    }
}
