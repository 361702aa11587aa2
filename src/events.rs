//! The event loop every streaming tool runs: one interface over BPF ring
//! buffers and perf buffers.
//!
//! It polls until a stop signal, the optional duration, or a closed stdout;
//! flushes output once per poll cycle; treats EINTR as a normal wake-up; and
//! at the end drains what is left and reports on stderr what was not
//! printed: events lost (ring-buffer reserve failures counted in BPF plus
//! perf-buffer losses) and events still buffered when printing had to stop,
//! so printed + lost + left unprinted adds up to what the kernel produced.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use libbpf_rs::{ErrorKind, MapCore, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder};

use crate::cli::CommonArgs;
use crate::output::Output;
use crate::row::Table;

/// How long one poll waits at most: the latency of noticing a stop request.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long one poll may spend handling ring-buffer events before the loop
/// looks at its stop conditions again. libbpf consumes until the buffer is
/// empty: a handler slower than the producer (symbolizing stacks under
/// emulation) would otherwise never return to the loop, and the tool could
/// not stop. Events not handled yet stay in the buffer for the next poll.
const HANDLE_BUDGET: Duration = Duration::from_millis(500);

/// How long the exit may spend counting (not handling) events left in the
/// buffer when printing them was cut short. Counting is a few ns an event,
/// so this ends only under a producer that never pauses.
const COUNT_BUDGET: Duration = Duration::from_millis(200);

enum Source<'a> {
    Ring(RingBuffer<'a>),
    Perf(PerfBuffer<'a>),
}

pub struct EventLoop<'a> {
    source: Source<'a>,
    out: &'a Output,
    drop_maps: Vec<&'a dyn MapCore>,
    perf_lost: Rc<Cell<u64>>,
    duration: Option<Duration>,
    gate: Rc<Gate>,
}

/// What the buffer callbacks do with each event: handle it or (at exit,
/// once printing has had its chance) only count it; and for ring buffers,
/// when to hand control back to the loop.
#[derive(Default)]
struct Gate {
    /// Ring buffers: when the current poll must hand back control.
    until: Cell<Option<Instant>>,
    /// Set when a poll was cut short by `until`.
    cut: Cell<bool>,
    /// At exit: count events instead of handling them.
    counting: Cell<bool>,
    /// Events counted while `counting`.
    counted: Cell<u64>,
}

impl Gate {
    /// One event: handled, or counted; returns what a ring-buffer callback
    /// returns (negative ends the poll).
    fn event(&self, now: Instant, handle: impl FnOnce()) -> i32 {
        if self.counting.get() {
            self.counted.set(self.counted.get() + 1);
        } else {
            handle();
        }
        // libbpf has already consumed this sample when it calls us, so stop
        // only after handling it: a negative return ends the poll (seen by
        // the loop as EINTR) and the rest stays queued.
        if self.until.get().is_some_and(|u| now >= u) {
            self.cut.set(true);
            return -libc::EINTR;
        }
        0
    }

    /// Starts a pass that may last `budget`.
    fn start(&self, budget: Duration) {
        self.cut.set(false);
        self.until.set(Some(Instant::now() + budget));
    }

    /// From now on events are only counted.
    fn count_only(&self) {
        self.counting.set(true);
        self.counted.set(0);
    }
}

/// Adapts a handler of typed events to the raw-bytes interface.
pub fn typed<T: plain::Plain + Default>(mut f: impl FnMut(&T)) -> impl FnMut(&[u8]) {
    move |bytes| {
        if let Some(event) = crate::decode::<T>(bytes) {
            f(&event)
        }
    }
}

impl<'a> EventLoop<'a> {
    /// Events from a `BPF_MAP_TYPE_RINGBUF` map.
    pub fn ring(
        map: &'a dyn MapCore,
        out: &'a Output,
        mut handler: impl FnMut(&[u8]) + 'a,
    ) -> Result<Self> {
        let gate: Rc<Gate> = Rc::default();
        let cb_gate = Rc::clone(&gate);
        let mut builder = RingBufferBuilder::new();
        builder
            .add(map, move |data: &[u8]| {
                cb_gate.event(Instant::now(), || handler(data))
            })
            .context("setting up the ring buffer")?;
        let ring = builder.build().context("setting up the ring buffer")?;
        let mut this = Self::new(Source::Ring(ring), out);
        this.gate = gate;
        Ok(this)
    }

    /// Events from a `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map (one buffer per CPU).
    pub fn perf<M: MapCore>(
        map: &'a M,
        out: &'a Output,
        mut handler: impl FnMut(&[u8]) + 'a,
    ) -> Result<Self> {
        let lost = Rc::new(Cell::new(0u64));
        let lost_cb = Rc::clone(&lost);
        // Perf buffers cannot end a pass early (each pass reads up to the
        // head seen at its start, so it ends anyway): no deadline here.
        let gate: Rc<Gate> = Rc::default();
        let cb_gate = Rc::clone(&gate);
        let perf = PerfBufferBuilder::new(map)
            .pages(64)
            .sample_cb(move |_cpu: i32, data: &[u8]| {
                cb_gate.event(Instant::now(), || handler(data));
            })
            .lost_cb(move |_cpu: i32, count: u64| lost_cb.set(lost_cb.get() + count))
            .build()
            .context("setting up the perf buffer")?;
        let mut this = Self::new(Source::Perf(perf), out);
        this.perf_lost = lost;
        this.gate = gate;
        Ok(this)
    }

