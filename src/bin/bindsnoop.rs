//! bindsnoop — trace bind() on IPv4 and IPv6 sockets: who bound what
//! (protocol, socket options, device, port, address) and the result.
//!
//! Same flags and columns as libbpf-tools bindsnoop (`-t`, `-x`, `-p`, `-P`,
//! `-c`), plus `-d`, `--json` and `--probe`: fexit or kprobe on
//! inet_bind/inet6_bind, or the bind syscall's tracepoints.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::bindsnoop::Args;
use bpfkit::row::{Cell, Table};
use bpfkit::skel::bindsnoop::BindsnoopSkelBuilder;
use bpfkit::skel::bindsnoop::types::bind_event;
use bpfkit::{binds, bpf, cgroup, events, fmt, hooks, net, probe};
use clap::Parser;
use libbpf_rs::skel::OpenSkel;

fn main() -> ExitCode {
    bpfkit::main("bindsnoop", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.target.require()?;
    let cgroup = cgroup::Filter::open(args.cgroup.as_deref())?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(
        BindsnoopSkelBuilder::default(),
        &mut object,
        &args.run.common,
    )?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.target_pid = args.target.pid.unwrap_or(0);
    rodata.ignore_errors = !args.failed;
    rodata.filter_by_port = args.ports.is_some();
    rodata.filter_cg = cgroup.is_on();
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &hooks::bindsnoop(),
    )?;
    let mut skel = bpf::load(open)?;
    cgroup.apply(&skel.maps.cgroup_map)?;
    bpf::fill_port_set(&skel.maps.ports, &args.ports)?;
    bpf::attach(&mut skel)?;
    events::stream_decoded(
        &skel,
        &args.run,
        &table(&args),
        Bind::decode,
        |e: &bind_event| format!("ver={}", e.ver),
    )
}

/// One bind: the event and its address.
struct Bind {
    e: bind_event,
    addr: IpAddr,
}

impl Bind {
    /// `None` for an IP version that is neither 4 nor 6.
    fn decode(e: &bind_event) -> Option<Bind> {
        let af = match e.ver {
            4 => net::AF_INET,
            6 => net::AF_INET6,
            _ => return None,
        };
        let addr = net::ip_from_raw(af, &e.addr)?;
        Some(Bind { e: *e, addr })
    }
}

/// libbpf-tools' `%-7d %-16s %-3d %-5s %-5s %-4d %-5d %-48s` after `-t`'s
/// `%8s` HH:MM:SS (headed `TIME(s)`, as the C tool).
fn table(args: &Args) -> Table<'static, Bind> {
    Table::new()
        .time_headed(args.timestamp, "TIME(s)")
        .left("PID", 7, "pid", |b: &Bind| b.e.pid.into())
        .left("COMM", 16, "comm", |b| Cell::text(fmt::c_chars(&b.e.comm)))
        .left("RET", 3, "ret", |b| b.e.ret.into())
        .errno_of_ret(true, |b| b.e.ret.into())
        .left("PROTO", 5, "proto", |b| binds::proto_name(b.e.proto).into())
        .left("OPTS", 5, "opts", |b| binds::opts_letters(b.e.opts).into())
        .left("IF", 4, "ifindex", |b| b.e.bound_dev_if.into())
        .left("PORT", 5, "lport", |b| b.e.port.into())
        .json("family", |b| net::ip_version(&b.addr).into())
        .last("ADDR", "laddr", |b| net::ntop(&b.addr).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfkit::Output;
    use bpfkit::args::parse_argv as args;

    fn v4_event() -> bind_event {
        let mut e = bind_event {
            pid: 3366,
            ret: 0,
            port: 8080,
            proto: 6,
            opts: 0x08,
            ver: 4,
            ..Default::default()
        };
        e.addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        fmt::to_c_chars("nc", &mut e.comm);
        e
    }

    #[test]
    fn rows_match_libbpf_tools() {
        let t = table(&args(&[]));
        assert_eq!(
            t.header_line(),
            "PID     COMM             RET PROTO OPTS  IF   PORT  ADDR"
        );
        let b = Bind::decode(&v4_event()).unwrap();
        assert_eq!(
            t.table_line(&b),
            "3366    nc               0   TCP   ...R. 0    8080  127.0.0.1"
        );
        let mut e = v4_event();
        e.ver = 6;
        e.addr = [0; 16];
        e.addr[15] = 1;
        e.ret = -98;
        e.proto = 17;
        e.opts = 0;
        e.bound_dev_if = 1;
        assert_eq!(
            t.table_line(&Bind::decode(&e).unwrap()),
            "3366    nc               -98 UDP   ..... 1    8080  ::1"
        );
        let t = table(&args(&["-t"]));
        assert!(t.header_line().starts_with("TIME(s)  PID     COMM"));
        assert_eq!(&t.table_line(&b)[8..14], " 3366 ");
    }

    #[test]
    fn json_has_every_field() {
        let (out, cap) = Output::captured(true);
        let mut e = v4_event();
        e.ret = -98;
        table(&args(&[])).print(&out, &Bind::decode(&e).unwrap());
        assert_eq!(
            cap.json_lines()[0],
            serde_json::json!({
                "pid": 3366, "comm": "nc", "ret": -98, "errno": 98, "error": "EADDRINUSE",
                "proto": "TCP", "opts": "...R.", "ifindex": 0, "lport": 8080, "family": 4,
                "laddr": "127.0.0.1",
            })
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        bpfkit::row::assert_keys_in_schema("bindsnoop", &table(&args(&["-t"])).keys());
    }

    #[test]
    fn unknown_version_is_not_decoded() {
        let mut e = v4_event();
        e.ver = 5;
        assert!(Bind::decode(&e).is_none());
    }
}
