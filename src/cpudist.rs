//! The keyed log2 histograms of cpudist (and runqlat's layout): one for the
//! whole system, or one per process (-P) or thread (-L), each after an
//! empty line and a `pid = N comm` header as libbpf-tools prints them.

use serde_json::json;

use crate::Output;
use crate::args::runqlat::Per;
use crate::hist::{Histogram, Spacing};
use crate::interval::Tick;

/// One histogram of `slots` for `key` (tgid, tid, or ~0 for all) whose
/// first task was `comm`.
pub fn print_hist(
    out: &Output,
    per: Per,
    unit: &str,
    tick: &Tick,
    key: u32,
    comm: &str,
    slots: &[u64],
) {
    let section = section(per, key, comm);
    let spacing = section.as_ref().map_or(Spacing::None, |_| Spacing::Before);
    let mut fields = tick.fields();
    if let Some((name, _)) = &section {
        fields[name] = json!(key);
        fields["comm"] = json!(comm);
    }
    Histogram::log2(slots, unit).print_spaced(
        out,
        spacing,
        section.as_ref().map(|s| s.1.as_str()),
        fields,
    );
}

/// The JSON key of a per-process/thread histogram and the line
/// libbpf-tools prints above it; none for the system-wide one.
pub fn section(per: Per, key: u32, comm: &str) -> Option<(&'static str, String)> {
    match per {
        Per::All => None,
        Per::Process => Some(("pid", format!("pid = {} {comm}", key as i32))),
        Per::Thread => Some(("tid", format!("tid = {} {comm}", key as i32))),
        Per::PidNs => Some(("pidns", format!("pidns = {key} {comm}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick() -> Tick {
        Tick {
            time: None,
            number: 1,
            last: true,
        }
    }

    #[test]
    fn tables_with_headers_and_json_keys() {
        let mut slots = [0u64; 36];
        slots[3] = 5;
        let (out, cap) = Output::captured(false);
        print_hist(&out, Per::Thread, "usecs", &tick(), 42, "spin", &slots);
        let text = cap.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(lines[1], "tid = 42 spin");
        assert_eq!(lines[2], "     usecs               : count    distribution");
        let (out, cap) = Output::captured(true);
        print_hist(&out, Per::Process, "msecs", &tick(), 7, "spin", &slots);
        let v = &cap.json_lines()[0];
        assert_eq!(
            (v["pid"].as_u64(), v["comm"].as_str()),
            (Some(7), Some("spin"))
        );
        assert_eq!(v["unit"], "msecs");
        assert_eq!(v["count"], 5);
        assert_eq!(section(Per::All, u32::MAX, "x"), None);
    }
}
