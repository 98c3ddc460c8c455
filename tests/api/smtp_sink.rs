//! A local SMTP sink for the email tests: an async server on 127.0.0.1, port 0, that
//! speaks enough SMTP for lettre (greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
//! QUIT; no TLS, no AUTH) and keeps every message it accepted. It can be told to defer
//! (451) or refuse (550) mail; then it keeps nothing.
//!
//! Also a small reader for the messages redress writes (headers, RFC 2047 subjects,
//! multipart/alternative with base64 parts), for the sink and the mail folder alike.
use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkMode {
    Accept,
    /// 451 to `MAIL FROM`: try again later.
    Defer,
    /// 550 to `RCPT TO`: never.
    Refuse,
}

#[derive(Debug, Clone)]
pub struct Delivered {
    pub rcpt: Vec<String>,
    pub mail: Mail,
}

struct SinkState {
    mode: Mutex<SinkMode>,
    delivered: Mutex<Vec<Delivered>>,
    delay: Mutex<Option<std::time::Duration>>,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    state: Arc<SinkState>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(SinkState {
            mode: Mutex::new(SinkMode::Accept),
            delivered: Mutex::new(vec![]),
            delay: Mutex::new(None),
        });
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, s.clone()));
            }
        });
        Self { port, state }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: SinkMode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Waits this long before accepting each message (so that senders overlap).
    pub fn set_delay(&self, d: std::time::Duration) {
        *self.state.delay.lock().unwrap() = Some(d);
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.state.delivered.lock().unwrap().clone()
    }
}

async fn session(stream: TcpStream, state: Arc<SinkState>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if !say(&mut write, "220 sink.test ESMTP ready\r\n").await {
        return;
    }
    let mut rcpt = vec![];
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let mode = *state.mode.lock().unwrap();
        let reply = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250 8BITMIME\r\n".to_owned()
        } else if upper.starts_with("HELO") {
            "250 sink.test\r\n".to_owned()
        } else if upper.starts_with("MAIL FROM") {
            rcpt.clear();
            if mode == SinkMode::Defer {
                "451 4.3.0 try again later\r\n".to_owned()
            } else {
                "250 2.1.0 ok\r\n".to_owned()
            }
        } else if let Some(to) = upper.strip_prefix("RCPT TO:") {
            if mode == SinkMode::Refuse {
                "550 5.1.1 no such user here\r\n".to_owned()
            } else {
                debug_assert!(!to.is_empty());
                let original = line.trim_end()["RCPT TO:".len()..].trim();
                rcpt.push(original.trim_matches(['<', '>']).to_owned());
                "250 2.1.5 ok\r\n".to_owned()
            }
        } else if upper == "DATA" {
            if !say(&mut write, "354 end with <CRLF>.<CRLF>\r\n").await {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').filter(|_| line.starts_with(".."));
                data.push_str(unstuffed.unwrap_or(&line));
            }
            let delay = *state.delay.lock().unwrap();
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            state.delivered.lock().unwrap().push(Delivered {
                rcpt: std::mem::take(&mut rcpt),
                mail: Mail::parse(&data),
            });
            "250 2.0.0 queued\r\n".to_owned()
        } else if upper == "RSET" || upper == "NOOP" {
            "250 ok\r\n".to_owned()
        } else if upper == "QUIT" {
            let _ = say(&mut write, "221 bye\r\n").await;
            return;
        } else {
            "502 command not implemented\r\n".to_owned()
        };
        if !say(&mut write, &reply).await {
            return;
        }
    }
}

async fn say(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    w.write_all(text.as_bytes()).await.is_ok()
}

/// A message as redress writes it, read back.
#[derive(Debug, Clone)]
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let headers = parse_headers(head);
        let find = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let subject = decode_words(&find("Subject"));
        let content_type = find("Content-Type");
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .map(|b| {
                b.trim_matches('"')
                    .split('"')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .expect("a multipart message");
        let (mut text, mut html) = (String::new(), String::new());
        for part in body.split(&format!("--{boundary}")).skip(1) {
            let Some((ph, pb)) = part.trim_start_matches('\n').split_once("\n\n") else {
                continue;
            };
            let ph = parse_headers(ph);
            let ct = ph
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("Content-Type"))
                .map(|(_, v)| v.to_ascii_lowercase())
                .unwrap_or_default();
            let b64: String = pb.chars().filter(|c| !c.is_whitespace()).collect();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim_end_matches("--"))
                .expect("base64 part");
            let decoded = String::from_utf8(decoded).expect("utf-8 part");
            if ct.starts_with("text/plain") {
                text = decoded;
            } else if ct.starts_with("text/html") {
                html = decoded;
            }
        }
        Self {
            headers,
            subject,
            text,
            html,
            raw,
        }
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// Decodes RFC 2047 `=?utf-8?b?…?=` words; the space between two encoded words is
/// dropped, other words are kept as they are.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut prev_encoded = false;
    for (i, word) in value.split_whitespace().enumerate() {
        let encoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .map(|inner| {
                let mut bits = inner.splitn(3, '?');
                let (_charset, enc, text) = (bits.next(), bits.next(), bits.next().unwrap_or(""));
                assert_eq!(enc.map(|e| e.to_ascii_lowercase()).as_deref(), Some("b"));
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .expect("base64 word");
                String::from_utf8(bytes).expect("utf-8 word")
            });
        if i > 0 && !(prev_encoded && encoded.is_some()) {
            out.push(' ');
        }
        prev_encoded = encoded.is_some();
        out.push_str(encoded.as_deref().unwrap_or(word));
    }
    out
}
