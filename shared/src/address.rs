//! Which peer addresses may be reached (both planes: the data plane's fetches, the control
//! plane's probes and confirmations). Endpoints are published on chain by anyone who
//! runs a bucket, so a node fetching from them would otherwise reach whatever an endpoint's
//! name resolves to: the operator's loopback services, the private network, the cloud's
//! metadata address (issue 14, defect 11). Unless the operator allows private peers (a test
//! network on one machine or a LAN), only globally routable unicast addresses are used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether `addr` may be connected to.
pub fn allowed(addr: &SocketAddr, allow_private: bool) -> bool {
    allow_private || is_public(addr.ip())
}

/// A globally routable unicast address: not loopback, private (RFC 1918, ULA), link-local
/// (the 169.254.169.254 metadata service included), CGNAT, multicast, broadcast, documentation,
/// benchmarking, reserved or unspecified; IPv4-mapped IPv6 judged as its IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)) // NAT64 hides an IPv4 inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused_unless_allowed() {
        for refused in [
            "127.0.0.1:80",
            "10.1.2.3:80",
            "172.16.0.1:80",
            "192.168.1.1:80",
            "169.254.169.254:80",
            "100.64.0.1:80",
            "0.0.0.0:80",
            "224.0.0.1:80",
            "255.255.255.255:80",
            "[::1]:80",
            "[fd00::1]:80",
            "[fe80::1]:80",
            "[::ffff:127.0.0.1]:80",
            "[::ffff:10.0.0.1]:80",
            "[64:ff9b::a00:1]:80",
        ] {
            let addr: SocketAddr = refused.parse().unwrap();
            assert!(!allowed(&addr, false), "{refused}");
            assert!(allowed(&addr, true), "{refused}");
        }
        for public in [
            "1.1.1.1:443",
            "[2606:4700:4700::1111]:443",
            "100.128.0.1:80",
        ] {
            assert!(allowed(&public.parse().unwrap(), false), "{public}");
        }
    }
}
