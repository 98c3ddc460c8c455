//! The case timeline is append-only and hash-chained: each event stores
//! SHA-256(previous hash ‖ canonical content), so rewriting any event breaks every link
//! after it. The canonical content is a JSON array (fixed order, no key sorting needed).
use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of a case's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContent<'a> {
    pub complaint_id: Uuid,
    pub seq: i32,
    pub actor_id: Option<Uuid>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: Option<&'a str>,
    /// The payload exactly as stored.
    pub payload: &'a str,
    pub created_at: DateTime<Utc>,
}

pub fn canonical(c: &EventContent<'_>) -> String {
    serde_json::json!([
        c.complaint_id,
        c.seq,
        c.actor_id,
        c.actor_role,
        c.action,
        c.from_state,
        c.to_state,
        c.payload,
        c.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    ])
    .to_string()
}

/// Hex SHA-256 over the previous hash, a newline, and the canonical content.
pub fn hash(prev_hash: &str, c: &EventContent<'_>) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical(c).as_bytes());
    hex::encode(h.finalize())
}

/// One stored event, as read back for verification.
pub struct StoredLink<'a> {
    pub content: EventContent<'a>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i32,
    pub reason: &'static str,
}

/// Where the timeline should end, as recorded apart from the events (on the case row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a> {
    /// How many events there should be.
    pub len: i32,
    /// The hash of the last one ([`GENESIS`] for none).
    pub hash: &'a str,
}

/// Checks sequence numbers, the links between events, each event's own hash, and that
/// the chain ends at `head`: without that last check, removing events from the end
/// (or all of them), or rewriting the last event with a fresh hash, would leave a
/// chain that verifies. Returns the first broken event, if any.
pub fn verify<'a>(
    links: impl IntoIterator<Item = StoredLink<'a>>,
    head: Head<'_>,
) -> Result<usize, BrokenLink> {
    let mut expected_prev = GENESIS.to_owned();
    let mut count = 0;
    for (i, link) in links.into_iter().enumerate() {
        let seq = link.content.seq;
        if seq != i as i32 + 1 {
            return Err(BrokenLink {
                seq,
                reason: "sequence number out of order (an event was removed or inserted)",
            });
        }
        if link.prev_hash != expected_prev {
            return Err(BrokenLink {
                seq,
                reason: "does not link to the previous event",
            });
        }
        let actual = hash(link.prev_hash, &link.content);
        if actual != link.hash {
            return Err(BrokenLink {
                seq,
                reason: "content does not match its hash (the event was altered)",
            });
        }
        expected_prev = actual;
        count += 1;
    }
    let len = count as i32;
    if len < head.len {
        return Err(BrokenLink {
            seq: len + 1,
            reason: "the timeline ends before its recorded head (events were removed from the end)",
        });
    }
    if len > head.len {
        return Err(BrokenLink {
            seq: head.len + 1,
            reason: "the timeline goes on past its recorded head (events were added after it)",
        });
    }
    if expected_prev != head.hash {
        return Err(BrokenLink {
            seq: len,
            reason: "the last event is not the recorded head (it was rewritten)",
        });
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    struct Owned {
        payload: String,
        action: String,
        seq: i32,
        prev: String,
        hash: String,
    }

    fn content(o: &Owned) -> EventContent<'_> {
        EventContent {
            complaint_id: Uuid::nil(),
            seq: o.seq,
            actor_id: None,
            actor_role: "learner",
            action: &o.action,
            from_state: None,
            to_state: Some("awaiting_response"),
            payload: &o.payload,
            created_at: Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap(),
        }
    }

    fn chain(n: i32) -> Vec<Owned> {
        let mut prev = GENESIS.to_owned();
        let mut out = vec![];
        for seq in 1..=n {
            let mut o = Owned {
                payload: format!("{{\"n\":{seq}}}"),
                action: "message".into(),
                seq,
                prev: prev.clone(),
                hash: String::new(),
            };
            o.hash = hash(&prev, &content(&o));
            prev = o.hash.clone();
            out.push(o);
        }
        out
    }

    /// Verifies against the head the chain had when it was built.
    fn check_against(events: &[Owned], head: Head<'_>) -> Result<usize, BrokenLink> {
        verify(
            events.iter().map(|o| StoredLink {
                content: content(o),
                prev_hash: &o.prev,
                hash: &o.hash,
            }),
            head,
        )
    }

    fn head_of(events: &[Owned]) -> Head<'_> {
        Head {
            len: events.len() as i32,
            hash: events.last().map_or(GENESIS, |o| &o.hash),
        }
    }

    fn check(events: &[Owned]) -> Result<usize, BrokenLink> {
        check_against(events, head_of(events))
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(check(&chain(5)), Ok(5));
        assert_eq!(check(&[]), Ok(0));
    }

    #[test]
    fn a_cut_tail_is_detected() {
        let full = chain(4);
        let head = head_of(&full);
        for keep in 0..4 {
            let err = check_against(&full[..keep], head).unwrap_err();
            assert_eq!(err.seq, keep as i32 + 1, "kept {keep}");
            assert!(err.reason.contains("removed from the end"), "{err:?}");
        }
    }

    #[test]
    fn events_past_the_head_are_detected() {
        let full = chain(4);
        let head = head_of(&full[..3]);
        let err = check_against(&full, head).unwrap_err();
        assert_eq!(err.seq, 4);
        assert!(err.reason.contains("past its recorded head"), "{err:?}");
    }

    #[test]
    fn a_rehashed_head_event_is_detected() {
        let mut c = chain(4);
        let head_hash = c[3].hash.clone();
        c[3].payload = "{\"n\":999}".into();
        let prev = c[3].prev.clone();
        c[3].hash = hash(&prev, &content(&c[3]));
        let head = Head {
            len: 4,
            hash: &head_hash,
        };
        let err = check_against(&c, head).unwrap_err();
        assert_eq!(err.seq, 4);
        assert!(err.reason.contains("rewritten"), "{err:?}");
    }

    #[test]
    fn altered_payload_is_named() {
        let mut c = chain(5);
        c[2].payload = "{\"n\":999}".into();
        assert_eq!(check(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn rehashing_one_event_breaks_the_next_link() {
        let mut c = chain(5);
        c[1].action = "respond".into();
        let prev = c[1].prev.clone();
        c[1].hash = hash(&prev, &content(&c[1]));
        let err = check(&c).unwrap_err();
        assert_eq!(err.seq, 3);
        assert_eq!(err.reason, "does not link to the previous event");
    }

    #[test]
    fn removed_event_is_detected() {
        let mut c = chain(4);
        c.remove(1);
        assert_eq!(check(&c).unwrap_err().seq, 3);
    }

    #[test]
    fn canonical_form_is_stable() {
        let o = &chain(1)[0];
        assert_eq!(
            canonical(&content(o)),
            r#"["00000000-0000-0000-0000-000000000000",1,null,"learner","message",null,"awaiting_response","{\"n\":1}","2026-03-02T02:00:00.000000Z"]"#
        );
    }
}