    fn new(source: Source<'a>, out: &'a Output) -> Self {
        EventLoop {
            source,
            out,
            drop_maps: Vec::new(),
            perf_lost: Rc::new(Cell::new(0)),
            duration: None,
            gate: Rc::default(),
        }
    }

    /// Adds a per-CPU drop counter (`drops` from `drops.bpf.h`) to the loss report.
    pub fn count_drops(mut self, map: &'a dyn MapCore) -> Self {
        self.drop_maps.push(map);
        self
    }

    /// Stops after `duration` (`-d`), if given.
    pub fn duration(mut self, duration: Option<Duration>) -> Self {
        self.duration = duration;
        self
    }

    /// Events lost so far: BPF-side drops plus perf-buffer losses.
    pub fn lost(&self) -> Result<u64> {
        let mut total = self.perf_lost.get();
        for map in &self.drop_maps {
            total += crate::bpf::percpu_sum(*map)?;
        }
        Ok(total)
    }

    /// Polls until told to stop, then drains, flushes and reports losses.
    pub fn run(self) -> Result<()> {
        crate::stop::install_handler();
        // A duration too long to represent (`-d 18446744073709551615`) is no
        // deadline at all, not a panic.
        let deadline = self.duration.and_then(|d| Instant::now().checked_add(d));
        // The header goes out now, not after the first poll cycle.
        self.out.flush();
        crate::output::note(format_args!("Tracing... Hit Ctrl-C to end."));
        loop {
            if crate::stop::requested() || self.out.is_closed() || crate::output::stdout_gone() {
                break;
            }
            let timeout = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => left.min(POLL_INTERVAL),
                    None => break,
                },
                None => POLL_INTERVAL,
            };
            self.gate.start(timeout + HANDLE_BUDGET);
            let result = match &self.source {
                // Events submitted without a wake-up (drops.bpf.h's
                // submit_event) do not end the epoll wait: take them after it.
                Source::Ring(r) => r.poll(timeout).and_then(|()| r.consume()),
                Source::Perf(p) => p.poll(timeout),
            };
            match result {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(anyhow!("polling events: {e}")),
            }
            self.out.flush();
        }
        let mut cut = false;
        if !self.out.is_closed() {
            // Events already in the buffer were produced before the stop:
            // print them rather than lose them (within the budget).
            self.gate.start(HANDLE_BUDGET);
            let _ = self.consume();
            cut = self.gate.cut.get();
        }
        // What printing could not take (cut short, or output dropped at a
        // stop) is counted, so nothing is lost silently. A reader that has
        // gone (`| head`) asked for no more, and a write error ends the tool
        // with its own message: nothing to count for them.
        let left = if cut || self.out.dropped_at_stop() {
            Some(self.count_left())
        } else {
            None
        };
        let result = self.out.finish();
        report_lost(self.lost()?);
        if let Some(line) = left.and_then(|l| left_line(l.count, l.complete)) {
            crate::output::note(format_args!("{line}"));
        }
        result
    }

    /// One pass over what is buffered now: handles (or counts) it.
    fn consume(&self) -> libbpf_rs::Result<()> {
        match &self.source {
            Source::Ring(r) => r.consume(),
            Source::Perf(p) => p.consume(),
        }
    }

    /// Consumes the rest of the buffer, counting events instead of handling
    /// them (within [`COUNT_BUDGET`]).
    fn count_left(&self) -> Left {
        self.gate.count_only();
        self.gate.start(COUNT_BUDGET);
        let _ = self.consume();
        Left {
            count: self.gate.counted.get(),
            complete: !self.gate.cut.get(),
        }
    }
}

/// Events left in the buffer at exit, unprinted.
#[derive(Clone, Copy, Debug)]
struct Left {
    count: u64,
    /// False when counting itself ran out of time: `count` is a lower bound.
    complete: bool,
}

/// The stderr line for events left unprinted at exit; none when there are none.
fn left_line(count: u64, complete: bool) -> Option<String> {
    match (count, complete) {
        (0, true) => None,
        (n, true) => Some(format!(
            "{n} {} left unprinted at exit (printing could not keep up)",
            events_word(n)
        )),
        (n, false) => Some(format!(
            "at least {n} events left unprinted at exit (printing could not keep up)"
        )),
    }
}

fn events_word(n: u64) -> &'static str {
    if n == 1 { "event" } else { "events" }
}

