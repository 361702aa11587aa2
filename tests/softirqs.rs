//! softirqs against real softirqs: the test sends UDP datagrams over
//! loopback while the tool runs (each one raises NET_RX on the sending
//! CPU), and reads the `net_rx` row, histogram or JSON object it prints.
mod common;

use std::net::UdpSocket;
use std::thread;
use std::time::Duration;

use common::{Background, Finished, Tool, event_timeout, lifecycle_checks};
use serde_json::Value;

/// Paced loopback UDP ping-pong (about 2000 packets/s at most: a flood
/// starves user space in a slow TCG guest while every softirq is traced).
fn traffic() -> Traffic {
    traffic_on(None)
}

/// Loopback traffic that no other test of this binary makes at the same
/// time: the per-CPU test counts what lands on the other CPU.
struct Traffic {
    bg: Background,
    _serial: std::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Traffic {
    type Target = Background;
    fn deref(&self) -> &Background {
        &self.bg
    }
}

static TRAFFIC: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// [`traffic`] from a thread pinned to `cpu`, if given.
fn traffic_on(cpu: Option<usize>) -> Traffic {
    let serial = TRAFFIC.lock().unwrap_or_else(|e| e.into_inner());
    let bg = Background::start(move || {
        if let Some(cpu) = cpu {
            common::pin_current_thread(cpu);
        }
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        move || {
            let mut buf = [0u8; 64];
            tx.send(b"bpfkit-softirqs").unwrap();
            let _ = rx.recv(&mut buf);
            thread::sleep(Duration::from_micros(500));
        }
    });
    Traffic {
        bg,
        _serial: serial,
    }
}

/// Runs `softirqs args` (which must end by itself) with loopback traffic.
fn run_with_traffic(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let traffic = traffic();
    assert!(
        traffic.wait_rounds(10, event_timeout()),
        "traffic did not flow"
    );
    let tool = Tool::start_env("softirqs", args, env);
    let before = traffic.rounds();
    let fin = tool.wait();
    assert!(
        traffic.rounds() - before > 100,
        "traffic did not flow while softirqs ran"
    );
    drop(traffic);
    assert!(fin.status.success(), "softirqs {args:?}: {fin:?}");
    fin
}

/// A table row: (name, total time, count with -C).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    name: String,
    time: u64,
    count: Option<u64>,
}

const NAMES: [&str; 10] = [
    "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu",
];

/// Parses the table rows under each `SOFTIRQ` header, checking the column
/// layout (`%-16s %11llu[  %11llu]`) on the way.
fn parse_rows(lines: &[String], header: &str) -> Vec<Row> {
    let mut out = Vec::new();
    let mut in_table = false;
    for l in lines {
        if l.starts_with("SOFTIRQ") {
            assert_eq!(l, header);
            in_table = true;
            continue;
        }
        if l.is_empty() {
            in_table = false;
            continue;
        }
        if !in_table {
            continue;
        }
        assert_eq!(l.len(), header.len(), "row width: {l:?}");
        let name = l[..16].trim_end().to_string();
        assert!(NAMES.contains(&name.as_str()), "unknown vector: {l:?}");
        assert_eq!(&l[16..17], " ", "{l:?}");
        let time = l[17..28].trim_start().parse().unwrap();
        let count = (l.len() > 28).then(|| {
            assert_eq!(&l[28..30], "  ", "{l:?}");
            l[30..41].trim_start().parse().unwrap()
        });
        out.push(Row { name, time, count });
    }
    out
}

fn net_rx(rows: &[Row]) -> &Row {
    rows.iter()
        .find(|r| r.name == "net_rx")
        .unwrap_or_else(|| panic!("no net_rx row: {rows:?}"))
}

#[test]
fn net_rx_time_from_loopback_traffic() {
    let fin = run_with_traffic(&["1", "1"], &[]);
    assert_eq!(fin.stdout.first().map(String::as_str), Some(""));
    let rows = parse_rows(&fin.stdout, "SOFTIRQ          TOTAL_usecs");
    assert!(net_rx(&rows).time > 0, "{:?}", fin.stdout);
    assert!(rows.iter().all(|r| r.count.is_none()));
    // Rows come in the kernel's vector order.
    let idx: Vec<usize> = rows
        .iter()
        .map(|r| NAMES.iter().position(|n| *n == r.name).unwrap())
        .collect();
    assert!(idx.windows(2).all(|w| w[0] < w[1]), "{rows:?}");
}

