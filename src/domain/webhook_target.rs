//! Where webhooks may be sent: an https URL whose host is a public address.
//!
//! A webhook makes the server send requests to a URL a user chose, so an address on
//! the server's own network (loopback, private ranges, link-local, the cloud metadata
//! service) would let a user probe or reach what only the server can (server-side
//! request forgery). [`classify`] names the kind of an address; only
//! [`AddressClass::Public`] is a fit target. Deployments that send to their own network
//! on purpose (tests, local demos) switch the check off by a setting.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The kind of an IP address, as far as sending webhooks is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// Cloud instance metadata services: 169.254.169.254, 169.254.170.2, 100.100.100.200,
    /// fd00:ec2::254.
    Metadata,
    /// 0.0.0.0/8, ::, 255.255.255.255, multicast, documentation, benchmarking and
    /// reserved ranges: nothing a receiver can legitimately live on.
    NotRoutable,
}

impl AddressClass {
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Metadata => "cloud metadata",
            AddressClass::NotRoutable => "non-routable",
        }
    }
}

/// Names the kind of an address. IPv6 forms that carry an IPv4 address (mapped,
/// compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    let [a, b, c, d] = ip.octets();
    match (a, b, c, d) {
        (169, 254, 169, 254) | (169, 254, 170, 2) | (100, 100, 100, 200) => Metadata,
        (127, ..) => Loopback,
        (10, ..) | (192, 168, ..) => Private,
        (172, 16..=31, ..) => Private,
        (100, 64..=127, ..) => Private,
        (169, 254, ..) => LinkLocal,
        (0, ..) => NotRoutable,
        // IETF protocol assignments, documentation (TEST-NET-1/2/3), benchmarking.
        (192, 0, 0, _) | (192, 0, 2, _) | (198, 51, 100, _) | (203, 0, 113, _) => NotRoutable,
        (198, 18..=19, ..) => NotRoutable,
        // Multicast, reserved, broadcast.
        (224..=255, ..) => NotRoutable,
        _ => Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    let seg = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    if ip.is_loopback() {
        return Loopback;
    }
    if ip.is_unspecified() {
        return NotRoutable;
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Metadata;
    }
    match seg[0] {
        s if s & 0xfe00 == 0xfc00 => Private,
        s if s & 0xffc0 == 0xfe80 => LinkLocal,
        // Deprecated site-local.
        s if s & 0xffc0 == 0xfec0 => Private,
        s if s & 0xff00 == 0xff00 => NotRoutable,
        // Documentation.
        0x2001 if seg[1] == 0x0db8 => NotRoutable,
        // Discard-only.
        0x0100 if seg[1..4] == [0, 0, 0] => NotRoutable,
        _ => Public,
    }
}

/// The IPv4 address carried inside an IPv6 one, for the forms that carry one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match seg {
        // ::ffff:a.b.c.d (mapped)
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        // ::a.b.c.d (deprecated compatible form; not :: or ::1)
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(low(hi, lo)),
        // 64:ff9b::a.b.c.d (NAT64)
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        // 2002:AABB:CCDD::/48 (6to4)
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// Why a URL cannot be a webhook target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("must be a URL like https://example.com/hooks")]
    NotAUrl,
    #[error("must use https")]
    NotHttps,
    #[error("must not contain a user name or password")]
    HasCredentials,
    #[error("must not contain a #fragment")]
    HasFragment,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("points at a {class} address ({ip}), which webhooks may not reach", class = .0.as_str(), ip = .1)]
    ForbiddenAddress(AddressClass, IpAddr),
    #[error("host {0} may not receive webhooks")]
    ForbiddenHost(String),
}

/// Longest accepted URL.
pub const MAX_URL_LEN: usize = 2000;