/// The `events` ring or perf buffer of an event tool's BPF object (and,
/// through [`crate::bpf::Drops`], its reserve-failure counter). build.rs
/// implements it for every skeleton that defines `events`.
pub trait EventMaps: crate::bpf::Drops {
    fn events(&self) -> &libbpf_rs::MapMut<'_>;
}

/// Streams a tool's events as rows until it is told to stop: prints the
/// table header, turns each record into the tool's row with `row` (`None`
/// filters it out) and prints it in the form `--json` chose; at the end,
/// reports what was lost. Ring or perf buffer, whichever `events` is.
pub fn stream<S: EventMaps, T: plain::Plain + Default, R>(
    skel: &S,
    common: &CommonArgs,
    duration: Option<Duration>,
    table: &Table<'_, R>,
    mut row: impl FnMut(&T) -> Option<R>,
) -> Result<()> {
    stream_records(skel, common, duration, table, |bytes| {
        crate::decode::<T>(bytes).and_then(|e| row(&e))
    })
}

/// [`stream`] for a tool run with [`crate::cli::RunArgs`] whose rows decode
/// from the event and can fail (an address family it does not know): such
/// an event is skipped with a `broken event: …` note on stderr, `broken`
/// naming what was wrong.
pub fn stream_decoded<S: EventMaps, T: plain::Plain + Default, R>(
    skel: &S,
    run: &crate::cli::RunArgs,
    table: &Table<'_, R>,
    mut decode: impl FnMut(&T) -> Option<R>,
    broken: impl Fn(&T) -> String,
) -> Result<()> {
    stream(skel, &run.common, run.duration, table, |e: &T| {
        let row = decode(e);
        if row.is_none() {
            crate::output::note(format_args!("broken event: {}", broken(e)));
        }
        row
    })
}

/// [`stream`] for records that are not one fixed struct (a header followed
/// by variable-length strings): `row` gets the record's bytes.
pub fn stream_records<S: EventMaps, R>(
    skel: &S,
    common: &CommonArgs,
    duration: Option<Duration>,
    table: &Table<'_, R>,
    mut row: impl FnMut(&[u8]) -> Option<R>,
) -> Result<()> {
    let out = Output::stdout(common.json)?;
    table.print_header(&out);
    let handler = |bytes: &[u8]| {
        if let Some(r) = row(bytes) {
            table.print(&out, &r);
        }
    };
    let events = skel.events();
    let event_loop = match events.map_type() {
        libbpf_rs::MapType::RingBuf => EventLoop::ring(events, &out, handler)?,
        libbpf_rs::MapType::PerfEventArray => EventLoop::perf(events, &out, handler)?,
        other => {
            return Err(anyhow!(
                "the `events` map is a {other:?}, not a ring or perf buffer"
            ));
        }
    };
    let event_loop = match skel.drops() {
        Some(drops) => event_loop.count_drops(drops),
        None => event_loop,
    };
    event_loop.duration(duration).run()
}

/// Prints the loss report the tools share; silent when nothing was lost.
pub fn report_lost(lost: u64) {
    if lost > 0 {
        crate::output::note(format_args!("{lost} events lost"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_unprinted_lines() {
        assert_eq!(left_line(0, true), None);
        assert_eq!(
            left_line(1, true).as_deref(),
            Some("1 event left unprinted at exit (printing could not keep up)")
        );
        assert_eq!(
            left_line(1234, true).as_deref(),
            Some("1234 events left unprinted at exit (printing could not keep up)")
        );
        assert_eq!(
            left_line(5, false).as_deref(),
            Some("at least 5 events left unprinted at exit (printing could not keep up)")
        );
    }

    #[test]
    fn gate_handles_then_counts_what_is_left() {
        let gate = Gate::default();
        let mut handled = 0;
        gate.start(Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(gate.event(Instant::now(), || handled += 1), 0);
        }
        gate.count_only();
        for _ in 0..5 {
            assert_eq!(gate.event(Instant::now(), || handled += 1), 0);
        }
        // handled + counted = every event the buffer held.
        assert_eq!((handled, gate.counted.get()), (3, 5));
        assert!(!gate.cut.get());
    }

    #[test]
    fn gate_cuts_a_pass_at_its_deadline_after_taking_the_event() {
        let gate = Gate::default();
        let mut handled = 0;
        gate.start(Duration::from_millis(10));
        let late = Instant::now() + Duration::from_secs(1);
        assert_eq!(gate.event(late, || handled += 1), -libc::EINTR);
        // The event libbpf handed over was handled, not dropped.
        assert_eq!(handled, 1);
        assert!(gate.cut.get());
        // Counting is cut the same way, and still counts the event it got.
        gate.count_only();
        gate.start(Duration::from_millis(10));
        assert_eq!(gate.event(late, || handled += 1), -libc::EINTR);
        assert_eq!((handled, gate.counted.get()), (1, 1));
        assert!(gate.cut.get());
    }
}
