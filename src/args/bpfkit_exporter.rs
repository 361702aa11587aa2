//! `bpfkit-exporter`'s command line (the binary in src/bin/bpfkit-exporter.rs
//! parses it; the man page generator reads it).

use std::net::SocketAddr;

use clap::Parser;

pub const EXAMPLES: &str = "EXAMPLES:
    bpfkit-exporter                        # default collectors on :10140/metrics
    bpfkit-exporter --listen 127.0.0.1:10140   # only local scrapes
    bpfkit-exporter --collectors runqlat,tcprtt   # just these two
    bpfkit-exporter --xdp-interface eth0   # add XDP packet/byte counts for eth0
    bpfkit-exporter --list-collectors      # what can be collected";

/// The port the exporter listens on unless told otherwise. The Prometheus
/// exporters' port list (9100-9999) is full; this one is outside it and
/// clear of node_exporter (9100) and ebpf_exporter (9435).
pub const DEFAULT_PORT: u16 = 10140;

/// Serve metrics from bpfkit's BPF programs to Prometheus.
#[derive(Parser, Debug)]
#[command(name = "bpfkit-exporter", version, after_help = EXAMPLES)]
pub struct Args {
    /// Address to serve /metrics on: HOST:PORT, [V6]:PORT, or :PORT for every address
    #[arg(
        long,
        value_name = "ADDR",
        default_value = ":10140",
        value_parser = parse_listen,
        env = "BPFKIT_EXPORTER_LISTEN"
    )]
    pub listen: Listen,

    /// Collectors to run, comma-separated (default: every collector but xdp)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub collectors: Option<Vec<String>>,

    /// Count XDP packets and bytes on this interface (repeat for more; turns on the xdp collector)
    #[arg(long = "xdp-interface", value_name = "IF")]
    pub xdp_interfaces: Vec<String>,

    /// Attach XDP in generic (skb) mode instead of the driver's
    #[arg(long = "xdp-skb-mode")]
    pub xdp_skb_mode: bool,

    /// runqlat: one histogram per PID namespace (per container), label `pidns`, capped by --max-series
    #[arg(long)]
    pub runqlat_per_pidns: bool,

    /// At most this many series per label set (e.g. IRQ names); the rest add up in one `other` series
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = crate::cli::parse_positive_u32)]
    pub max_series: u32,

    /// List the collectors and exit
    #[arg(long)]
    pub list_collectors: bool,

    /// Verbose debug output (libbpf's log on stderr)
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// BTF of the running kernel, for kernels without /sys/kernel/btf/vmlinux
    #[arg(long, value_name = "FILE", env = "BPFKIT_BTF")]
    pub btf: Option<std::path::PathBuf>,
}

/// Where to listen: the address as given (for messages) and as parsed.
#[derive(Clone, Debug)]
pub struct Listen {
    pub text: String,
    pub addr: SocketAddr,
}

/// `:PORT` (every address, as node_exporter's `--web.listen-address`),
/// `HOST:PORT` with a literal IPv4 address or `localhost`, or `[V6]:PORT`.
pub fn parse_listen(s: &str) -> Result<Listen, String> {
    let bad =
        || format!("'{s}' is not an address to listen on: give :PORT, IPV4:PORT or [IPV6]:PORT");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip = match host {
        "" => std::net::Ipv4Addr::UNSPECIFIED.into(),
        "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
        h => {
            let h = h
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(h);
            h.parse().map_err(|_| bad())?
        }
    };
    Ok(Listen {
        text: s.to_string(),
        addr: SocketAddr::new(ip, port),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen(":9").unwrap().addr.to_string(), "0.0.0.0:9");
        assert_eq!(
            parse_listen("127.0.0.1:10140").unwrap().addr.to_string(),
            "127.0.0.1:10140"
        );
        assert_eq!(
            parse_listen("[::1]:80").unwrap().addr.to_string(),
            "[::1]:80"
        );
        assert_eq!(
            parse_listen("localhost:1").unwrap().addr.to_string(),
            "127.0.0.1:1"
        );
        for bad in ["", "10140", "host:1", "1.2.3.4:", ":x", ":70000", "[::1]"] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_listen(":10140").unwrap().addr.port(), DEFAULT_PORT);
    }

    #[test]
    fn collectors_and_interfaces() {
        let a = Args::try_parse_from([
            "bpfkit-exporter",
            "--collectors",
            "runqlat,tcprtt",
            "--xdp-interface",
            "lo",
        ])
        .unwrap();
        assert_eq!(a.collectors.unwrap(), ["runqlat", "tcprtt"]);
        assert_eq!(a.xdp_interfaces, ["lo"]);
        assert_eq!(a.max_series, 100);
        let e = Args::try_parse_from(["bpfkit-exporter", "--listen", "nowhere"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
