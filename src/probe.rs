//! What this kernel offers: tracefs, tracepoints, BTF.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub const TRACEFS_FIX: &str = "mount -t tracefs nodev /sys/kernel/tracing";
const TRACEFS_ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
/// Where tracefs is mounted when we mount it (as bpftool does).
const TRACEFS_MOUNT_POINT: &str = "/sys/kernel/tracing";

/// The mounted tracefs directory (where libbpf looks up tracepoint ids).
pub fn tracefs() -> Option<PathBuf> {
    match tracefs_state() {
        TracefsState::Mounted(p) => Some(p),
        _ => None,
    }
}

/// Where tracefs stands, as this process sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TracefsState {
    Mounted(PathBuf),
    /// Mounted, but this user may not look inside (the kernel mounts it
    /// 0700): a process with CAP_BPF and CAP_PERFMON but not root.
    Unreadable(PathBuf),
    NotMounted,
}

pub fn tracefs_state() -> TracefsState {
    for root in TRACEFS_ROOTS.iter().map(PathBuf::from) {
        match std::fs::metadata(root.join("events")) {
            Ok(m) if m.is_dir() => return TracefsState::Mounted(root),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return TracefsState::Unreadable(root);
            }
            _ => {}
        }
    }
    TracefsState::NotMounted
}

/// The error for a tracefs that this user cannot read.
fn unreadable_error(root: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "tracefs at {} is not readable by this user (tracepoints need it): run as root, \
         or with CAP_DAC_READ_SEARCH besides CAP_BPF and CAP_PERFMON",
        root.display()
    )
}

/// The tracefs root; when tracefs is not mounted, mounts it at
/// /sys/kernel/tracing (saying so on stderr) if this process may, else an
/// error that says how to mount it.
pub fn require_tracefs() -> Result<PathBuf> {
    match tracefs_state() {
        TracefsState::Mounted(p) => Ok(p),
        TracefsState::Unreadable(p) => Err(unreadable_error(&p)),
        TracefsState::NotMounted => mount_tracefs(),
    }
}

/// Mounts tracefs at [`TRACEFS_MOUNT_POINT`], once per process.
fn mount_tracefs() -> Result<PathBuf> {
    use nix::mount::{MsFlags, mount};
    static TRIED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let not_mounted =
        || anyhow::anyhow!("tracefs is not mounted (tracepoints need it): run `{TRACEFS_FIX}`");
    let mut tried = TRIED.lock().unwrap_or_else(|e| e.into_inner());
    if *tried {
        return Err(not_mounted());
    }
    *tried = true;
    let target = Path::new(TRACEFS_MOUNT_POINT);
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    match mount(Some("nodev"), target, Some("tracefs"), flags, None::<&str>) {
        Ok(()) if target.join("events").is_dir() => {
            crate::output::note(format_args!("mounted tracefs at {TRACEFS_MOUNT_POINT}"));
            Ok(target.to_path_buf())
        }
        // Not permitted (no CAP_SYS_ADMIN), no tracefs in this kernel...:
        // the user gets the command to run.
        _ => Err(not_mounted()),
    }
}

/// Whether attaching a program of ELF section `section` goes through
/// tracefs: tracepoints always (libbpf reads their ids there); kprobes and
/// uprobes (USDT too) only on kernels without their perf PMU. Raw and BTF
/// tracepoints, fentry, perf events, tc and XDP never do.
pub fn section_needs_tracefs(section: &str) -> bool {
    let kind = section.split('/').next().unwrap_or(section);
    match kind.trim_end_matches('+') {
        "tracepoint" | "tp" => true,
        "kprobe" | "kretprobe" | "ksyscall" | "kretsyscall" => {
            !Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        }
        "uprobe" | "uretprobe" | "uprobe.s" | "uretprobe.s" | "usdt" => {
            !Path::new("/sys/bus/event_source/devices/uprobe/type").exists()
        }
        _ => false,
    }
}

/// Whether tracepoint `category:name` exists on this kernel.
pub fn tracepoint_exists(category: &str, name: &str) -> Result<bool> {
    let root = require_tracefs()?;
    Ok(root.join("events").join(category).join(name).is_dir())
}

