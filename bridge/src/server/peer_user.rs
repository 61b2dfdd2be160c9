//! Who is on the other end of a loopback connection: only processes of the OS user who
//! runs the bridge may talk to it.
//!
//! The pane channel cannot carry a secret (a pane is a page the bridge serves to anyone
//! who can reach the port), so without this check another local user on a shared machine
//! could register as any document, receive the agent's writes into it and answer its
//! approvals (docs/security.md). On loopback the kernel knows both ends of every TCP
//! connection and which user opened each socket, so the bridge asks it before the TLS
//! handshake and drops a connection from anyone else. This applies to every route: the
//! token already keeps other users out of the APIs, and refusing them at accept time
//! also spares the bridge their handshakes.
//!
//! Linux reads the socket table in `/proc/net/tcp` and `/proc/net/tcp6`. Other systems do
//! not have that table; there the check is not made (`PeerCheck::Unsupported`) and the
//! limit is documented.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The answer for one accepted connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerCheck {
    /// The connecting socket belongs to the bridge's own user.
    SameUser,
    /// It belongs to another user (their uid), or to no live socket the kernel lists.
    Refused(Option<u32>),
    /// This system has no socket table the bridge can read.
    Unsupported,
}

/// The bridge's own user, read once at bind.
#[derive(Clone, Copy, Debug)]
pub struct OwnUser {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    uid: Option<u32>,
}

impl OwnUser {
    pub fn current() -> Self {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            // /proc/self is owned by the process's effective user: no libc call needed.
            let uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
            Self { uid }
        }
        #[cfg(not(target_os = "linux"))]
        {
            Self { uid: None }
        }
    }

    /// Checks the connection accepted from `peer` on our `local` address.
    pub fn check(&self, peer: SocketAddr, local: SocketAddr) -> PeerCheck {
        #[cfg(target_os = "linux")]
        {
            let Some(own) = self.uid else {
                return PeerCheck::Unsupported;
            };
            let table = if peer.is_ipv4() {
                "/proc/net/tcp"
            } else {
                "/proc/net/tcp6"
            };
            match std::fs::read_to_string(table) {
                Ok(text) => match socket_owner(&text, peer, local) {
                    Some(uid) if uid == own => PeerCheck::SameUser,
                    other => PeerCheck::Refused(other),
                },
                // No procfs (a locked-down container): fail closed, the log says why.
                Err(e) => {
                    tracing::warn!("cannot read {table} to check a connection's user: {e}");
                    PeerCheck::Refused(None)
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (peer, local);
            PeerCheck::Unsupported
        }
    }
}

/// The uid of the socket whose local end is `peer` and remote end is `local` (the
/// client's side of our accepted connection), from a `/proc/net/tcp`-format table.
pub fn socket_owner(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
        let mut fields = line.split_whitespace();
        let _slot = fields.next()?;
        let their_end = parse_endpoint(fields.next()?)?;
        let our_end = parse_endpoint(fields.next()?)?;
        let uid = fields.nth(4)?.parse().ok()?;
        (same_endpoint(their_end, peer) && same_endpoint(our_end, local)).then_some(uid)
    })
}

/// Compares allowing for an IPv4 client seen through an IPv6 socket as `::ffff:a.b.c.d`.
fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    let canonical = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && canonical(a.ip()) == canonical(b.ip())
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6). The kernel prints each
/// 32-bit word of the address as a native-endian integer, hence `to_ne_bytes`.
fn parse_endpoint(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(addr.get(i * 8..i * 8 + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native_hex(ip: Ipv4Addr) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip.octets()))
    }

    fn table(rows: &[(&str, &str, u32)]) -> String {
        let mut t = String::from(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
        );
        for (i, (local, remote, uid)) in rows.iter().enumerate() {
            t.push_str(&format!(
                "   {i}: {local} {remote} 01 00000000:00000000 00:00000000 00000000  {uid}        0 {} 1 0000000000000000 20 4 30 10 -1\n",
                1000 + i
            ));
        }
        t
    }

    #[test]
    fn finds_the_client_socket_of_a_loopback_connection() {
        let lo = native_hex(Ipv4Addr::LOCALHOST);
        let bridge: SocketAddr = "127.0.0.1:29443".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        let text = table(&[
            // The listener, the bridge's end of this connection, another client, ours.
            (&format!("{lo}:7303"), "00000000:0000", 1000),
            (&format!("{lo}:7303"), &format!("{lo}:9C41"), 1000),
            (&format!("{lo}:9C42"), &format!("{lo}:7303"), 1001),
            (&format!("{lo}:9C41"), &format!("{lo}:7303"), 1002),
        ]);
        assert_eq!(socket_owner(&text, client, bridge), Some(1002));
        let other: SocketAddr = "127.0.0.1:40002".parse().unwrap();
        assert_eq!(socket_owner(&text, other, bridge), Some(1001));
        let unknown: SocketAddr = "127.0.0.1:40003".parse().unwrap();
        assert_eq!(socket_owner(&text, unknown, bridge), None);
        // The same client port towards another server is not our connection.
        let elsewhere: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(socket_owner(&text, client, elsewhere), None);
    }

    #[test]
    fn reads_ipv6_and_mapped_ipv4_endpoints() {
        let v6 = |ip: Ipv6Addr, port: u16| {
            let words: String = ip
                .octets()
                .chunks_exact(4)
                .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            format!("{words}:{port:04X}")
        };
        let bridge: SocketAddr = "[::1]:29443".parse().unwrap();
        let client: SocketAddr = "[::1]:50000".parse().unwrap();
        let text = table(&[(
            &v6(Ipv6Addr::LOCALHOST, 50000),
            &v6(Ipv6Addr::LOCALHOST, 29443),
            501,
        )]);
        assert_eq!(socket_owner(&text, client, bridge), Some(501));

        let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
        let text = table(&[(&v6(mapped, 50000), &v6(mapped, 29443), 502)]);
        let v4_client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let v4_bridge: SocketAddr = "127.0.0.1:29443".parse().unwrap();
        assert_eq!(socket_owner(&text, v4_client, v4_bridge), Some(502));
    }

    #[test]
    fn malformed_rows_are_skipped_not_trusted() {
        let bridge: SocketAddr = "127.0.0.1:29443".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        for text in [
            "",
            "header only\n",
            "header\n 0: 0100007F:9C41\n",
            "header\n 0: 0100007F:9C41 0100007F:7303 01 0:0 0:0 0 notanumber\n",
            "header\n 0: 7F:9C41 0100007F:7303 01 0:0 0:0 0 1000\n",
            "header\n 0: 0100007F:ZZZZ 0100007F:7303 01 0:0 0:0 0 1000\n",
        ] {
            assert_eq!(socket_owner(text, client, bridge), None, "{text:?}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_real_loopback_connection_of_this_process_is_the_same_user() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server_side, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let own = OwnUser::current();
        assert_eq!(
            own.check(peer, listener.local_addr().unwrap()),
            PeerCheck::SameUser
        );
        // A port nobody uses is not vouched for.
        let nobody: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(matches!(
            own.check(nobody, listener.local_addr().unwrap()),
            PeerCheck::Refused(_)
        ));
    }
}
