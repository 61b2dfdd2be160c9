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
//! Linux asks the kernel for that one socket over netlink (`NETLINK_SOCK_DIAG`, what `ss`
//! uses: an exact lookup), falling back to the socket table in `/proc/net/tcp` and
//! `/proc/net/tcp6`. Other systems have neither; there the check is not made
//! (`PeerCheck::Unsupported`) and the limit is documented.

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

/// The bridge's own user, read once at bind, when this system lets the bridge tell who is
/// connecting.
#[derive(Clone, Copy, Debug)]
pub struct OwnUser {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    uid: Option<u32>,
}

impl OwnUser {
    /// Finds the bridge's user and proves the lookup works here with a loopback
    /// connection of its own on `bind`. When it does not (another system, or a sandbox
    /// that hides both netlink and /proc/net), the check is off rather than refusing
    /// everyone, and the reason comes back for the log.
    pub fn detect(bind: std::net::IpAddr) -> (Self, Result<(), String>) {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            // /proc/self is owned by the process's effective user: no libc call needed.
            let Ok(meta) = std::fs::metadata("/proc/self") else {
                return (Self { uid: None }, Err("/proc/self is not readable".into()));
            };
            let me = Self {
                uid: Some(meta.uid()),
            };
            match me.self_test(bind) {
                Ok(()) => (me, Ok(())),
                Err(e) => (Self { uid: None }, Err(e)),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = bind;
            (
                Self { uid: None },
                Err("not implemented on this system yet".into()),
            )
        }
    }

    /// Whether connections are checked at all.
    pub fn checks(&self) -> bool {
        self.uid.is_some()
    }

    #[cfg(target_os = "linux")]
    fn self_test(&self, bind: std::net::IpAddr) -> Result<(), String> {
        let listener = std::net::TcpListener::bind((bind, 0)).map_err(|e| e.to_string())?;
        let server = listener.local_addr().map_err(|e| e.to_string())?;
        let _client = std::net::TcpStream::connect(server).map_err(|e| e.to_string())?;
        let (_accepted, peer) = listener.accept().map_err(|e| e.to_string())?;
        match self.check(peer, server) {
            PeerCheck::SameUser => Ok(()),
            other => Err(format!(
                "a connection of its own was not recognised ({other:?})"
            )),
        }
    }

    /// Checks the connection accepted from `peer` on our `local` address.
    pub fn check(&self, peer: SocketAddr, local: SocketAddr) -> PeerCheck {
        #[cfg(target_os = "linux")]
        {
            let Some(own) = self.uid else {
                return PeerCheck::Unsupported;
            };
            // The exact lookup first; the table scan when netlink is not allowed (some
            // sandboxes filter it). The scan costs milliseconds with many sockets open.
            match sock_diag::owner(peer, local) {
                Ok(Some(uid)) if uid == own => return PeerCheck::SameUser,
                Ok(other) => return PeerCheck::Refused(other),
                Err(e) => tracing::debug!("sock_diag lookup failed ({e}); scanning the table"),
            }
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

/// One `SOCK_DIAG_BY_FAMILY` request for the exact socket (no dump): the kernel finds it
/// in its connection hash and answers with its owner, or ENOENT.
#[cfg(target_os = "linux")]
mod sock_diag {
    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::time::Duration;

    use rustix::io::Errno;
    use rustix::net::sockopt::{self, Timeout};
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, ipproto};

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLMSG_ERROR: u16 = 2;
    const NLM_F_REQUEST: u16 = 1;
    const HEADER: usize = 16; // struct nlmsghdr
    const REQUEST: usize = 56; // struct inet_diag_req_v2
    const UID_AT: usize = HEADER + 64; // inet_diag_msg: 4 bytes, sockid 48, 3 x u32, uid

    /// The uid owning the socket whose local end is `peer` and remote end is `local`;
    /// `Ok(None)` when the kernel knows no such socket.
    pub fn owner(peer: SocketAddr, local: SocketAddr) -> io::Result<Option<u32>> {
        let family = if peer.is_ipv4() {
            AddressFamily::INET
        } else {
            AddressFamily::INET6
        };
        let mut msg = Vec::with_capacity(HEADER + REQUEST);
        msg.extend_from_slice(&((HEADER + REQUEST) as u32).to_ne_bytes());
        msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        msg.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        msg.push(family.as_raw() as u8);
        msg.push(ipproto::TCP.as_raw().get() as u8);
        msg.push(0); // no extensions
        msg.push(0);
        msg.extend_from_slice(&u32::MAX.to_ne_bytes()); // any state
        // inet_diag_sockid: the client's end is the "source" of the socket we want.
        msg.extend_from_slice(&peer.port().to_be_bytes());
        msg.extend_from_slice(&local.port().to_be_bytes());
        msg.extend_from_slice(&address(peer.ip()));
        msg.extend_from_slice(&address(local.ip()));
        msg.extend_from_slice(&0u32.to_ne_bytes()); // any interface
        msg.extend_from_slice(&[0xff; 8]); // INET_DIAG_NOCOOKIE
        debug_assert_eq!(msg.len(), HEADER + REQUEST);

        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            Some(rustix::net::netlink::SOCK_DIAG),
        )?;
        // Best effort: with it, a reply that never comes holds this thread a second at most.
        let _ = sockopt::set_socket_timeout(&fd, Timeout::Recv, Some(Duration::from_secs(1)));
        rustix::net::send(&fd, &msg, SendFlags::empty())?;
        let mut reply = [0u8; 1024];
        // At most `reply.len()` bytes land in `reply`; a longer datagram is cut, as recv(2).
        let (got, _) = rustix::net::recv(&fd, &mut reply[..], RecvFlags::empty())?;
        parse_reply(&reply[..got])
    }

    fn address(ip: IpAddr) -> [u8; 16] {
        let mut out = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => out.copy_from_slice(&v6.octets()),
        }
        out
    }