/// Capability bits from /proc/self/status `CapEff`.
fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Fails when this process can neither load nor attach BPF programs:
/// it needs CAP_SYS_ADMIN, or CAP_BPF together with CAP_PERFMON.
pub fn require_bpf_privileges() -> Result<()> {
    let caps = effective_caps();
    let has = |cap: u32| caps & (1u64 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    bail!(
        "permission denied: loading BPF programs needs root, or the CAP_BPF and \
         CAP_PERFMON capabilities (run with sudo)"
    )
}

// ---------------------------------------------------------------------------
// Kernel-function hooks: fentry → kprobe → tracepoint.

/// How a tool hooks the kernel, in the order `auto` tries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mechanism {
    /// fentry/fexit (BPF trampolines): cheapest, typed arguments.
    Fentry,
    /// kprobe/kretprobe.
    Kprobe,
    /// Stable tracepoints (or raw/BTF tracepoints).
    Tracepoint,
}

impl Mechanism {
    pub const ALL: [Mechanism; 3] = [Mechanism::Fentry, Mechanism::Kprobe, Mechanism::Tracepoint];

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Fentry => "fentry",
            Mechanism::Kprobe => "kprobe",
            Mechanism::Tracepoint => "tracepoint",
        }
    }

    /// The mechanism a BPF program's ELF section belongs to.
    pub fn of_section(section: &str) -> Option<Mechanism> {
        let kind = section.split('/').next().unwrap_or(section);
        match kind.trim_end_matches('+') {
            "fentry" | "fexit" | "fmod_ret" | "fentry.s" | "fexit.s" => Some(Mechanism::Fentry),
            "kprobe" | "kretprobe" | "ksyscall" | "kretsyscall" | "kprobe.multi"
            | "kretprobe.multi" => Some(Mechanism::Kprobe),
            "tracepoint" | "tp" | "raw_tracepoint" | "raw_tp" | "tp_btf" => {
                Some(Mechanism::Tracepoint)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `--probe auto|fentry|kprobe|tracepoint`, for tools that hook kernel functions.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ProbeArgs {
    /// Hook mechanism: auto picks the first that works of fentry, kprobe, tracepoint
    #[arg(
        long = "probe",
        value_name = "auto|fentry|kprobe|tracepoint",
        value_parser = parse_probe_mode,
        default_value = "auto",
        env = "BPFKIT_PROBE"
    )]
    pub mechanism: ProbeMode,
}

/// `auto`, or one forced mechanism.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProbeMode {
    #[default]
    Auto,
    Force(Mechanism),
}

pub fn parse_probe_mode(s: &str) -> Result<ProbeMode, String> {
    match s {
        "auto" => Ok(ProbeMode::Auto),
        "fentry" => Ok(ProbeMode::Force(Mechanism::Fentry)),
        "kprobe" => Ok(ProbeMode::Force(Mechanism::Kprobe)),
        "tracepoint" => Ok(ProbeMode::Force(Mechanism::Tracepoint)),
        _ => Err(format!(
            "'{s}' is not one of auto, fentry, kprobe, tracepoint"
        )),
    }
}

/// What a tool needs from the kernel for each mechanism.
#[derive(Clone, Debug, Default)]
pub struct Needs {
    /// Kernel functions hooked by the fentry/fexit programs.
    pub fentry: Vec<&'static str>,
    /// Kernel functions hooked by the kprobe/kretprobe programs.
    pub kprobe: Vec<&'static str>,
    /// Tracepoints (`category:name`) used by the tracepoint programs.
    pub tracepoint: Vec<&'static str>,
}

/// The mechanism chosen and why the ones before it were not.
#[derive(Clone, Debug)]
pub struct Choice {
    pub mechanism: Mechanism,
    /// One stderr line: `using fentry`, `using tracepoint sock:… (no kprobes, fentry refused)`.
    pub message: String,
}

