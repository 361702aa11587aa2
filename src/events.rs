//! The event loop every streaming tool runs: one interface over BPF ring
//! buffers and perf buffers.
//!
//! It polls until SIGINT/SIGTERM, the optional duration, or a closed stdout;
//! flushes output once per poll cycle; treats EINTR as a normal wake-up; and
//! at the end drains what is left and reports lost events on stderr
//! (ring-buffer reserve failures counted in BPF plus perf-buffer losses).

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
    /// Ring buffers: when the current poll must hand back control.
    handle_until: Rc<Cell<Option<Instant>>>,
    /// Set when a poll was cut short by `handle_until`.
    cut: Rc<Cell<bool>>,
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
        let handle_until: Rc<Cell<Option<Instant>>> = Rc::default();
        let cut: Rc<Cell<bool>> = Rc::default();
        let (until, was_cut) = (Rc::clone(&handle_until), Rc::clone(&cut));
        let mut builder = RingBufferBuilder::new();
        builder
            .add(map, move |data: &[u8]| {
                handler(data);
                // libbpf has already consumed this sample when it calls us,
                // so stop only after handling it: a negative return ends the
                // poll (seen by the loop as EINTR) and the rest stays queued.
                if until.get().is_some_and(|u| Instant::now() >= u) {
                    was_cut.set(true);
                    return -libc::EINTR;
                }
                0
            })
            .context("setting up the ring buffer")?;
        let ring = builder.build().context("setting up the ring buffer")?;
        let mut this = Self::new(Source::Ring(ring), out);
        this.handle_until = handle_until;
        this.cut = cut;
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
        let perf = PerfBufferBuilder::new(map)
            .pages(64)
            .sample_cb(move |_cpu: i32, data: &[u8]| handler(data))
            .lost_cb(move |_cpu: i32, count: u64| lost_cb.set(lost_cb.get() + count))
            .build()
            .context("setting up the perf buffer")?;
        let mut this = Self::new(Source::Perf(perf), out);
        this.perf_lost = lost;
        Ok(this)
    }

    fn new(source: Source<'a>, out: &'a Output) -> Self {
        EventLoop {
            source,
            out,
            drop_maps: Vec::new(),
            perf_lost: Rc::new(Cell::new(0)),
            duration: None,
            handle_until: Rc::default(),
            cut: Rc::default(),
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
        let deadline = self.duration.map(|d| Instant::now() + d);
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
            self.handle_until
                .set(Some(Instant::now() + timeout + HANDLE_BUDGET));
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
        if !self.out.is_closed() {
            // Events already in the buffer were produced before the stop:
            // print them rather than lose them (within the budget).
            self.cut.set(false);
            self.handle_until.set(Some(Instant::now() + HANDLE_BUDGET));
            let _ = match &self.source {
                Source::Ring(r) => r.consume(),
                Source::Perf(p) => p.consume(),
            };
            if self.cut.get() {
                crate::output::note(format_args!(
                    "stopped with events still buffered: printing could not keep up with them"
                ));
            }
        }
        let result = self.out.finish();
        report_lost(self.lost()?);
        result
    }
}

/// The maps of an event tool's BPF object: its `events` ring or perf buffer
/// and, where it includes `drops.bpf.h`, its reserve-failure counter.
/// build.rs implements it for every skeleton that defines `events`.
pub trait EventMaps {
    fn events(&self) -> &libbpf_rs::MapMut<'_>;
    fn drops(&self) -> Option<&libbpf_rs::MapMut<'_>>;
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
