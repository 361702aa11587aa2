//! bpfkit-exporter: the tools' BPF programs as Prometheus metrics.
//!
//! One [`Collector`] per file: it loads and attaches one skeleton (or a few,
//! for xdp), and at each scrape reads what BPF counted into [`Metrics`].
//! BPF maps are never cleared, so counters only go up. Collectors that send
//! events through a ring buffer fold them into counters in user space
//! ([`Collector::poll`], called between scrapes). Adding a collector is one
//! file and one line in [`COLLECTORS`].

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::rc::Rc;

use anyhow::Result;
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, MapFlags, OpenObject, RingBuffer, RingBufferBuilder};

use crate::bpf::Drops;
use crate::events::EventMaps;

pub mod metrics;
pub mod run;
pub mod server;
pub mod stats;

mod biolatency;
mod cpudist;
mod exec;
mod hardirqs;
mod oomkill;
mod opens;
mod runqlat;
mod runqlen;
mod signals;
mod softirqs;
mod syscount;
mod tcpconnect;
mod tcpconnlat;
mod tcplife;
mod tcprtt;
mod tcpstates;
mod xdp;

pub use metrics::{LabelCap, Metrics};

/// What every collector may need from the command line.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `-v` and `--btf`, as every tool takes them (`json` is unused).
    pub common: crate::cli::CommonArgs,
    /// Series per capped label (IRQ names, signals, errnos).
    pub max_series: usize,
    pub xdp_interfaces: Vec<String>,
    pub xdp_skb_mode: bool,
    /// runqlat: a histogram per PID namespace instead of one.
    pub runqlat_per_pidns: bool,
}

/// A loaded, attached collector. Dropping it detaches its programs.
pub trait Collector {
    /// Its loaded programs: name and fd (valid while the collector lives),
    /// for the per-program run time and count.
    fn programs(&self) -> Vec<(String, RawFd)>;

    /// Handles the events waiting in its ring buffer, if it has one.
    fn poll(&mut self) -> Result<()> {
        Ok(())
    }

    /// Events BPF could not hand over (full ring buffer or map) so far;
    /// None for a collector that cannot lose any.
    fn lost(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Adds its metrics (names without the `bpfkit_` prefix).
    fn collect(&mut self, out: &mut Metrics) -> Result<()>;
}

/// A collector that can be chosen with `--collectors`.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub about: &'static str,
    /// In the default set (runs on any kernel bpfkit supports, needs no argument).
    pub default: bool,
    pub load: fn(&Options) -> Result<Box<dyn Collector>>,
}

/// Every collector, in the order they load and appear in the output.
pub const COLLECTORS: &[Spec] = &[
    runqlat::SPEC,
    hardirqs::SPEC,
    softirqs::SPEC,
    tcprtt::SPEC,
    tcpconnlat::SPEC,
    tcpconnect::SPEC,
    tcpstates::SPEC,
    tcplife::SPEC,
    biolatency::SPEC,
    exec::SPEC,
    signals::SPEC,
    opens::SPEC,
    oomkill::SPEC,
    syscount::SPEC,
    cpudist::SPEC,
    runqlen::SPEC,
    xdp::SPEC,
];

/// The collectors to run: `--collectors` as given (checked), or the
/// defaults; `xdp` is added when interfaces are given.
pub fn select(names: Option<&[String]>, xdp_interfaces: &[String]) -> Result<Vec<&'static Spec>> {
    let mut chosen: Vec<&'static Spec> = match names {
        None => COLLECTORS.iter().filter(|s| s.default).collect(),
        Some(names) => {
            let mut v = Vec::new();
            for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
                let Some(spec) = COLLECTORS.iter().find(|s| s.name == n) else {
                    let known: Vec<&str> = COLLECTORS.iter().map(|s| s.name).collect();
                    anyhow::bail!(
                        "unknown collector '{n}' in --collectors: known are {}",
                        known.join(", ")
                    );
                };
                if !v.iter().any(|s: &&Spec| s.name == n) {
                    v.push(spec);
                }
            }
            v
        }
    };
    let has_xdp = chosen.iter().any(|s| s.name == xdp::SPEC.name);
    if !xdp_interfaces.is_empty() && !has_xdp {
        chosen.push(&COLLECTORS[COLLECTORS.len() - 1]);
    }
    if has_xdp && xdp_interfaces.is_empty() {
        anyhow::bail!("the xdp collector needs --xdp-interface IF (the interface to count on)");
    }
    Ok(chosen)
}

/// One loaded skeleton as a collector: `state` is what user space keeps
/// between scrapes (counts folded from ring-buffer events, label caps), and
/// `report` adds the metrics at each scrape. Programs and lost events come
/// from the skeleton itself.
struct Loaded<S, St> {
    // Declared first: dropped before the skeleton it reads from.
    ring: Option<RingBuffer<'static>>,
    state: Rc<RefCell<St>>,
    skel: S,
    report: Report<S, St>,
}

/// How a collector turns its skeleton's maps and its state into metrics.
type Report<S, St> = fn(&S, &mut St, &mut Metrics) -> Result<()>;