/// Why `mechanism` cannot be used for `needs` on this kernel, or `None` if it can.
pub fn unavailable_reason(mechanism: Mechanism, needs: &Needs) -> Option<String> {
    match mechanism {
        Mechanism::Fentry => {
            if needs.fentry.is_empty() {
                return Some("this tool has no fentry programs".into());
            }
            needs
                .fentry
                .iter()
                .zip(fentry_can_attach_all(&needs.fentry))
                .find_map(|(f, support)| match support {
                    FentrySupport::Yes => None,
                    FentrySupport::NotInBtf => Some(format!("{f} is not in kernel BTF")),
                    FentrySupport::Refused(e) => Some(format!("fentry refused: {e}")),
                })
        }
        Mechanism::Kprobe => {
            if needs.kprobe.is_empty() {
                return Some("this tool has no kprobe programs".into());
            }
            if !kprobes_available() {
                return Some("no kprobes".into());
            }
            needs
                .kprobe
                .iter()
                .zip(kernel_functions_exist(&needs.kprobe))
                .find(|(_, exists)| !exists)
                .map(|(f, _)| format!("{f} not in kallsyms"))
        }
        Mechanism::Tracepoint => {
            if needs.tracepoint.is_empty() {
                return Some("this tool has no tracepoint programs".into());
            }
            if let Err(e) = require_tracefs() {
                return Some(e.to_string());
            }
            needs.tracepoint.iter().find_map(|tp| {
                let (cat, name) = tp.split_once(':').unwrap_or(("", tp));
                match tracepoint_exists(cat, name) {
                    Ok(true) => None,
                    _ => Some(format!("tracepoint {tp} does not exist")),
                }
            })
        }
    }
}

/// Picks the mechanism: the forced one if it works (else an error naming it),
/// or the first that works in fentry → kprobe → tracepoint order.
pub fn choose(mode: ProbeMode, needs: &Needs) -> Result<Choice> {
    if let ProbeMode::Force(m) = mode {
        return match unavailable_reason(m, needs) {
            None => Ok(Choice {
                mechanism: m,
                message: using_line(m, needs, &[]),
            }),
            Some(why) => bail!("--probe {m} is not available on this kernel: {why}"),
        };
    }
    let mut skipped = Vec::new();
    for m in Mechanism::ALL {
        match unavailable_reason(m, needs) {
            None => {
                return Ok(Choice {
                    mechanism: m,
                    message: using_line(m, needs, &skipped),
                });
            }
            Some(why) => skipped.push(why),
        }
    }
    bail!("no way to hook the kernel here: {}", skipped.join("; "))
}

fn using_line(m: Mechanism, needs: &Needs, skipped: &[String]) -> String {
    let mut s = format!("using {m}");
    if m == Mechanism::Tracepoint && !needs.tracepoint.is_empty() {
        s.push(' ');
        s.push_str(&needs.tracepoint.join(", "));
    }
    let skipped: Vec<&str> = skipped
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with("this tool has no"))
        .collect();
    if !skipped.is_empty() {
        s.push_str(&format!(" ({})", skipped.join(", ")));
    }
    s
}

/// Turns on exactly the programs of `chosen` (by ELF section) and turns off
/// the others, so load never verifies a program this kernel cannot take.
pub fn select_programs(object: &mut libbpf_rs::OpenObject, chosen: Mechanism) {
    for mut prog in object.progs_mut() {
        let section = prog.section().to_string_lossy().into_owned();
        if let Some(m) = Mechanism::of_section(&section) {
            prog.set_autoload(m == chosen);
        }
    }
}

/// Chooses the mechanism for `mode`, turns on exactly its programs in the
/// open object, and says on stderr which one is used (and why not the
/// ones before it). The one call a kernel-function tool makes.
pub fn apply(
    object: &mut libbpf_rs::OpenObject,
    mode: ProbeMode,
    needs: &Needs,
) -> Result<Mechanism> {
    let choice = choose(mode, needs)?;
    select_programs(object, choice.mechanism);
    crate::output::note(format_args!("{}", choice.message));
    Ok(choice.mechanism)
}

// ---------------------------------------------------------------------------
// BTF-typed tracepoints (tp_btf) → raw tracepoints (raw_tp).