#[test]
fn counts_with_the_time() {
    let fin = run_with_traffic(&["-C", "1", "1"], &[]);
    let rows = parse_rows(&fin.stdout, "SOFTIRQ          TOTAL_usecs  TOTAL_count");
    let r = net_rx(&rows);
    // Thousands of datagrams in a second; NET_RX runs batch several.
    assert!(r.count.unwrap() > 100, "{:?}", fin.stdout);
    assert!(rows.iter().all(|r| r.count.unwrap() > 0));
}

#[test]
fn nanoseconds() {
    let fin = run_with_traffic(&["-N", "-C", "1", "1"], &[]);
    let rows = parse_rows(&fin.stdout, "SOFTIRQ          TOTAL_nsecs  TOTAL_count");
    // Every run lasts well over a nanosecond: in ns the total exceeds the
    // count (in us it need not).
    for r in &rows {
        assert!(r.time > r.count.unwrap(), "{r:?}");
    }
    let r = net_rx(&rows);
    assert!(r.time > 100 * r.count.unwrap(), "{r:?}");
}

/// (name, unit, rows (low, high, count)) of one `softirq = NAME` section.
type Section = (String, String, Vec<(u64, u64, u64)>);

/// The `softirq = NAME` histograms, checked for shape.
fn histograms(lines: &[String]) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut it = lines.iter().peekable();
    while let Some(l) = it.next() {
        if let Some(name) = l.strip_prefix("softirq = ") {
            let head = it.next().expect("histogram header");
            assert!(head.ends_with(" : count    distribution"), "{head:?}");
            let unit = head.split_whitespace().next().unwrap().to_string();
            let mut rows = Vec::new();
            while let Some(r) = it.peek() {
                if r.is_empty() {
                    break;
                }
                let (range, rest) = r.split_once(" : ").expect("row");
                let (low, high) = range.split_once(" -> ").unwrap();
                let (count, bar) = rest.split_once('|').unwrap();
                assert_eq!(range.len(), 24, "{r:?}");
                assert!(bar.ends_with('|') && bar.len() == 41, "{r:?}");
                rows.push((
                    low.trim().parse().unwrap(),
                    high.trim().parse().unwrap(),
                    count.trim().parse().unwrap(),
                ));
                it.next();
            }
            // Each histogram is followed by an empty line.
            assert_eq!(it.next().map(String::as_str), Some(""), "{lines:?}");
            out.push((name.to_string(), unit, rows));
        }
    }
    out
}

#[test]
fn distributions() {
    let fin = run_with_traffic(&["-d", "1", "1"], &[]);
    assert!(
        !fin.stdout.iter().any(|l| l.starts_with("SOFTIRQ")),
        "{:?}",
        fin.stdout
    );
    let h = histograms(&fin.stdout);
    let (_, unit, rows) = h
        .iter()
        .find(|(n, _, _)| n == "net_rx")
        .unwrap_or_else(|| panic!("no softirq = net_rx: {:?}", fin.stdout));
    assert_eq!(unit, "usecs");
    assert_eq!((rows[0].0, rows[0].1), (0, 1));
    assert!(rows.last().unwrap().2 > 0);
    assert!(rows.iter().map(|r| r.2).sum::<u64>() > 100, "{rows:?}");
    for (name, _, _) in &h {
        assert!(NAMES.contains(&name.as_str()), "{name}");
    }
    // -N: the same in nanoseconds, starting well above 1 ns.
    let fin = run_with_traffic(&["-d", "-N", "1", "1"], &[]);
    let h = histograms(&fin.stdout);
    let (_, unit, rows) = h.iter().find(|(n, _, _)| n == "net_rx").unwrap();
    assert_eq!(unit, "nsecs");
    assert_eq!(rows[0].2, 0, "no softirq runs in under 2 ns: {rows:?}");
}

fn json_objects(fin: &Finished) -> Vec<Value> {
    fin.assert_json_only();
    fin.stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn json_output() {
    let fin = run_with_traffic(&["--json", "-T", "1", "1"], &[]);
    let objs = json_objects(&fin);
    assert_eq!(objs.len(), 1, "one object per interval: {objs:?}");
    let keys: Vec<&str> = objs[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["rows", "time"], "{}", objs[0]);
    assert_eq!(objs[0]["time"].as_str().map(str::len), Some(8));
    let rows = objs[0]["rows"].as_array().unwrap();
    for v in rows {
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["count", "softirq", "time_us"], "{v}");
        assert!(v["count"].as_u64().unwrap() > 0);
        assert!(NAMES.contains(&v["softirq"].as_str().unwrap()));
    }
    let rx = rows
        .iter()
        .find(|v| v["softirq"] == "net_rx")
        .unwrap_or_else(|| panic!("no net_rx: {objs:?}"));
    assert!(rx["count"].as_u64().unwrap() > 100, "{rx}");

    let fin = run_with_traffic(&["--json", "-d", "1", "1"], &[]);
    let objs = json_objects(&fin);
    let rx = objs
        .iter()
        .find(|v| v["softirq"] == "net_rx")
        .unwrap_or_else(|| panic!("no net_rx: {objs:?}"));
    let buckets = rx["buckets"].as_array().unwrap();
    let sum: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(rx["count"].as_u64(), Some(sum), "{rx}");
    assert!(sum > 100, "{rx}");
    assert_eq!(buckets[0]["low"], 0);
    // The running sum gives the average.
    let avg = rx["avg"].as_f64().unwrap();
    let total = rx["sum"].as_u64().unwrap();
    assert!((avg - total as f64 / sum as f64).abs() < 1e-6, "{rx}");
}