/// Checks the form of a target URL: https (or http when `allow_private`, for local
/// receivers), no credentials, no fragment, and, for a literal IP host or a `localhost`
/// name, a public address unless `allow_private`. Host names are resolved and checked
/// separately, at subscription and again at each connection.
pub fn parse_target(input: &str, allow_private: bool) -> Result<Url, TargetError> {
    let text = input.trim();
    if text.len() > MAX_URL_LEN {
        return Err(TargetError::TooLong(MAX_URL_LEN));
    }
    let url = Url::parse(text).map_err(|_| TargetError::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(TargetError::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::HasCredentials);
    }
    if url.fragment().is_some() {
        return Err(TargetError::HasFragment);
    }
    if allow_private {
        return match url.host() {
            Some(_) => Ok(url),
            None => Err(TargetError::NotAUrl),
        };
    }
    match url.host() {
        None => Err(TargetError::NotAUrl),
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip)).map(|()| url),
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip)).map(|()| url),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal") {
                return Err(TargetError::ForbiddenHost(name));
            }
            Ok(url)
        }
    }
}

/// `Ok` for a public address.
pub fn check_ip(ip: IpAddr) -> Result<(), TargetError> {
    match classify(ip) {
        AddressClass::Public => Ok(()),
        class => Err(TargetError::ForbiddenAddress(class, ip)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    fn c(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classifies_ipv4() {
        for (ip, want) in [
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("93.184.216.34", Public),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("172.15.0.1", Public),
            ("192.168.1.1", Private),
            ("100.64.0.1", Private),
            ("100.128.0.1", Public),
            ("169.254.1.1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("169.254.170.2", Metadata),
            ("100.100.100.200", Metadata),
            ("0.0.0.0", NotRoutable),
            ("255.255.255.255", NotRoutable),
            ("224.0.0.1", NotRoutable),
            ("240.0.0.1", NotRoutable),
            ("192.0.2.1", NotRoutable),
            ("198.18.0.1", NotRoutable),
        ] {
            assert_eq!(c(ip), want, "{ip}");
        }
    }

    #[test]
    fn classifies_ipv6_and_embedded_ipv4() {
        for (ip, want) in [
            ("2606:4700:4700::1111", Public),
            ("::1", Loopback),
            ("::", NotRoutable),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fe80::1", LinkLocal),
            ("fec0::1", Private),
            ("ff02::1", NotRoutable),
            ("2001:db8::1", NotRoutable),
            ("fd00:ec2::254", Metadata),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("64:ff9b::10.0.0.1", Private),
            ("64:ff9b::8.8.8.8", Public),
            ("2002:7f00:1::", Loopback),
            ("2002:0808:0808::", Public),
        ] {
            assert_eq!(c(ip), want, "{ip}");
        }
    }

    #[test]
    fn target_urls() {
        assert!(parse_target("https://hooks.example.com/in", false).is_ok());
        assert!(parse_target("https://8.8.8.8/in", false).is_ok());
        for (bad, want) in [
            ("http://hooks.example.com/in", TargetError::NotHttps),
            ("ftp://hooks.example.com/in", TargetError::NotHttps),
            ("hooks.example.com", TargetError::NotAUrl),
            (
                "https://u:p@hooks.example.com/",
                TargetError::HasCredentials,
            ),
            ("https://hooks.example.com/#x", TargetError::HasFragment),
        ] {
            assert_eq!(parse_target(bad, false).unwrap_err(), want, "{bad}");
        }
        for bad in [
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.5/",
            "https://[::ffff:192.168.0.1]/",
            "https://0.0.0.0/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://metadata.google.internal/",
            "https://2130706433/",
        ] {
            assert!(
                matches!(
                    parse_target(bad, false),
                    Err(TargetError::ForbiddenAddress(..) | TargetError::ForbiddenHost(_))
                ),
                "{bad}"
            );
        }
        assert!(parse_target(&format!("https://x.com/{}", "a".repeat(3000)), false).is_err());
    }

    #[test]
    fn the_setting_allows_local_receivers() {
        assert!(parse_target("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(parse_target("https://localhost/", true).is_ok());
        assert_eq!(
            parse_target("ftp://127.0.0.1/", true).unwrap_err(),
            TargetError::NotHttps
        );
    }
}