/// Which flavour of raw tracepoint a tool's programs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawTpStyle {
    /// `tp_btf/<name>`: typed arguments, direct memory access.
    Btf,
    /// `raw_tp/<name>`: untyped arguments read with BPF_CORE_READ.
    Raw,
}

/// Environment variable that forces `raw_tp` (for testing the fallback).
pub const FORCE_RAW_TP_ENV: &str = "BPFKIT_RAW_TP";

/// Whether a tp_btf program can be loaded and attached for raw tracepoint
/// `name` (e.g. `sched_switch`): BTF must describe `btf_trace_<name>` and
/// the kernel must accept a trial program.
pub fn tp_btf_can_attach(name: &str) -> FentrySupport {
    tp_btf_can_attach_all(&[name]).remove(0)
}

/// [`tp_btf_can_attach`] for several tracepoints, parsing BTF once. Where
/// the kernel refuses tp_btf it refuses them all, so only the first in BTF
/// gets the trial program; the others need only be described.
pub fn tp_btf_can_attach_all(names: &[&str]) -> Vec<FentrySupport> {
    let typedefs: Vec<String> = names.iter().map(|n| format!("btf_trace_{n}")).collect();
    let refs: Vec<&str> = typedefs.iter().map(String::as_str).collect();
    let mut trial: Option<FentrySupport> = None;
    vmlinux_btf_ids(&refs, libbpf_sys::BTF_KIND_TYPEDEF)
        .into_iter()
        .map(|id| match (id, &trial) {
            (None, _) => FentrySupport::NotInBtf,
            (Some(_), Some(result)) => result.clone(),
            (Some(_), None) => {
                let result = trial_tracing_program(id, libbpf_sys::BPF_TRACE_RAW_TP);
                trial = Some(result.clone());
                result
            }
        })
        .collect()
}

/// Chooses tp_btf when every tracepoint in `names` takes it, else raw_tp
/// (or raw_tp when BPFKIT_RAW_TP=1), turns on only the programs of that
/// style (by ELF section), and says which on stderr.
pub fn apply_raw_tp_style(object: &mut libbpf_rs::OpenObject, names: &[&str]) -> RawTpStyle {
    let forced = std::env::var(FORCE_RAW_TP_ENV).is_ok_and(|v| v == "1");
    let refusal = if forced {
        Some(format!("{FORCE_RAW_TP_ENV}=1"))
    } else {
        names
            .iter()
            .zip(tp_btf_can_attach_all(names))
            .find_map(|(n, support)| match support {
                FentrySupport::Yes => None,
                FentrySupport::NotInBtf => Some(format!("btf_trace_{n} not in kernel BTF")),
                FentrySupport::Refused(e) => Some(format!("tp_btf refused: {e}")),
            })
    };
    let style = if refusal.is_some() {
        RawTpStyle::Raw
    } else {
        RawTpStyle::Btf
    };
    for mut prog in object.progs_mut() {
        let section = prog.section().to_string_lossy().into_owned();
        let kind = section.split('/').next().unwrap_or_default();
        match kind {
            "tp_btf" => prog.set_autoload(style == RawTpStyle::Btf),
            "raw_tp" | "raw_tracepoint" => prog.set_autoload(style == RawTpStyle::Raw),
            _ => {}
        }
    }
    match refusal {
        None => crate::output::note(format_args!("using tp_btf")),
        Some(why) => crate::output::note(format_args!("using raw_tp ({why})")),
    }
    style
}

/// Result of the fentry trial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FentrySupport {
    Yes,
    NotInBtf,
    /// The kernel refused the trial load or attach (errno name, e.g. EPERM).
    Refused(String),
}