#[test]
fn both_tracepoint_styles() {
    let expect_btf = matches!(
        bpfkit::probe::tp_btf_can_attach("softirq_entry"),
        bpfkit::probe::FentrySupport::Yes
    );
    let fin = run_with_traffic(&["-C", "1", "1"], &[]);
    let want = if expect_btf {
        "using tp_btf"
    } else {
        "using raw_tp"
    };
    assert!(
        fin.stderr.iter().any(|l| l.starts_with(want)),
        "{:?}",
        fin.stderr
    );
    let rows = parse_rows(&fin.stdout, "SOFTIRQ          TOTAL_usecs  TOTAL_count");
    assert!(net_rx(&rows).count.unwrap() > 100);

    let fin = run_with_traffic(&["-C", "1", "1"], &[("BPFKIT_RAW_TP", "1")]);
    assert!(
        fin.stderr
            .iter()
            .any(|l| l == "using raw_tp (BPFKIT_RAW_TP=1)"),
        "{:?}",
        fin.stderr
    );
    let rows = parse_rows(&fin.stdout, "SOFTIRQ          TOTAL_usecs  TOTAL_count");
    assert!(net_rx(&rows).count.unwrap() > 100, "{:?}", fin.stdout);
}

#[test]
fn interval_and_count() {
    let fin = run_with_traffic(&["-T", "1", "3"], &[]);
    let headers = fin
        .stdout
        .iter()
        .filter(|l| l.starts_with("SOFTIRQ"))
        .count();
    assert_eq!(headers, 3, "{:?}", fin.stdout);
    // Each print: an empty line, HH:MM:SS, the table.
    for (i, l) in fin.stdout.iter().enumerate() {
        if l.starts_with("SOFTIRQ") {
            let ts = &fin.stdout[i - 1];
            assert!(ts.len() == 8 && ts.as_bytes()[2] == b':', "{ts:?}");
            assert_eq!(fin.stdout[i - 2], "");
        }
    }
}

#[test]
fn sigint_prints_what_was_gathered() {
    let tool = Tool::start("softirqs", &["-C"]);
    let traffic = traffic();
    thread::sleep(Duration::from_millis(800));
    let fin = tool.stop();
    drop(traffic);
    assert!(fin.status.success(), "{fin:?}");
    let rows = parse_rows(&fin.stdout, "SOFTIRQ          TOTAL_usecs  TOTAL_count");
    assert!(net_rx(&rows).count.unwrap() > 100, "{:?}", fin.stdout);
}

#[test]
fn lifecycle() {
    lifecycle_checks("softirqs", &["1"], || {
        let t = traffic();
        thread::sleep(Duration::from_millis(20));
        drop(t);
    });
}

#[test]
fn cpu_filter_counts_that_cpu_only() {
    // Loopback packets are received (NET_RX) on the sending CPU.
    let traffic = traffic_on(Some(1));
    assert!(
        traffic.wait_rounds(10, event_timeout()),
        "traffic did not flow"
    );
    let on = Tool::start("softirqs", &["--json", "-c", "1", "1", "1"]);
    let off = Tool::start("softirqs", &["--json", "--cpu", "0", "1", "1"]);
    let (on, off) = (on.wait(), off.wait());
    drop(traffic);
    let net_rx = |fin: &Finished| {
        assert!(fin.status.success(), "{fin:?}");
        let objs = json_objects(fin);
        assert_eq!(objs.len(), 1, "{objs:?}");
        objs[0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["softirq"] == "net_rx")
            .map_or(0, |v| v["count"].as_u64().unwrap())
    };
    let (on, off) = (net_rx(&on), net_rx(&off));
    assert!(on > 100, "net_rx on the traffic's CPU: {on}");
    // Other activity may receive a few packets on CPU 0; ours never does.
    assert!(
        off * 4 < on,
        "net_rx on the other CPU: {off} (traffic's CPU: {on})"
    );
}
