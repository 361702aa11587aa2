//! Network addresses as BPF events carry them, and their text as the
//! libbpf-tools network tools print it (`inet_ntop(3)`).
//!
//! Convention for event structs: an address is a `__u8[16]` in network byte
//! order, an IPv4 address in its first 4 bytes, next to the address family
//! (`AF_INET`/`AF_INET6`) it belongs to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// The address held in `raw` for address family `af`; `None` for a family
/// that is neither IPv4 nor IPv6 (a broken event).
pub fn ip_from_raw(af: u16, raw: &[u8; 16]) -> Option<IpAddr> {
    match af {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(*raw))),
        _ => None,
    }
}

/// The inverse of [`ip_from_raw`]: (family, 16 bytes with IPv4 in the
/// first 4), as BPF programs compare addresses.
pub fn ip_to_raw(addr: &IpAddr) -> (u16, [u8; 16]) {
    let mut raw = [0u8; 16];
    match addr {
        IpAddr::V4(a) => {
            raw[..4].copy_from_slice(&a.octets());
            (AF_INET, raw)
        }
        IpAddr::V6(a) => (AF_INET6, a.octets()),
    }
}

/// The libbpf-tools `IP` column: 4 or 6.
pub fn ip_version(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 6,
    }
}

/// An address as glibc's `inet_ntop` writes it: `127.0.0.1`, `::1`,
/// `fe80::1`, `::ffff:10.0.0.1`, and the deprecated IPv4-compatible
/// `::10.0.0.1` (where Rust's `Display` would write `::a00:1`).
pub fn ntop(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let s = a.segments();
            if s[..6].iter().all(|&w| w == 0) && s[6] != 0 {
                let [_, _, _, _, _, _, _, _, _, _, _, _, b0, b1, b2, b3] = a.octets();
                format!("::{}", Ipv4Addr::new(b0, b1, b2, b3))
            } else {
                a.to_string()
            }
        }
    }
}

/// The name of TCP state `state` as libbpf-tools prints it (`ESTABLISHED`,
/// `SYN_SENT`, … as in the kernel's `TCP_*` enum), `UNKNOWN` otherwise.
pub fn tcp_state_name(state: i32) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_addresses_round_trip() {
        for a in ["127.0.0.1", "::1", "10.0.0.2", "fe80::1"] {
            let ip: IpAddr = a.parse().unwrap();
            let (family, raw) = ip_to_raw(&ip);
            assert_eq!(ip_from_raw(family, &raw), Some(ip));
        }
        let (f, raw) = ip_to_raw(&"127.0.0.1".parse().unwrap());
        assert_eq!((f, &raw[..5]), (AF_INET, &[127, 0, 0, 1, 0][..]));
    }

    fn raw(prefix: &[u8]) -> [u8; 16] {
        let mut r = [0u8; 16];
        r[..prefix.len()].copy_from_slice(prefix);
        r
    }

    #[test]
    fn ipv4_from_the_first_four_bytes() {
        let a = ip_from_raw(AF_INET, &raw(&[127, 0, 0, 1, 9, 9])).unwrap();
        assert_eq!(ntop(&a), "127.0.0.1");
        assert_eq!(ip_version(&a), 4);
        let a = ip_from_raw(AF_INET, &raw(&[192, 168, 88, 15])).unwrap();
        assert_eq!(ntop(&a), "192.168.88.15");
    }

    #[test]
    fn ipv6_like_inet_ntop() {
        let any = ip_from_raw(AF_INET6, &[0u8; 16]).unwrap();
        assert_eq!(ntop(&any), "::");
        let mut one = [0u8; 16];
        one[15] = 1;
        let a = ip_from_raw(AF_INET6, &one).unwrap();
        assert_eq!(ntop(&a), "::1");
        assert_eq!(ip_version(&a), 6);
        let a = ip_from_raw(
            AF_INET6,
            &raw(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        )
        .unwrap();
        assert_eq!(ntop(&a), "fe80::1");
        let mapped = raw(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
        assert_eq!(
            ntop(&ip_from_raw(AF_INET6, &mapped).unwrap()),
            "::ffff:10.0.0.1"
        );
        let compat = raw(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!(ntop(&ip_from_raw(AF_INET6, &compat).unwrap()), "::10.0.0.1");
        let two = raw(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(ntop(&ip_from_raw(AF_INET6, &two).unwrap()), "::2");
        let doc = raw(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            ntop(&ip_from_raw(AF_INET6, &doc).unwrap()),
            "2001:db8::1:0:0:1"
        );
    }

    #[test]
    fn other_families_are_rejected() {
        assert_eq!(ip_from_raw(0, &[0; 16]), None);
        assert_eq!(ip_from_raw(1, &[0; 16]), None);
    }

    #[test]
    fn tcp_states_by_kernel_number() {
        assert_eq!(tcp_state_name(1), "ESTABLISHED");
        assert_eq!(tcp_state_name(2), "SYN_SENT");
        assert_eq!(tcp_state_name(7), "CLOSE");
        assert_eq!(tcp_state_name(10), "LISTEN");
        assert_eq!(tcp_state_name(12), "NEW_SYN_RECV");
        assert_eq!(tcp_state_name(0), "UNKNOWN");
        assert_eq!(tcp_state_name(13), "UNKNOWN");
        assert_eq!(tcp_state_name(-1), "UNKNOWN");
    }
}