/// Whether fentry programs can really be loaded *and* attached to each of
/// `funcs`: BTF must describe the function and the kernel must accept a
/// trial program (EPERM from lockdown or a missing trampoline counts as
/// no). BTF is parsed once for all of them.
pub fn fentry_can_attach_all(funcs: &[&str]) -> Vec<FentrySupport> {
    let ids = vmlinux_btf_ids(funcs, libbpf_sys::BTF_KIND_FUNC);
    // A module's function (ext4_file_read_iter): its BTF is the module's.
    let in_modules: Vec<&str> = funcs
        .iter()
        .zip(&ids)
        .filter(|(_, id)| id.is_none())
        .map(|(f, _)| *f)
        .collect();
    let mut modules = if in_modules.is_empty() {
        Vec::new()
    } else {
        crate::modbtf::fentry_support(&in_modules)
    }
    .into_iter();
    ids.into_iter()
        .map(|id| match id {
            None => modules.next().unwrap_or(FentrySupport::NotInBtf),
            id => trial_tracing_program(id, libbpf_sys::BPF_TRACE_FENTRY),
        })
        .collect()
}

/// BTF type ids of `names` (of `kind`) in vmlinux, parsing its BTF once
/// (a few ms per parse: the trials of a tool share one).
fn vmlinux_btf_ids(names: &[&str], kind: u32) -> Vec<Option<u32>> {
    use std::ffi::CString;
    // SAFETY: plain libbpf C calls on a pointer checked for NULL and freed once.
    unsafe {
        let btf = libbpf_sys::btf__load_vmlinux_btf();
        if btf.is_null() {
            return vec![None; names.len()];
        }
        let ids = names
            .iter()
            .map(|n| {
                let c = CString::new(*n).ok()?;
                let id = libbpf_sys::btf__find_by_name_kind(btf, c.as_ptr(), kind);
                (id > 0).then_some(id as u32)
            })
            .collect();
        libbpf_sys::btf__free(btf);
        ids
    }
}

/// Loads and attaches a do-nothing BPF_PROG_TYPE_TRACING program for the
/// vmlinux BTF type id `id` (None: not in BTF), then detaches it.
fn trial_tracing_program(
    id: Option<u32>,
    attach_type: libbpf_sys::bpf_attach_type,
) -> FentrySupport {
    match id {
        Some(id) => trial_tracing_program_in(0, id, attach_type),
        None => FentrySupport::NotInBtf,
    }
}

/// Loads and attaches a do-nothing tracing program of `attach_type` on BTF
/// type `id` of the BTF object `btf_obj_fd` (0: vmlinux; a module's fd for
/// its functions), then detaches it.
pub(crate) fn trial_tracing_program_in(
    btf_obj_fd: i32,
    id: u32,
    attach_type: libbpf_sys::bpf_attach_type,
) -> FentrySupport {
    let insn = |code: u8| libbpf_sys::bpf_insn {
        code,
        _bitfield_align_1: [],
        _bitfield_1: libbpf_sys::bpf_insn::new_bitfield_1(0, 0),
        off: 0,
        imm: 0,
    };
    // r0 = 0; exit
    let insns = [insn(0xb7), insn(0x95)];
    // SAFETY: plain libbpf C calls; every fd is closed.
    unsafe {
        let mut opts = libbpf_sys::bpf_prog_load_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
            expected_attach_type: attach_type,
            attach_btf_id: id,
            attach_btf_obj_fd: btf_obj_fd as _,
            ..Default::default()
        };
        let fd = libbpf_sys::bpf_prog_load(
            libbpf_sys::BPF_PROG_TYPE_TRACING,
            std::ptr::null(),
            c"GPL".as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut opts,
        );
        if fd < 0 {
            return FentrySupport::Refused(crate::fmt::errno_name(-fd));
        }
        let link = libbpf_sys::bpf_raw_tracepoint_open(std::ptr::null(), fd);
        libc::close(fd);
        if link < 0 {
            return FentrySupport::Refused(crate::fmt::errno_name(-link));
        }
        libc::close(link);
    }
    FentrySupport::Yes
}

/// Whether this kernel has kprobes (the kprobe PMU or tracefs `kprobe_events`).
pub fn kprobes_available() -> bool {
    Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || tracefs().is_some_and(|t| t.join("kprobe_events").exists())
}

