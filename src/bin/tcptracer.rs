//! tcptracer — trace TCP connects (once established), accepts and closes:
//! which task made each and the socket's ends, IPv4 and IPv6.
//!
//! Same flags and columns as libbpf-tools tcptracer (`-t`, `-U`, `-p`,
//! `-u`), plus `-4`/`-6`, `-d`, `--json` and `--probe`: fentry/fexit or
//! kprobes on tcp_v4_connect/tcp_v6_connect, tcp_set_state,
//! inet_csk_accept and tcp_close, or the sock:inet_sock_set_state
//! tracepoint (connects) with the accept and close syscalls' tracepoints.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcptracer::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::tcptracer::TcptracerSkelBuilder;
use bpfkit::skel::tcptracer::types::tcptracer_event;
use bpfkit::{bpf, events, fmt, hooks, net, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("tcptracer", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        TcptracerSkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.filter_pid = args.target.pid.unwrap_or(0);
    rodata.filter_uid = args.uid.unwrap_or(u32::MAX);
    rodata.filter_family = args.inet.family();
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &hooks::tcptracer(),
    )?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    let mut since_first = fmt::SinceFirst::default();
    events::stream_decoded(
        &skel,
        &args.run,
        &table(&args),
        |e| Event::decode(e, &mut since_first),
        |e: &tcptracer_event| {
            let (af, kind) = (e.af, e.kind);
            format!("af={af} type={kind}")
        },
    )
}

/// One connect, accept or close: the event and what is decoded from it.
struct Event {
    e: tcptracer_event,
    /// The T column's letter and the JSON `event`.
    kind: (&'static str, &'static str),
    /// Seconds since the first event printed (libbpf-tools' `-t`).
    elapsed_s: f64,
    laddr: IpAddr,
    raddr: IpAddr,
}

impl Event {
    /// `None` for a family that is neither IPv4 nor IPv6, or an unknown type.
    fn decode(e: &tcptracer_event, since_first: &mut fmt::SinceFirst) -> Option<Event> {
        let kind = match e.kind {
            0 => ("C", "connect"),
            1 => ("A", "accept"),
            2 => ("X", "close"),
            _ => return None,
        };
        Some(Event {
            kind,
            laddr: net::ip_from_raw(e.af, &e.saddr)?,
            raddr: net::ip_from_raw(e.af, &e.daddr)?,
            elapsed_s: since_first.secs(e.ts_us),
            e: *e,
        })
    }
}

/// libbpf-tools' columns: `%-9.3f`, `%-6d`, then `%c %-6d %-12.12s %-2d
/// %-16s %-16s %-4d %-4d`; SADDR/DADDR are the socket's ends (`laddr`/`raddr`).
fn table(args: &Args) -> Table<'static, Event> {
    Table::new()
        .left("TIME(s)", 8, "elapsed_s", |v: &Event| {
            Cell::float(v.elapsed_s, 3)
        })
        .only_if(args.timestamp)
        .left("UID", 5, "uid", |v| v.e.uid.into())
        .shown_if(args.print_uid)
        .left("T", 1, "event", |v| Cell::both(v.kind.0, v.kind.1))
        .left("PID", 6, "pid", |v| v.e.pid.into())
        .left("COMM", 12, "comm", |v| {
            Cell::text_cut(&fmt::c_chars(&v.e.comm), 12)
        })
        .left("IP", 2, "family", |v| net::ip_version(&v.laddr).into())
        .left("SADDR", 16, "laddr", |v| net::ntop(&v.laddr).into())
        .left("DADDR", 16, "raddr", |v| net::ntop(&v.raddr).into())
        .left("SPORT", 4, "lport", |v| v.e.sport.into())
        .last("DPORT", "rport", |v| v.e.dport.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    fn v4_event(kind: u8) -> tcptracer_event {
        let mut e = tcptracer_event {
            ts_us: 5_000_000,
            pid: 222564,
            uid: 1000,
            af: net::AF_INET,
            sport: 43210,
            dport: 80,
            kind,
            ..Default::default()
        };
        e.saddr[..4].copy_from_slice(&[192, 168, 88, 15]);
        e.daddr[..4].copy_from_slice(&[110, 242, 68, 3]);
        fmt::to_c_chars("systemd-resolved", &mut e.comm);
        e
    }

    fn event(e: &tcptracer_event) -> Event {
        Event::decode(e, &mut Default::default()).unwrap()
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let t = table(&args(&[]));
        assert_eq!(
            t.header_line(),
            "T PID    COMM         IP SADDR            DADDR            SPORT DPORT"
        );
        // COMM is cut to 12 characters, as `%-12.12s`.
        assert_eq!(
            t.table_line(&event(&v4_event(0))),
            "C 222564 systemd-reso 4  192.168.88.15    110.242.68.3     43210 80"
        );
        let mut e = v4_event(1);
        (e.sport, e.dport) = (80, 43210);
        assert_eq!(
            t.table_line(&event(&e)),
            "A 222564 systemd-reso 4  192.168.88.15    110.242.68.3     80   43210"
        );
        assert!(t.table_line(&event(&v4_event(2))).starts_with("X 222564"));
        let t = table(&args(&["-t", "-U"]));
        assert_eq!(
            t.header_line(),
            "TIME(s)  UID   T PID    COMM         IP SADDR            DADDR            SPORT DPORT"
        );
        let v = Event {
            elapsed_s: 1.5,
            ..event(&v4_event(2))
        };
        assert_eq!(
            t.table_line(&v),
            "1.500    1000  X 222564 systemd-reso 4  192.168.88.15    110.242.68.3     43210 80"
        );
    }

    #[test]
    fn ipv6_rows() {
        let mut e = v4_event(0);
        e.af = net::AF_INET6;
        e.saddr = [0; 16];
        e.saddr[15] = 1;
        e.daddr = e.saddr;
        assert_eq!(
            table(&args(&[])).table_line(&event(&e)),
            "C 222564 systemd-reso 6  ::1              ::1              43210 80"
        );
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        let v = Event {
            elapsed_s: 2.25,
            ..event(&v4_event(1))
        };
        table(&args(&["-t"])).print(&out, &v);
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({
                "elapsed_s": 2.25, "uid": 1000, "event": "accept", "pid": 222564,
                "comm": "systemd-resolve", "family": 4, "laddr": "192.168.88.15",
                "raddr": "110.242.68.3", "lport": 43210, "rport": 80,
            })
        );
        let j = table(&args(&[])).json_value(&event(&v4_event(0)));
        assert!(j.get("elapsed_s").is_none(), "{j}");
        assert_eq!(
            (j["event"].as_str(), j["uid"].as_u64()),
            (Some("connect"), Some(1000))
        );
        let j = table(&args(&[])).json_value(&event(&v4_event(2)));
        assert_eq!(j["event"], "close");
    }

    #[test]
    fn json_keys_follow_the_schema() {
        let t = table(&args(&["-t", "-U"]));
        bpfkit::row::assert_keys_in_schema("tcptracer", &t.keys());
    }

    #[test]
    fn broken_events_are_not_decoded() {
        let mut e = v4_event(0);
        e.af = 1;
        assert!(Event::decode(&e, &mut Default::default()).is_none());
        assert!(Event::decode(&v4_event(3), &mut Default::default()).is_none());
    }
}
