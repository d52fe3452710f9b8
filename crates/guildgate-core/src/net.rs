//! Who is calling: the client address behind trusted proxies, and CIDR allowlists.

use std::net::IpAddr;

use ipnet::IpNet;

/// Proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address: the peer itself unless it is a trusted proxy, in which case the
    /// right-most `X-Forwarded-For` hop that is not itself a trusted proxy. Hops left of that
    /// are whatever the client claimed and are never believed.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let Some(header) = forwarded_for else {
            return client;
        };
        for hop in header.rsplit(',').map(str::trim) {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !self.trusts(client) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

/// An empty allowlist allows every address.
pub fn ip_allowed(allowlist: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    allowlist.is_empty() || allowlist.iter().any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_cannot_spoof() {
        let proxies = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxies_yield_the_rightmost_untrusted_hop() {
        let proxies = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        let xff = Some("6.6.6.6, 198.51.100.7, 10.1.1.1");
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), xff), ip("198.51.100.7"));
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), Some("garbage")),
            ip("10.0.0.1")
        );
        assert_eq!(
            proxies.client_ip(ip("::ffff:10.0.0.1"), Some("192.0.2.1")),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn allowlists() {
        let list: Vec<IpNet> = vec!["192.0.2.0/24".parse().unwrap()];
        assert!(ip_allowed(&list, ip("192.0.2.77")));
        assert!(ip_allowed(&list, ip("::ffff:192.0.2.77")));
        assert!(!ip_allowed(&list, ip("198.51.100.1")));
        assert!(ip_allowed(&[], ip("198.51.100.1")));
    }
}
