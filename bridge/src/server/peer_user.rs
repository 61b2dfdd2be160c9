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
//! `/proc/net/tcp6`. Windows reads the TCP table with owning process ids
//! (`GetExtendedTcpTable`, `TCP_TABLE_OWNER_PID_ALL`, IPv4 or IPv6), opens the owning
//! process and compares its token's user SID with the bridge's own ([`windows`]). On both,
//! a connection whose owner cannot be established is refused (fail closed), and when the
//! lookup does not work at all at start (the self-test on a connection of the bridge's
//! own fails) the check is off and the log says why. macOS has neither; there the check
//! is not made (`PeerCheck::Unsupported`) and the limit is documented.
//!
//! The table formats are parsed by pure functions ([`socket_owner`],
//! [`owning_pid`]) tested on every system with hand-built tables; only the calls that
//! fetch them are per system.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The answer for one accepted connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerCheck {
    /// The connecting socket belongs to the bridge's own user.
    SameUser,
    /// It belongs to another user (their uid on Linux, the owning process id on Windows),
    /// or to no live socket the kernel lists, or its owner could not be established.
    Refused(Option<u32>),
    /// This system has no socket table the bridge can read.
    Unsupported,
}

/// The bridge's own user, read once at bind, when this system lets the bridge tell who is
/// connecting.
#[derive(Clone, Debug)]
pub struct OwnUser {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    uid: Option<u32>,
    /// The bridge's user SID (Windows), as bytes.
    #[cfg_attr(not(windows), allow(dead_code))]
    sid: Option<std::sync::Arc<[u8]>>,
}

/// What `PeerCheck::Refused` carries, for the log.
pub const OWNER_KIND: &str = if cfg!(windows) { "pid" } else { "uid" };

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
                return (Self::OFF, Err("/proc/self is not readable".into()));
            };
            let me = Self {
                uid: Some(meta.uid()),
                sid: None,
            };
            match me.self_test(bind) {
                Ok(()) => (me, Ok(())),
                Err(e) => (Self::OFF, Err(e)),
            }
        }
        #[cfg(windows)]
        {
            let me = match windows::own_sid() {
                Ok(sid) => Self {
                    uid: None,
                    sid: Some(sid.into()),
                },
                Err(e) => {
                    return (
                        Self::OFF,
                        Err(format!("the bridge's own user SID is not readable: {e}")),
                    );
                }
            };
            match me.self_test(bind) {
                Ok(()) => (me, Ok(())),
                Err(e) => (Self::OFF, Err(e)),
            }
        }
        #[cfg(not(any(target_os = "linux", windows)))]
        {
            let _ = bind;
            (Self::OFF, Err("not implemented on this system yet".into()))
        }
    }

    /// No check: every connection is `Unsupported`.
    const OFF: Self = Self {
        uid: None,
        sid: None,
    };

    /// Whether connections are checked at all.
    pub fn checks(&self) -> bool {
        self.uid.is_some() || self.sid.is_some()
    }

    #[cfg(any(target_os = "linux", windows))]
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
        #[cfg(windows)]
        {
            let Some(own) = &self.sid else {
                return PeerCheck::Unsupported;
            };
            windows::check(own, peer, local)
        }
        #[cfg(not(any(target_os = "linux", windows)))]
        {
            let _ = (peer, local);
            PeerCheck::Unsupported
        }
    }
}

/// Size of one `MIB_TCPROW_OWNER_PID` (six DWORDs) and one `MIB_TCP6ROW_OWNER_PID`
/// (two 16-byte addresses and eight DWORDs).
const ROW_V4: usize = 24;
const ROW_V6: usize = 56;