    pub(super) fn parse_reply(reply: &[u8]) -> io::Result<Option<u32>> {
        let u16_at = |i: usize| {
            reply
                .get(i..i + 2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        };
        let u32_at = |i: usize| {
            reply
                .get(i..i + 4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        };
        let short = || io::Error::new(io::ErrorKind::InvalidData, "short sock_diag reply");
        match u16_at(4).ok_or_else(short)? {
            NLMSG_ERROR => {
                let errno = u32_at(HEADER).ok_or_else(short)? as i32;
                if -errno == Errno::NOENT.raw_os_error() {
                    Ok(None)
                } else {
                    Err(io::Error::from_raw_os_error(-errno))
                }
            }
            SOCK_DIAG_BY_FAMILY => u32_at(UID_AT).map(Some).ok_or_else(short),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected netlink message type {other}"),
            )),
        }
    }
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
    fn the_kernel_names_the_owner_of_a_real_connection_both_ways() {
        use std::os::unix::fs::MetadataExt;
        let own = std::fs::metadata("/proc/self").unwrap().uid();
        for bind in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(listener) = std::net::TcpListener::bind(bind) else {
                continue; // no IPv6 loopback on this machine
            };
            let server = listener.local_addr().unwrap();
            let _client = std::net::TcpStream::connect(server).unwrap();
            let (_accepted, peer) = listener.accept().unwrap();
            assert_eq!(sock_diag::owner(peer, server).unwrap(), Some(own), "{bind}");
            let table = if peer.is_ipv4() {
                "/proc/net/tcp"
            } else {
                "/proc/net/tcp6"
            };
            let text = std::fs::read_to_string(table).unwrap();
            assert_eq!(socket_owner(&text, peer, server), Some(own), "{bind}");
            let gone = SocketAddr::new(peer.ip(), 1);
            assert_eq!(sock_diag::owner(gone, server).unwrap(), None, "{bind}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn odd_netlink_replies_are_errors_not_owners() {
        assert!(sock_diag::parse_reply(&[]).is_err());
        assert!(sock_diag::parse_reply(&[0; 10]).is_err());
        let mut error = vec![0u8; 36];
        error[4..6].copy_from_slice(&2u16.to_ne_bytes());
        let errno = |e: rustix::io::Errno| (-e.raw_os_error()).to_ne_bytes();
        error[16..20].copy_from_slice(&errno(rustix::io::Errno::PERM));
        assert!(sock_diag::parse_reply(&error).is_err());
        error[16..20].copy_from_slice(&errno(rustix::io::Errno::NOENT));
        assert_eq!(sock_diag::parse_reply(&error).unwrap(), None);
        let mut found = vec![0u8; 100];
        found[4..6].copy_from_slice(&20u16.to_ne_bytes());
        found[80..84].copy_from_slice(&1234u32.to_ne_bytes());
        assert_eq!(sock_diag::parse_reply(&found).unwrap(), Some(1234));
        assert!(sock_diag::parse_reply(&found[..82]).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_real_loopback_connection_of_this_process_is_the_same_user() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server_side, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let (own, works) = OwnUser::detect(listener.local_addr().unwrap().ip());
        assert_eq!(works, Ok(()));
        assert!(own.checks());
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