/// Which of `funcs` are kernel text symbols, in one read of
/// /proc/kallsyms (5 MB of text the kernel generates on every read: ~60 ms
/// here, seconds in an emulated guest).
pub fn kernel_functions_exist(funcs: &[&str]) -> Vec<bool> {
    match std::fs::read_to_string("/proc/kallsyms") {
        Ok(text) => kallsyms_functions(&text, funcs),
        Err(_) => vec![false; funcs.len()],
    }
}

fn kallsyms_functions(kallsyms: &str, funcs: &[&str]) -> Vec<bool> {
    let mut found = vec![false; funcs.len()];
    for line in kallsyms.lines() {
        let mut parts = line.split_whitespace();
        let (_addr, kind, name) = (parts.next(), parts.next(), parts.next());
        if !matches!(kind, Some("t" | "T")) {
            continue;
        }
        for (i, f) in funcs.iter().enumerate() {
            found[i] |= name == Some(*f);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_map_to_mechanisms() {
        assert_eq!(
            Mechanism::of_section("fentry/do_unlinkat"),
            Some(Mechanism::Fentry)
        );
        assert_eq!(
            Mechanism::of_section("fexit/do_unlinkat"),
            Some(Mechanism::Fentry)
        );
        assert_eq!(
            Mechanism::of_section("kretprobe/do_unlinkat"),
            Some(Mechanism::Kprobe)
        );
        assert_eq!(
            Mechanism::of_section("tracepoint/syscalls/sys_enter_unlinkat"),
            Some(Mechanism::Tracepoint)
        );
        assert_eq!(
            Mechanism::of_section("tp_btf/sched_switch"),
            Some(Mechanism::Tracepoint)
        );
        assert_eq!(Mechanism::of_section("uprobe//bin/bash:readline"), None);
    }

    #[test]
    fn probe_mode_parsing() {
        assert_eq!(parse_probe_mode("auto"), Ok(ProbeMode::Auto));
        assert_eq!(
            parse_probe_mode("kprobe"),
            Ok(ProbeMode::Force(Mechanism::Kprobe))
        );
        assert!(parse_probe_mode("uprobe").is_err());
    }

    #[test]
    fn kallsyms_lookup_wants_text_symbols() {
        let ks = "ffffffff81000000 T _stext\nffffffff81234560 t do_unlinkat\nffffffff82000000 D do_data\n";
        assert_eq!(
            kallsyms_functions(ks, &["do_unlinkat", "do_data", "do_unlink"]),
            [true, false, false]
        );
        assert_eq!(kallsyms_functions(ks, &[]), [false; 0]);
    }

    #[test]
    fn sections_that_go_through_tracefs() {
        assert!(section_needs_tracefs(
            "tracepoint/syscalls/sys_enter_openat"
        ));
        assert!(section_needs_tracefs("tp/sched/sched_process_exec"));
        for section in [
            "tp_btf/sched_switch",
            "raw_tp/sched_switch",
            "raw_tracepoint/sched_wakeup",
            "fentry/do_unlinkat",
            "perf_event",
            "tc",
            "xdp",
        ] {
            assert!(!section_needs_tracefs(section), "{section}");
        }
        // kprobes and uprobes need it only without their PMU.
        let kprobe_pmu = Path::new("/sys/bus/event_source/devices/kprobe/type").exists();
        assert_eq!(section_needs_tracefs("kprobe/do_unlinkat"), !kprobe_pmu);
        let uprobe_pmu = Path::new("/sys/bus/event_source/devices/uprobe/type").exists();
        assert_eq!(section_needs_tracefs("uretprobe"), !uprobe_pmu);
        assert_eq!(section_needs_tracefs("usdt"), !uprobe_pmu);
    }

    #[test]
    fn using_line_explains_fallbacks() {
        let needs = Needs {
            tracepoint: vec!["sock:inet_sock_set_state"],
            ..Default::default()
        };
        let line = using_line(
            Mechanism::Tracepoint,
            &needs,
            &["fentry refused: EPERM".into(), "no kprobes".into()],
        );
        assert_eq!(
            line,
            "using tracepoint sock:inet_sock_set_state (fentry refused: EPERM, no kprobes)"
        );
        assert_eq!(using_line(Mechanism::Fentry, &needs, &[]), "using fentry");
    }
}