/// The owning process id of the socket whose local end is `peer` and remote end is
/// `local`, from the bytes `GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL)` fills: a DWORD
/// row count, then `MIB_TCPROW_OWNER_PID` rows (`ipv6` false) or `MIB_TCP6ROW_OWNER_PID`
/// rows (`ipv6` true). DWORDs are little-endian (Windows runs little-endian everywhere);
/// addresses are stored in network order and each port in the first two bytes of its
/// DWORD, in network order. A count beyond the buffer reads only the rows present.
pub fn owning_pid(table: &[u8], ipv6: bool, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let dword = |row: &[u8], at: usize| {
        row.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let port = |row: &[u8], at: usize| {
        row.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let v4 = |row: &[u8], at: usize| {
        row.get(at..at + 4)
            .map(|b| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
    };
    let v6 = |row: &[u8], at: usize| {
        let bytes: [u8; 16] = row.get(at..at + 16)?.try_into().ok()?;
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    };
    let count = dword(table, 0)? as usize;
    let size = if ipv6 { ROW_V6 } else { ROW_V4 };
    table
        .get(4..)?
        .chunks_exact(size)
        .take(count)
        .find_map(|row| {
            // (their end, our end, pid): the client's socket has the client's address as
            // its local end.
            let (theirs, ours, pid) = if ipv6 {
                (
                    SocketAddr::new(v6(row, 0)?, port(row, 20)?),
                    SocketAddr::new(v6(row, 24)?, port(row, 44)?),
                    dword(row, 52)?,
                )
            } else {
                (
                    SocketAddr::new(v4(row, 4)?, port(row, 8)?),
                    SocketAddr::new(v4(row, 12)?, port(row, 16)?),
                    dword(row, 20)?,
                )
            };
            (same_endpoint(theirs, peer) && same_endpoint(ours, local)).then_some(pid)
        })
}

/// Which table lists the client's socket: an IPv4 client seen through an IPv6 socket
/// (`::ffff:a.b.c.d`) has an IPv4 socket of its own.
#[cfg_attr(not(windows), allow(dead_code))]
fn is_ipv6_socket(peer: SocketAddr) -> bool {
    match peer.ip() {
        IpAddr::V4(_) => false,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_none(),
    }
}

#[cfg(windows)]
mod windows;

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

    /// A `GetExtendedTcpTable` buffer: the count, then rows of (local, remote, pid).
    fn win_table(ipv6: bool, count: u32, rows: &[(SocketAddr, SocketAddr, u32)]) -> Vec<u8> {
        let mut t = count.to_le_bytes().to_vec();
        let port = |a: &SocketAddr| {
            let mut d = [0u8; 4];
            d[..2].copy_from_slice(&a.port().to_be_bytes());
            d
        };
        for (l, r, pid) in rows {
            let ip = |a: &SocketAddr| match a.ip() {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            if ipv6 {
                t.extend(ip(l));
                t.extend(0u32.to_le_bytes()); // scope
                t.extend(port(l));
                t.extend(ip(r));
                t.extend(0u32.to_le_bytes());
                t.extend(port(r));
                t.extend(5u32.to_le_bytes()); // MIB_TCP_STATE_ESTAB
            } else {
                t.extend(5u32.to_le_bytes());
                t.extend(ip(l));
                t.extend(port(l));
                t.extend(ip(r));
                t.extend(port(r));
            }
            t.extend(pid.to_le_bytes());
        }
        t
    }

    #[test]
    fn windows_table_names_the_process_of_the_client_socket() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        let (bridge, client) = (sa("127.0.0.1:29443"), sa("127.0.0.1:40001"));
        let rows = [
            // The listener, the bridge's end of this connection, another client, ours.
            (sa("127.0.0.1:29443"), sa("0.0.0.0:0"), 100),
            (bridge, client, 100),
            (sa("127.0.0.1:40002"), bridge, 200),
            (client, bridge, 300),
        ];
        let t = win_table(false, 4, &rows);
        assert_eq!(t.len(), 4 + 4 * ROW_V4);
        assert_eq!(owning_pid(&t, false, client, bridge), Some(300));
        assert_eq!(
            owning_pid(&t, false, sa("127.0.0.1:40002"), bridge),
            Some(200)
        );
        assert_eq!(owning_pid(&t, false, sa("127.0.0.1:40003"), bridge), None);
        // The same client port towards another server is not our connection.
        assert_eq!(owning_pid(&t, false, client, sa("127.0.0.1:8080")), None);
        // An IPv4 client seen through a dual-stack socket is in the IPv4 table.
        let mapped = |a: SocketAddr| match a.ip() {
            IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
            IpAddr::V6(_) => a,
        };
        assert!(!is_ipv6_socket(mapped(client)));
        assert_eq!(
            owning_pid(&t, false, mapped(client), mapped(bridge)),
            Some(300)
        );
    }

    #[test]
    fn windows_ipv6_table_for_loopback_clients() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        let (bridge, client) = (sa("[::1]:29443"), sa("[::1]:50000"));
        assert!(is_ipv6_socket(client));
        let t = win_table(true, 2, &[(bridge, client, 10), (client, bridge, 4242)]);
        assert_eq!(t.len(), 4 + 2 * ROW_V6);
        assert_eq!(owning_pid(&t, true, client, bridge), Some(4242));
        assert_eq!(owning_pid(&t, true, bridge, client), Some(10));
        // The same bytes read as IPv4 rows name nothing of ours.
        assert_eq!(owning_pid(&t, false, client, bridge), None);
    }

    #[test]
    fn short_or_lying_windows_tables_are_not_trusted() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        let (bridge, client) = (sa("127.0.0.1:29443"), sa("127.0.0.1:40001"));
        let full = win_table(false, 1, &[(client, bridge, 300)]);
        assert_eq!(owning_pid(&full, false, client, bridge), Some(300));
        // Cut anywhere inside the row or the count: no owner, no panic.
        for cut in 0..full.len() {
            assert_eq!(
                owning_pid(&full[..cut], false, client, bridge),
                None,
                "{cut}"
            );
        }
        // A count of zero lists nothing even if bytes follow; a count past the end reads
        // only the rows there.
        let none = win_table(false, 0, &[(client, bridge, 300)]);
        assert_eq!(owning_pid(&none, false, client, bridge), None);
        let more = win_table(false, u32::MAX, &[(client, bridge, 300)]);
        assert_eq!(owning_pid(&more, false, client, bridge), Some(300));
        let v6 = win_table(true, 1, &[(sa("[::1]:50000"), sa("[::1]:29443"), 7)]);
        for cut in 0..v6.len() {
            assert_eq!(
                owning_pid(&v6[..cut], true, sa("[::1]:50000"), sa("[::1]:29443")),
                None
            );
        }
    }

    /// A live loopback connection (kept open while this is held).
    #[cfg(any(target_os = "linux", windows))]
    struct Connected {
        bind: &'static str,
        peer: SocketAddr,
        server: SocketAddr,
        _open: (
            std::net::TcpListener,
            std::net::TcpStream,
            std::net::TcpStream,
        ),
    }

    /// One connection on IPv4 loopback and one on IPv6 where this machine has it.
    #[cfg(any(target_os = "linux", windows))]
    fn loopback_connections() -> Vec<Connected> {
        ["127.0.0.1:0", "[::1]:0"]
            .into_iter()
            .filter_map(|bind| {
                let listener = std::net::TcpListener::bind(bind).ok()?;
                let server = listener.local_addr().unwrap();
                let client = std::net::TcpStream::connect(server).unwrap();
                let (accepted, peer) = listener.accept().unwrap();
                Some(Connected {
                    bind,
                    peer,
                    server,
                    _open: (listener, client, accepted),
                })
            })
            .collect()
    }

    /// On Windows the bridge's own connection is recognised and a port nobody uses is
    /// refused. Under Wine 8 (tests/windows.sh sets `OB_UNDER_WINE`) every socket is listed
    /// with owning process 0, its own included: there the self-test must fail and turn the
    /// check off, saying why, rather than refuse everyone.
    #[cfg(windows)]
    #[test]
    fn windows_names_this_process_as_the_owner_of_its_own_connection() {
        let wine = std::env::var_os("OB_UNDER_WINE").is_some();
        for Connected {
            bind, peer, server, ..
        } in loopback_connections()
        {
            let (own, works) = OwnUser::detect(server.ip());
            if wine {
                let why = works.unwrap_err();
                assert!(why.contains("not recognised"), "{bind}: {why}");
                assert!(!own.checks());
                assert_eq!(own.check(peer, server), PeerCheck::Unsupported);
                continue;
            }
            assert_eq!(works, Ok(()), "{bind}");
            assert!(own.checks());
            assert_eq!(own.check(peer, server), PeerCheck::SameUser, "{bind}");
            let nobody = SocketAddr::new(peer.ip(), 1);
            assert!(matches!(own.check(nobody, server), PeerCheck::Refused(_)));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_names_the_owner_of_a_real_connection_both_ways() {
        use std::os::unix::fs::MetadataExt;
        let own = std::fs::metadata("/proc/self").unwrap().uid();
        for Connected {
            bind, peer, server, ..
        } in loopback_connections()
        {
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
