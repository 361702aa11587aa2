//! The exporter's life: bind, load the collectors (those that cannot load
//! are reported down, the others run), then serve scrapes until a signal.
//!
//! Everything BPF lives on this thread: collectors are not `Send`, and
//! serializing scrapes here makes concurrent scrapes safe. Connections are
//! read and answered on threads of their own (server.rs).

use std::time::{Duration, Instant};

use anyhow::Result;

use super::metrics::Metrics;
use super::{COLLECTORS, Collector, Options, Spec, server, stats};
use crate::args::bpfkit_exporter::Args;
use crate::{output, stop};

/// How often ring buffers are emptied between scrapes, and how soon a
/// stop request is noticed.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A collector as the exporter tracks it.
struct Slot {
    spec: &'static Spec,
    /// None: it could not load (said once on stderr; reported down).
    collector: Option<Box<dyn Collector>>,
    /// The last error said on stderr, so a failing scrape is not repeated.
    last_error: Option<String>,
}

/// The whole exporter (the binary's body).
pub fn run(args: Args) -> Result<()> {
    if args.list_collectors {
        for s in COLLECTORS {
            let default = if s.default { " (default)" } else { "" };
            println!("{:<11} {}{default}", s.name, s.about);
        }
        return Ok(());
    }
    catch_sigquit();
    let chosen = super::select(args.collectors.as_deref(), &args.xdp_interfaces)?;
    // Before loading anything: a bad address or a busy port ends here.
    let server = server::bind(&args.listen)?;
    let opts = Options {
        common: crate::cli::CommonArgs {
            json: false,
            verbose: args.verbose,
            btf: args.btf.clone(),
        },
        max_series: args.max_series as usize,
        xdp_interfaces: args.xdp_interfaces.clone(),
        xdp_skb_mode: args.xdp_skb_mode,
        runqlat_per_pidns: args.runqlat_per_pidns,
    };
    let mut slots: Vec<Slot> = chosen.into_iter().map(|spec| load(spec, &opts)).collect();
    let up: Vec<&str> = slots
        .iter()
        .filter(|s| s.collector.is_some())
        .map(|s| s.spec.name)
        .collect();
    output::note(format_args!(
        "serving http://{}/metrics; collectors up: {}",
        args.listen.addr,
        if up.is_empty() {
            "none".to_string()
        } else {
            up.join(", ")
        }
    ));
    while !stop::requested() {
        poll_all(&mut slots);
        if let Some(request) = server.next(POLL_INTERVAL) {
            handle(request, &mut slots);
        }
    }
    drop(server);
    // Dropping the collectors detaches and unloads every program.
    drop(slots);
    Ok(())
}

fn load(spec: &'static Spec, opts: &Options) -> Slot {
    match (spec.load)(opts) {
        Ok(c) => Slot {
            spec,
            collector: Some(c),
            last_error: None,
        },
        Err(e) => {
            output::note(format_args!("collector {} is down: {e:#}", spec.name));
            Slot {
                spec,
                collector: None,
                last_error: Some(format!("{e:#}")),
            }
        }
    }
}

fn poll_all(slots: &mut [Slot]) {
    for slot in slots.iter_mut() {
        if let Some(c) = slot.collector.as_mut()
            && let Err(e) = c.poll()
        {
            note_once(slot.spec.name, &mut slot.last_error, &e);
        }
    }
}

/// Says a collector's error on stderr unless it is the one said last.
fn note_once(name: &str, last: &mut Option<String>, e: &anyhow::Error) {
    let text = format!("{e:#}");
    if last.as_deref() != Some(&text) {
        output::note(format_args!("collector {name}: {text}"));
        *last = Some(text);
    }
}

fn handle(request: server::Request, slots: &mut [Slot]) {
    let openmetrics = matches!(request.route, server::Route::Metrics { openmetrics: true });
    let response = match scrape(slots).encode(openmetrics) {
        Ok(body) => server::Response {
            status: 200,
            content_type: if openmetrics {
                server::OPENMETRICS_TEXT
            } else {
                server::PROMETHEUS_TEXT
            },
            body,
        },
        Err(_) => server::Response {
            status: 500,
            content_type: "text/plain",
            body: "encoding the metrics failed\n".into(),
        },
    };
    // The connection may be gone already: nothing to do then.
    let _ = request.reply.send(response);
}

/// One scrape: every collector's metrics, then the exporter's own.
fn scrape(slots: &mut [Slot]) -> Metrics {
    let start = Instant::now();
    let mut m = Metrics::default();
    let mut own = Metrics::default();
    let stats_on = stats::bpf_stats_enabled();
    for slot in slots.iter_mut() {
        let name = slot.spec.name;
        let label = || vec![("collector", name.to_string())];
        let t = Instant::now();
        let mut up = false;
        if let Some(c) = slot.collector.as_mut() {
            let _ = c.poll();
            match c.collect(&mut m) {
                Ok(()) => up = true,
                Err(e) => note_once(name, &mut slot.last_error, &e),
            }
            let programs = c.programs();
            own.gauge(
                "bpf_programs_loaded",
                "BPF programs the collector has loaded.",
                label(),
                programs.len() as f64,
            );
            match c.lost() {
                Ok(None) => {}
                Ok(Some(n)) => own.counter(
                    "events_lost",
                    "Events BPF could not hand over (full ring buffer or map).",
                    label(),
                    n,
                ),
                Err(e) => note_once(name, &mut slot.last_error, &e),
            }
            if stats_on {
                for (prog, fd) in programs {
                    if let Some((ns, runs)) = stats::program_run_stats(fd) {
                        let labels = vec![("collector", name.to_string()), ("program", prog)];
                        own.counter_f(
                            "bpf_program_run_seconds",
                            "Time BPF programs ran (counted while kernel.bpf_stats_enabled=1).",
                            labels.clone(),
                            ns as f64 * 1e-9,
                        );
                        own.counter(
                            "bpf_program_runs",
                            "Times BPF programs ran (counted while kernel.bpf_stats_enabled=1).",
                            labels,
                            runs,
                        );
                    }
                }
            }
        }
        own.gauge(
            "collector_up",
            "1 when the collector is loaded and its last collection worked, else 0.",
            label(),
            if up { 1.0 } else { 0.0 },
        );
        own.gauge(
            "collector_scrape_duration_seconds",
            "Time the collector took in this scrape.",
            label(),
            t.elapsed().as_secs_f64(),
        );
    }
    own.gauge(
        "bpf_stats_enabled",
        "1 when kernel.bpf_stats_enabled is on (per-program run time is counted).",
        vec![],
        if stats_on { 1.0 } else { 0.0 },
    );
    own.gauge(
        "scrape_duration_seconds",
        "Time this scrape took to collect every metric.",
        vec![],
        start.elapsed().as_secs_f64(),
    );
    m.families.extend(own.families);
    m
}

/// SIGQUIT ends the exporter like SIGINT/SIGTERM/SIGHUP (which `ctrlc`
/// handles) instead of dumping core.
fn catch_sigquit() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    extern "C" fn on_quit(_: libc::c_int) {
        stop::request();
    }
    let action = SigAction::new(
        SigHandler::Handler(on_quit),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    let _ = unsafe { sigaction(Signal::SIGQUIT, &action) };
}
