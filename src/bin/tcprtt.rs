//! tcprtt — lesson 14: summarize TCP round-trip time (the smoothed RTT the
//! kernel keeps per socket) as a log2 histogram.
//!
//! Same flags and output as libbpf-tools tcprtt, plus `--json` and
//! `--probe`. The kernel side samples `tcp_rcv_established()` through
//! fentry, a kprobe or the `tcp:tcp_probe` tracepoint it fires.
#![forbid(unsafe_code)]

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Result;
use bpfkit::args::tcprtt::Args;
use bpfkit::hist::Histogram;
use bpfkit::interval::{IntervalLoop, Tick};
use bpfkit::probe::{self};
use bpfkit::skel::tcprtt::TcprttSkelBuilder;
use bpfkit::skel::tcprtt::types::{hist, hist_key};
use bpfkit::{Output, bpf, net};
use clap::Parser;
use libbpf_rs::MapCore;
use libbpf_rs::skel::OpenSkel;
use serde_json::json;

fn main() -> ExitCode {
    bpfkit::main("tcprtt", run)
}

fn run() -> Result<()> {
    let args = Args::parse();
    args.validate()?;
    let mut object = MaybeUninit::uninit();
    let mut open = bpf::open(TcprttSkelBuilder::default(), &mut object, &args.common)?;
    let rodata = bpf::rodata(open.maps.rodata_data.as_deref_mut())?;
    rodata.targ_laddr_hist = args.byladdr;
    rodata.targ_raddr_hist = args.byraddr;
    rodata.targ_show_ext = args.extension;
    rodata.targ_ms = args.millisecond;
    rodata.targ_sport = args.lport.unwrap_or(0);
    rodata.targ_dport = args.rport.unwrap_or(0);
    if let Some(a) = &args.laddr {
        (rodata.targ_saddr_family, rodata.targ_saddr) = net::ip_to_raw(a);
    }
    if let Some(a) = &args.raddr {
        (rodata.targ_daddr_family, rodata.targ_daddr) = net::ip_to_raw(a);
    }
    probe::apply(
        open.open_object_mut(),
        args.probe.mechanism,
        &bpfkit::hooks::tcprtt(),
    )?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;

    let out = Output::stdout(args.common.json)?;
    let hists = &skel.maps.hists;
    IntervalLoop::new(&out)
        .every(args.interval)
        .duration(args.duration)
        .timestamp(args.timestamp)
        .banner("Tracing TCP RTT... Hit Ctrl-C to end.")
        .run(|tick| print_map(&out, hists, &args, tick))
}

/// Reads every histogram, prints it, and deletes it (a fresh start for the
/// next interval, as libbpf-tools does).
fn print_map(out: &Output, map: &dyn MapCore, args: &Args, tick: &Tick) -> Result<()> {
    let mut entries: Vec<(hist_key, hist)> = bpf::drain_map(map)?;
    entries.sort_by_key(|(k, _)| (k.family, k.addr));
    let unit = if args.millisecond { "msecs" } else { "usecs" };
    for (key, h) in &entries {
        print_hist(out, args, tick, key, h, unit);
    }
    Ok(())
}

/// The address a `-b`/`-B` histogram is for, as inet_ntop writes it.
fn key_addr(key: &hist_key) -> String {
    net::ip_from_raw(key.family, &key.addr)
        .map(|a| net::ntop(&a))
        .unwrap_or_else(|| format!("family {}", key.family))
}

/// The line above each histogram, as libbpf-tools prints it (the trailing
/// space included): `All Addresses = ****** [AVG 12]`,
/// `Local Address = 127.0.0.1 `.
fn section_header(args: &Args, key: &hist_key, avg: Option<u64>) -> String {
    let mut s = String::new();
    if args.byladdr {
        s.push_str("Local Address = ");
    } else if args.byraddr {
        s.push_str("Remote Address = ");
    } else {
        s.push_str("All Addresses = ****** ");
    }
    if args.byladdr || args.byraddr {
        s.push_str(&key_addr(key));
        s.push(' ');
    }
    if args.extension {
        s.push_str(&format!("[AVG {}]", avg.unwrap_or(0)));
    }
    s
}

fn print_hist(out: &Output, args: &Args, tick: &Tick, key: &hist_key, h: &hist, unit: &str) {
    let mut histogram = Histogram::log2(&h.slots, unit);
    if args.extension {
        histogram = histogram.with_sum(h.latency, h.cnt);
    }
    let header = section_header(args, key, histogram.average());
    let mut fields = tick.fields();
    if args.byladdr {
        fields["laddr"] = json!(key_addr(key));
    } else if args.byraddr {
        fields["raddr"] = json!(key_addr(key));
    }
    histogram.print(out, Some(&header), fields);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("tcprtt").chain(argv.iter().copied()))
    }

    fn key(family: u16, addr: &[u8]) -> hist_key {
        let mut k = hist_key {
            family,
            ..Default::default()
        };
        k.addr[..addr.len()].copy_from_slice(addr);
        k
    }

    #[test]
    fn section_headers_like_libbpf_tools() {
        let k = key(2, &[127, 0, 0, 1]);
        let a = parse(&[]).unwrap();
        assert_eq!(section_header(&a, &k, None), "All Addresses = ****** ");
        let a = parse(&["-e"]).unwrap();
        assert_eq!(
            section_header(&a, &key(0, &[]), Some(42)),
            "All Addresses = ****** [AVG 42]"
        );
        let a = parse(&["-b"]).unwrap();
        assert_eq!(section_header(&a, &k, None), "Local Address = 127.0.0.1 ");
        let a = parse(&["-B", "-e"]).unwrap();
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(
            section_header(&a, &key(10, &v6), Some(7)),
            "Remote Address = ::1 [AVG 7]"
        );
    }

    #[test]
    fn json_keys_follow_the_schema() {
        for argv in [&["-b", "-e", "-T"][..], &["-B"]] {
            let (out, cap) = Output::captured(true);
            let tick = Tick {
                time: Some("12:00:00".into()),
                number: 1,
                last: false,
            };
            let mut h = hist::default();
            h.slots[3] = 2;
            print_hist(
                &out,
                &parse(argv).unwrap(),
                &tick,
                &key(2, &[127, 0, 0, 1]),
                &h,
                "usecs",
            );
            let v = &cap.json_lines()[0];
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            bpfkit::row::assert_keys_in_schema("tcprtt", &keys);
            assert_eq!(v["count"], 2, "{v}");
        }
    }
}
