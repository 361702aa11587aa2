//! Benchmark workload: `udp_flood SRC DST:PORT COUNT [SIZE]` sends COUNT UDP
//! datagrams of SIZE payload bytes (default 64) from address SRC to DST,
//! 64 per sendmmsg(2), as fast as it can, and prints
//! `sent=N secs=S rate=R` (packets/s). Bounded by COUNT; `make bench` runs
//! it inside a network namespace, towards the other end of a veth pair.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Instant;

const BATCH: usize = 64;

fn fail(what: &str) -> ! {
    eprintln!("udp_flood: {what}");
    std::process::exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        fail("usage: udp_flood SRC DST:PORT COUNT [SIZE]");
    }
    let src: std::net::IpAddr = args[1].parse().unwrap_or_else(|_| fail("bad SRC"));
    let dst: SocketAddr = args[2].parse().unwrap_or_else(|_| fail("bad DST:PORT"));
    let count: u64 = args[3].parse().unwrap_or_else(|_| fail("bad COUNT"));
    let size: usize = args
        .get(4)
        .map(|s| s.parse().unwrap_or_else(|_| fail("bad SIZE")))
        .unwrap_or(64);
    let sock =
        UdpSocket::bind(SocketAddr::new(src, 0)).unwrap_or_else(|e| fail(&format!("bind: {e}")));
    sock.connect(dst)
        .unwrap_or_else(|e| fail(&format!("connect: {e}")));
    let payload = vec![0x5au8; size];
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // SAFETY: zeroed mmsghdr is valid; every entry points at the one iovec.
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH)
        .map(|_| {
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = &mut iov;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < count {
        let n = (count - sent).min(BATCH as u64) as u32;
        // SAFETY: msgs holds n valid headers; the socket is connected.
        let r = unsafe { libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), n, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            // A full device queue, or an ICMP error from an earlier packet
            // reported on this connected socket: go on.
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOBUFS | libc::EAGAIN | libc::ECONNREFUSED)
            ) {
                continue;
            }
            fail(&format!("sendmmsg: {e}"));
        }
        sent += r as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("sent={sent} secs={secs:.3} rate={:.0}", sent as f64 / secs);
}
