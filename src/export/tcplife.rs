//! Bytes moved by closed TCP sessions and how long they lasted (tcplife's
//! program: one event per session as it reaches CLOSE).

use anyhow::Result;

use super::metrics::{Metrics, log2_hist, log2_slot};
use super::{Collector, Options, Spec};
use crate::skel::tcplife::types::tcplife_event;
use crate::skel::tcplife::{TcplifeSkel, TcplifeSkelBuilder};
use crate::{bpf, probe};

pub const SPEC: Spec = Spec {
    name: "tcplife",
    about: "TCP sessions: bytes sent and received, session duration histogram",
    default: true,
    load,
};

/// log2 microsecond slots: the last (2^35 us, about 9.5 h) holds everything longer.
const SLOTS: usize = 36;

struct Sessions {
    sent: u64,
    received: u64,
    slots: [u64; SLOTS],
    sum_us: u64,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            sent: 0,
            received: 0,
            slots: [0; SLOTS],
            sum_us: 0,
        }
    }
}

fn load(opts: &Options) -> Result<Box<dyn Collector>> {
    let open = bpf::open(
        TcplifeSkelBuilder::default(),
        super::object_storage(),
        &opts.common,
    )?;
    probe::require_tracefs()?;
    let mut skel = bpf::load(open)?;
    bpf::attach(&mut skel)?;
    super::folding(skel, count, report)
}

fn count(s: &mut Sessions, e: &tcplife_event) {
    s.sent = s.sent.wrapping_add(e.tx_b);
    s.received = s.received.wrapping_add(e.rx_b);
    s.slots[log2_slot(e.span_us, SLOTS)] += 1;
    s.sum_us = s.sum_us.wrapping_add(e.span_us);
}

fn report(_: &TcplifeSkel<'static>, s: &mut Sessions, out: &mut Metrics) -> Result<()> {
    metrics(s, out);
    Ok(())
}

fn metrics(s: &Sessions, out: &mut Metrics) {
    out.counter(
        "tcp_session_sent_bytes",
        "Bytes sent (and acknowledged) by TCP sessions, counted when they close.",
        vec![],
        s.sent,
    );
    out.counter(
        "tcp_session_received_bytes",
        "Bytes received by TCP sessions, counted when they close.",
        vec![],
        s.received,
    );
    out.histogram(
        "tcp_session_duration_seconds",
        "Time from a TCP session becoming established to its close.",
        vec![],
        log2_hist(&s.slots, 1e-6, s.sum_us as f64 * 1e-6),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::metrics::Value;

    #[test]
    fn sessions_fold_into_bytes_and_durations() {
        let mut s = Sessions::default();
        for (tx, rx, us) in [
            (102400, 51200, 300_000),
            (51200, 102400, 250_000),
            (0, 0, 0),
        ] {
            let e = tcplife_event {
                tx_b: tx,
                rx_b: rx,
                span_us: us,
                ..Default::default()
            };
            count(&mut s, &e);
        }
        assert_eq!((s.sent, s.received), (153600, 153600));
        assert_eq!(s.sum_us, 550_000);
        // 300 ms and 250 ms: floor(log2) = 18 (262144..524287 us) and 17.
        assert_eq!((s.slots[0], s.slots[17], s.slots[18]), (1, 1, 1));
        let mut m = Metrics::default();
        metrics(&s, &mut m);
        assert_eq!(
            m.get("tcp_session_sent_bytes", &[]),
            Some(&Value::Int(153600))
        );
        assert_eq!(
            m.get("tcp_session_received_bytes", &[]),
            Some(&Value::Int(153600))
        );
        let Some(Value::Hist(h)) = m.get("tcp_session_duration_seconds", &[]) else {
            panic!("no duration histogram");
        };
        assert_eq!(h.count(), 3);
        assert!((h.sum - 0.55).abs() < 1e-9);
        // Slot 18's bound: 2^19 us.
        assert_eq!(h.buckets[18], (0.524288, 1));
        assert_eq!(h.buckets[SLOTS - 1].0, f64::INFINITY);
        let text = m.encode(false).unwrap();
        assert!(
            text.contains("bpfkit_tcp_session_sent_bytes_total 153600"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE bpfkit_tcp_session_duration_seconds histogram"),
            "{text}"
        );
    }
}