impl<S: Skel<'static> + Drops, St> Collector for Loaded<S, St> {
    fn programs(&self) -> Vec<(String, RawFd)> {
        loaded_programs(self.skel.object())
    }

    fn poll(&mut self) -> Result<()> {
        self.ring.as_ref().map_or(Ok(()), consume)
    }

    fn lost(&self) -> Result<Option<u64>> {
        self.skel.lost()
    }

    fn collect(&mut self, out: &mut Metrics) -> Result<()> {
        (self.report)(&self.skel, &mut self.state.borrow_mut(), out)
    }
}

/// A collector that reads what BPF counted in its maps at each scrape.
fn reading<S, St>(skel: S, state: St, report: Report<S, St>) -> Box<dyn Collector>
where
    S: Skel<'static> + Drops + 'static,
    St: 'static,
{
    let state = Rc::new(RefCell::new(state));
    Box::new(Loaded {
        ring: None,
        state,
        skel,
        report,
    })
}

/// A collector that folds each event of its skeleton's ring buffer into its
/// state (between scrapes, in [`Collector::poll`]).
fn folding<S, T, St>(
    skel: S,
    mut fold: impl FnMut(&mut St, &T) + 'static,
    report: Report<S, St>,
) -> Result<Box<dyn Collector>>
where
    S: Skel<'static> + EventMaps + 'static,
    T: plain::Plain + Default,
    St: Default + 'static,
{
    let state: Rc<RefCell<St>> = Rc::default();
    let sink = Rc::clone(&state);
    let ring = ring(skel.events(), move |e: &T| {
        if let Ok(mut s) = sink.try_borrow_mut() {
            fold(&mut s, e);
        }
    })?;
    Ok(Box::new(Loaded {
        ring: Some(ring),
        state,
        skel,
        report,
    }))
}

/// Storage for a skeleton's object that lives as long as the process: a
/// collector owns its skeleton, which borrows this.
fn object_storage() -> &'static mut MaybeUninit<OpenObject> {
    Box::leak(Box::new(MaybeUninit::uninit()))
}

/// The programs of a loaded object that the kernel holds (autoload on).
fn loaded_programs(object: &libbpf_rs::Object) -> Vec<(String, RawFd)> {
    use libbpf_rs::AsRawLibbpf;
    object
        .progs()
        .filter_map(|p| {
            // SAFETY: a plain libbpf getter: -1 for a program not loaded.
            let fd = unsafe { libbpf_sys::bpf_program__fd(p.as_libbpf_object().as_ptr()) };
            (fd >= 0).then(|| (p.name().to_string_lossy().into_owned(), fd))
        })
        .collect()
}

/// A ring buffer whose events (decoded as `T`) go to `handle`.
fn ring<T: plain::Plain + Default>(
    map: &dyn MapCore,
    mut handle: impl FnMut(&T) + 'static,
) -> Result<RingBuffer<'static>> {
    let mut builder = RingBufferBuilder::new();
    builder.add(map, move |bytes: &[u8]| {
        if let Some(event) = crate::decode::<T>(bytes) {
            handle(&event);
        }
        0
    })?;
    Ok(builder.build()?)
}

/// Handles what is waiting in `ring` without blocking.
fn consume(ring: &RingBuffer<'_>) -> Result<()> {
    match ring.consume() {
        Err(e) if e.kind() == libbpf_rs::ErrorKind::Interrupted => Ok(()),
        r => Ok(r?),
    }
}

/// Every entry of a hash map, decoded, left in place (counters only go up).
fn read_map<K, V>(map: &dyn MapCore) -> Result<Vec<(K, V)>>
where
    K: plain::Plain + Default,
    V: plain::Plain + Default,
{
    let mut keys: Vec<Vec<u8>> = map.keys().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(value) = map.lookup(&key, MapFlags::ANY)? else {
            continue;
        };
        if let (Some(k), Some(v)) = (crate::decode::<K>(&key), crate::decode::<V>(&value)) {
            entries.push((k, v));
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&Spec]) -> Vec<&'static str> {
        v.iter().map(|s| s.name).collect()
    }

    #[test]
    fn default_set_is_everything_but_xdp() {
        let d = select(None, &[]).unwrap();
        assert!(!names(&d).contains(&"xdp"));
        // syscount runs a program on every syscall: chosen, never default.
        assert!(!names(&d).contains(&"syscount"));
        // cpudist adds a second program on every context switch: opt in.
        assert!(!names(&d).contains(&"cpudist"));
        // runqlen's 99 Hz timer wakes idle CPUs: chosen, never default.
        assert!(!names(&d).contains(&"runqlen"));
        assert_eq!(d.len(), COLLECTORS.len() - 4);
        let d = select(None, &["lo".into()]).unwrap();
        assert_eq!(names(&d).last(), Some(&"xdp"));
    }

    #[test]
    fn chosen_collectors_are_checked() {
        let v = select(
            Some(&["tcprtt".into(), "runqlat".into(), "tcprtt".into()]),
            &[],
        )
        .unwrap();
        assert_eq!(names(&v), ["tcprtt", "runqlat"]);
        let e = select(Some(&["nope".into()]), &[]).unwrap_err().to_string();
        assert!(
            e.contains("unknown collector 'nope'") && e.contains("runqlat"),
            "{e}"
        );
        assert!(select(Some(&["xdp".into()]), &[]).is_err());
        let unique: std::collections::HashSet<_> = COLLECTORS.iter().map(|s| s.name).collect();
        assert_eq!(unique.len(), COLLECTORS.len());
    }
}
