//! Network interfaces for the packet tools (tcsnoop, xdpcount): name →
//! ifindex, and attaching `SEC("tc")` / `SEC("xdp")` programs so that
//! nothing of ours outlives the tool.
//!
//! - XDP goes through a BPF link (`BPF_LINK_CREATE`, kernel 5.9+): the
//!   kernel detaches it when the link's fd closes, even if the tool is
//!   killed. Native (driver) mode is asked for first; where the driver has
//!   none, generic (skb) mode, said on stderr. An interface that already
//!   has someone's XDP program is refused, naming it.
//! - tc goes through a tcx link (kernel 6.6+), also fd-owned and needing no
//!   qdisc; older kernels get a classic `cls_bpf` filter on a `clsact`
//!   qdisc (libbpf's `bpf_tc_*`), or for ingress on a classic `ingress`
//!   qdisc found there (egress is refused: it has no egress hook). That
//!   filter is not fd-owned, so [`TcAttachment`] removes it, and the
//!   `clsact` qdisc too when the tool created it and no one else's filter
//!   uses it; a thread watches that the filter stays, and stops the tool
//!   when someone removes it (the tool would be blind).
//! - Which qdisc an interface has and which filters are on it, libbpf
//!   cannot say: a small rtnetlink dump (like `tc qdisc show`) does.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex};

use anyhow::{Result, bail};

/// The index of interface `name`, or an error saying there is none.
pub fn ifindex(name: &str) -> Result<u32> {
    let bad = || anyhow::anyhow!("no such interface: {name} (see `ip link show`)");
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(bad());
    }
    let c = CString::new(name).map_err(|_| bad())?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 { Err(bad()) } else { Ok(idx) }
}

/// `EOPNOTSUPP` for 95; also the kernel-internal `ENOTSUPP` (524) that
/// BPF attach paths return.
fn errno_name(errno: i32) -> String {
    if errno == 524 {
        "ENOTSUPP".into()
    } else {
        crate::fmt::errno_name(errno)
    }
}

fn errno_text(errno: i32) -> String {
    format!(
        "{} ({})",
        std::io::Error::from_raw_os_error(errno),
        errno_name(errno)
    )
}

/// `bpf_link_create(prog, ifindex, attach_type, flags)`: the link's fd, or
/// the errno.
fn link_create(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    attach_type: libbpf_sys::bpf_attach_type,
    flags: u32,
) -> Result<OwnedFd, i32> {
    // SAFETY: an all-zero bpf_link_create_opts is its documented default.
    let mut opts: libbpf_sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as libbpf_sys::size_t;
    opts.flags = flags;
    // SAFETY: plain syscall wrapper; `opts` outlives the call.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(prog.as_raw_fd(), ifindex as i32, attach_type, &opts)
    };
    if fd < 0 {
        Err(-fd)
    } else {
        // SAFETY: libbpf returned a new fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

// ---------------------------------------------------------------- XDP ----

/// How an XDP program runs on the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpMode {
    /// In the driver, before an skb exists.
    Native,
    /// Generic XDP on the skb (every driver; `ip link` shows `xdpgeneric`).
    Skb,
}

impl XdpMode {
    pub fn name(self) -> &'static str {
        match self {
            XdpMode::Native => "native",
            XdpMode::Skb => "generic (skb)",
        }
    }
}

/// An XDP program attached through a link; dropping it detaches.
#[derive(Debug)]
pub struct XdpAttachment {
    link: OwnedFd,
    ifname: String,
    ifindex: u32,
    /// Stops the tool when the link is detached or the interface deleted.
    watch: Watch,
    pub mode: XdpMode,
    /// What the tool tells the user on stderr (`using native XDP on veth0`).
    pub message: String,
}

impl XdpAttachment {
    fn new(link: OwnedFd, ifname: &str, ifindex: u32, mode: XdpMode, message: String) -> Self {
        let watch = Watch::start(link.try_clone().ok().map(Watched::Link));
        XdpAttachment {
            link,
            ifname: ifname.to_string(),
            ifindex,
            watch,
            mode,
            message,
        }
    }

    /// Detaches (closing the link); an error when the link had been
    /// detached, or the interface deleted, while the tool ran (packets
    /// were missed).
    pub fn detach(mut self) -> Result<()> {
        let lost = self.watch.finish() || link_ifindex(self.link.as_fd()) == Some(0);
        if !lost {
            return Ok(());
        }
        let ifname = &self.ifname;
        if ifindex(ifname).ok() != Some(self.ifindex) {
            bail!(
                "{ifname} went away while counting (interface deleted): packets since then were not counted"
            );
        }
        bail!(
            "our XDP link on {ifname} was detached while counting (`bpftool link detach`?): \
             packets since then were not counted"
        )
    }
}

/// The name of BPF program `id` (`xdp_count`), if this process may see it.
fn prog_name(id: u32) -> Option<String> {
    // SAFETY: plain syscall wrapper.
    let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is valid for `len` bytes.
    if unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) } != 0 {
        return None;
    }
    let name: Vec<u8> = info
        .name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&name).into_owned())
}

/// The XDP program already on `ifindex`, described for a message
/// (`xdp_count (id 42, native)`), or None.
fn existing_xdp(ifindex: u32) -> Option<String> {
    // SAFETY: an all-zero bpf_xdp_query_opts is its documented default.
    let mut opts: libbpf_sys::bpf_xdp_query_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<libbpf_sys::bpf_xdp_query_opts>() as libbpf_sys::size_t;
    // SAFETY: `opts` is valid and sized.
    if unsafe { libbpf_sys::bpf_xdp_query(ifindex as i32, 0, &mut opts) } != 0 {
        return None;
    }
    let (id, mode) = [
        (opts.drv_prog_id, "native"),
        (opts.skb_prog_id, "generic"),
        (opts.hw_prog_id, "offloaded"),
        (opts.prog_id, "unknown mode"),
    ]
    .into_iter()
    .find(|(id, _)| *id != 0)?;
    Some(match prog_name(id) {
        Some(name) if !name.is_empty() => format!("{name} (id {id}, {mode})"),
        _ => format!("id {id} ({mode})"),
    })
}

/// The error for an interface that has someone else's XDP program.
fn xdp_taken(ifname: &str, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{ifname} already has an XDP program: {what}; bpfkit never replaces it: detach it first \
         (`bpftool net show dev {ifname}` shows it; `ip link set dev {ifname} xdp off`, or end the \
         tool that holds its link)"
    )
}

/// Attaches `prog` to `ifname` (`ifindex`): native mode first unless
/// `force_skb`, falling back to skb mode when the driver has no native XDP.
/// An interface that already has an XDP program (anyone's, in any mode) is
/// an error naming that program: a BPF link never replaces one, and the
/// kernel's own refusal (EBUSY, EEXIST) would not say whose it is.
pub fn attach_xdp(
    prog: BorrowedFd<'_>,
    ifname: &str,
    ifindex: u32,
    force_skb: bool,
) -> Result<XdpAttachment> {
    if let Some(what) = existing_xdp(ifindex) {
        return Err(xdp_taken(ifname, &what));
    }
    let explain = |errno: i32, mode: XdpMode| -> anyhow::Error {
        match errno {
            // Attached by someone between the query and now.
            libc::EBUSY | libc::EEXIST => xdp_taken(
                ifname,
                &existing_xdp(ifindex).unwrap_or_else(|| "(gone again)".into()),
            ),
            libc::EPERM => anyhow::anyhow!(
                "attaching XDP to {ifname}: permission denied: needs CAP_NET_ADMIN and CAP_BPF (run as root)"
            ),
            e => anyhow::anyhow!(
                "attaching {} XDP to {ifname}: {}",
                mode.name(),
                errno_text(e)
            ),
        }
    };
    if force_skb {
        let link = link_create(
            prog,
            ifindex,
            libbpf_sys::BPF_XDP,
            libbpf_sys::XDP_FLAGS_SKB_MODE,
        )
        .map_err(|e| explain(e, XdpMode::Skb))?;
        return Ok(XdpAttachment::new(
            link,
            ifname,
            ifindex,
            XdpMode::Skb,
            format!("using generic (skb) XDP on {ifname} (-S)"),
        ));
    }
    match link_create(
        prog,
        ifindex,
        libbpf_sys::BPF_XDP,
        libbpf_sys::XDP_FLAGS_DRV_MODE,
    ) {
        Ok(link) => Ok(XdpAttachment::new(
            link,
            ifname,
            ifindex,
            XdpMode::Native,
            format!("using native XDP on {ifname}"),
        )),
        // The driver has no ndo_bpf: only generic XDP is possible.
        Err(e) if e == libc::EOPNOTSUPP || e == 524 || e == libc::EINVAL => {
            let link = link_create(
                prog,
                ifindex,
                libbpf_sys::BPF_XDP,
                libbpf_sys::XDP_FLAGS_SKB_MODE,
            )
            .map_err(|e| explain(e, XdpMode::Skb))?;
            Ok(XdpAttachment::new(
                link,
                ifname,
                ifindex,
                XdpMode::Skb,
                format!(
                    "using generic (skb) XDP on {ifname} (native XDP refused: {})",
                    errno_name(e)
                ),
            ))
        }
        Err(e) => Err(explain(e, XdpMode::Native)),
    }
}

// ----------------------------------------------------------------- tc ----

/// Which side of the interface a tc program sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcDirection {
    Ingress,
    Egress,
}

impl TcDirection {
    pub fn name(self) -> &'static str {
        match self {
            TcDirection::Ingress => "ingress",
            TcDirection::Egress => "egress",
        }
    }

    /// libbpf's `BPF_TC_INGRESS` / `BPF_TC_EGRESS`.
    fn attach_point(self) -> libbpf_sys::bpf_tc_attach_point {
        match self {
            TcDirection::Ingress => libbpf_sys::BPF_TC_INGRESS,
            TcDirection::Egress => libbpf_sys::BPF_TC_EGRESS,
        }
    }
}

/// How to attach a tc program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TcMode {
    /// tcx where the kernel has it, else clsact.
    #[default]
    Auto,
    /// A tcx link (kernel 6.6+); an error elsewhere.
    Tcx,
    /// A cls_bpf filter on a clsact qdisc (every kernel since 4.5).
    Clsact,
}

/// `auto`, `tcx` or `clsact` (the tools' `--attach`).
pub fn parse_tc_mode(s: &str) -> Result<TcMode, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(TcMode::Auto),
        "tcx" => Ok(TcMode::Tcx),
        "clsact" => Ok(TcMode::Clsact),
        _ => Err(format!("'{s}' is not an attach mode (auto, tcx or clsact)")),
    }
}

/// A tc program attached to one direction of an interface. [`detach`]
/// (or dropping it) removes what was attached, and a clsact qdisc that the
/// attach created once no other filter uses it.
///
/// [`detach`]: TcAttachment::detach
#[derive(Debug)]
pub struct TcAttachment {
    kind: TcKind,
    ifname: String,
    ifindex: u32,
    dir: TcDirection,
    /// `tcx`, `clsact`, or `ingress` (a filter on a classic ingress qdisc).
    mechanism: &'static str,
    watch: Watch,
    /// What the tool tells the user on stderr.
    pub message: String,
}

#[derive(Debug)]
enum TcKind {
    Tcx(OwnedFd),
    Filter(TcFilter),
    /// Detached already.
    Gone,
}

/// A cls_bpf filter of ours.
#[derive(Debug)]
struct TcFilter {
    at: FilterId,
    /// The qdisc in the ingress slot is a classic `ingress` one, not clsact.
    on_ingress_qdisc: bool,
    /// The clsact qdisc did not exist before: remove it at the end (if no
    /// one else's filter uses it by then).
    created_qdisc: bool,
}

/// One cls_bpf filter: enough to query or delete it (plain data, so the
/// watcher thread can hold a copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FilterId {
    ifindex: u32,
    dir: TcDirection,
    handle: u32,
    priority: u32,
    prog_id: u32,
}

impl FilterId {
    fn hook(&self) -> libbpf_sys::bpf_tc_hook {
        tc_hook(self.ifindex, self.dir.attach_point())
    }

    fn opts(&self) -> libbpf_sys::bpf_tc_opts {
        libbpf_sys::bpf_tc_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_tc_opts>() as libbpf_sys::size_t,
            handle: self.handle,
            priority: self.priority,
            ..Default::default()
        }
    }

    /// Whether the filter is still there and still runs our program.
    /// Errors other than "no such filter/qdisc" count as present: only a
    /// sure answer may stop the tool.
    fn present(&self) -> bool {
        let hook = self.hook();
        let mut opts = self.opts();
        // SAFETY: `hook` and `opts` are valid, sized and outlive the call.
        match unsafe { libbpf_sys::bpf_tc_query(&hook, &mut opts) } {
            0 => opts.prog_id == self.prog_id,
            e => !matches!(-e, libc::ENOENT | libc::EINVAL | libc::ENODEV),
        }
    }

    /// `tc filter del dev IF ingress pref P handle H bpf`, for messages.
    fn del_command(&self, ifname: &str) -> String {
        format!(
            "tc filter del dev {ifname} {} pref {} handle {:#x} bpf",
            self.dir.name(),
            self.priority,
            self.handle
        )
    }
}

fn tc_hook(ifindex: u32, point: libbpf_sys::bpf_tc_attach_point) -> libbpf_sys::bpf_tc_hook {
    libbpf_sys::bpf_tc_hook {
        sz: std::mem::size_of::<libbpf_sys::bpf_tc_hook>() as libbpf_sys::size_t,
        ifindex: ifindex as i32,
        attach_point: point,
        ..Default::default()
    }
}

/// The ifindex a tcx or XDP link is attached to: 0 once it is detached
/// (`bpftool link detach`) or its interface is gone; None if the kernel
/// won't say.
fn link_ifindex(link: BorrowedFd<'_>) -> Option<u32> {
    let mut info = libbpf_sys::bpf_link_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_link_info>() as u32;
    // SAFETY: `info` is valid for `len` bytes.
    if unsafe { libbpf_sys::bpf_link_get_info_by_fd(link.as_raw_fd(), &mut info, &mut len) } != 0 {
        return None;
    }
    // SAFETY: the kernel filled the member of the link's type; every bit
    // pattern is a valid u32.
    match info.type_ {
        libbpf_sys::BPF_LINK_TYPE_TCX => Some(unsafe { info.__bindgen_anon_1.tcx.ifindex }),
        libbpf_sys::BPF_LINK_TYPE_XDP => Some(unsafe { info.__bindgen_anon_1.xdp.ifindex }),
        _ => None,
    }
}

/// What a [`Watch`] checks is still attached.
#[derive(Debug)]
enum Watched {
    Filter(FilterId),
    /// A duplicate of a tcx or XDP link's fd.
    Link(OwnedFd),
}

impl Watched {
    fn present(&self) -> bool {
        match self {
            Watched::Filter(f) => f.present(),
            Watched::Link(fd) => link_ifindex(fd.as_fd()) != Some(0),
        }
    }
}

/// How often the watcher asks whether our filter is still there.
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// A thread that checks our filter (or tcx link) every [`WATCH_INTERVAL`]:
/// a cls_bpf filter can be deleted by anyone (`tc filter del`, or `tc qdisc
/// del`, as another tool that created the clsact qdisc does at its exit), a
/// link detached (`bpftool link detach`), an interface deleted; the tool
/// would then print nothing, forever. When it is gone, the watcher stops
/// the tool ([`crate::stop::request`]); [`TcAttachment::detach`] then
/// reports it.
#[derive(Debug)]
struct Watch {
    state: Arc<(Mutex<WatchState>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct WatchState {
    stop: bool,
    lost: bool,
}

impl Watch {
    fn start(watched: Option<Watched>) -> Watch {
        let state: Arc<(Mutex<WatchState>, Condvar)> = Arc::default();
        let Some(watched) = watched else {
            return Watch {
                state,
                thread: None,
            };
        };
        let shared = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("netif-watch".into())
            .spawn(move || {
                let (lock, cv) = &*shared;
                let Ok(mut st) = lock.lock() else { return };
                loop {
                    st = match cv.wait_timeout(st, WATCH_INTERVAL) {
                        Ok((g, _)) => g,
                        Err(_) => return,
                    };
                    if st.stop {
                        return;
                    }
                    if !watched.present() {
                        st.lost = true;
                        crate::stop::request();
                        return;
                    }
                }
            })
            .ok();
        Watch { state, thread }
    }

    /// Stops the thread; whether it saw the filter disappear.
    fn finish(&mut self) -> bool {
        let (lock, cv) = &*self.state;
        if let Ok(mut st) = lock.lock() {
            st.stop = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        lock.lock().map(|st| st.lost).unwrap_or(false)
    }
}

impl Drop for Watch {
    /// The thread holds a duplicate of a link's fd: it must end for the
    /// link to go.
    fn drop(&mut self) {
        self.finish();
    }
}

impl TcAttachment {
    /// `tcx` or `clsact` (`ingress` for a filter on a classic ingress qdisc).
    pub fn mechanism(&self) -> &'static str {
        self.mechanism
    }

    /// Whether attaching created the clsact qdisc.
    pub fn created_qdisc(&self) -> bool {
        matches!(&self.kind, TcKind::Filter(f) if f.created_qdisc)
    }

    /// Removes what was attached (and the clsact qdisc it created, unless
    /// another filter now uses it). An error when our filter had been
    /// removed by someone else while the tool ran, since packets were
    /// missed, or when it cannot be removed.
    pub fn detach(mut self) -> Result<()> {
        self.release()
    }

    fn release(&mut self) -> Result<()> {
        let mut lost = self.watch.finish();
        let mut failed = None;
        match std::mem::replace(&mut self.kind, TcKind::Gone) {
            TcKind::Gone => return Ok(()),
            // Closing the fd detaches the link.
            TcKind::Tcx(link) => lost = lost || link_ifindex(link.as_fd()) == Some(0),
            TcKind::Filter(f) => {
                lost = lost || !f.at.present();
                if !lost {
                    let hook = f.at.hook();
                    let opts = f.at.opts();
                    // SAFETY: `hook` and `opts` are valid, sized and outlive the call.
                    let e = unsafe { libbpf_sys::bpf_tc_detach(&hook, &opts) };
                    if e != 0 && f.at.present() {
                        failed = Some(anyhow::anyhow!(
                            "removing our tc filter from {} failed: {}; remove it with `{}`",
                            self.ifname,
                            errno_text(-e),
                            f.at.del_command(&self.ifname)
                        ));
                    }
                }
                if f.created_qdisc {
                    remove_clsact_if_unused(&self.ifname, self.ifindex);
                }
            }
        }
        if lost {
            return Err(self.lost_error());
        }
        failed.map_or(Ok(()), Err)
    }

    /// What to say when our filter or link went away while tracing.
    fn lost_error(&self) -> anyhow::Error {
        let (ifname, dir) = (&self.ifname, self.dir.name());
        if ifindex(ifname).ok() != Some(self.ifindex) {
            return anyhow::anyhow!(
                "{ifname} went away while tracing (interface deleted): packets since then were not seen"
            );
        }
        match self.mechanism {
            "tcx" => anyhow::anyhow!(
                "our tcx link on {ifname} {dir} was detached while tracing (`bpftool link detach`?): \
                 packets since then were not seen"
            ),
            _ => anyhow::anyhow!(
                "our tc filter on {ifname} {dir} was removed while tracing (by `tc filter del`, or with \
                 its clsact qdisc by another tool that had created it): packets since then were not seen"
            ),
        }
    }
}

impl Drop for TcAttachment {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            crate::output::note(format_args!("warning: {e:#}"));
        }
    }
}

/// Deletes the clsact qdisc of `ifindex` that we created, unless a filter
/// that is not ours is on it now (on either hook): deleting the qdisc would
/// silently remove that filter too.
fn remove_clsact_if_unused(ifname: &str, ifindex: u32) {
    match ingress_qdisc_kind(ifindex) {
        Ok(Some(kind)) if kind == "clsact" => {}
        // Already gone (or replaced by someone): nothing of ours is left.
        _ => return,
    }
    match clsact_filters(ifindex) {
        Ok(others) if others.is_empty() => {
            let mut hook = tc_hook(
                ifindex,
                libbpf_sys::BPF_TC_INGRESS | libbpf_sys::BPF_TC_EGRESS,
            );
            // SAFETY: `hook` is valid and sized.
            let e = unsafe { libbpf_sys::bpf_tc_hook_destroy(&mut hook) };
            if e != 0 && -e != libc::ENOENT && -e != libc::EINVAL {
                crate::output::note(format_args!(
                    "warning: removing the clsact qdisc bpfkit created on {ifname} failed: {}; \
                     remove it with `tc qdisc del dev {ifname} clsact`",
                    errno_text(-e)
                ));
            }
        }
        Ok(others) => crate::output::note(format_args!(
            "leaving the clsact qdisc bpfkit created on {ifname}: {} filter(s) of someone else use it",
            others.iter().filter(|f| f.handle != 0).count().max(1)
        )),
        Err(e) => crate::output::note(format_args!(
            "leaving the clsact qdisc bpfkit created on {ifname}: listing its filters failed ({e})"
        )),
    }
}

/// Attaches the `SEC("tc")` program `prog` to `dir` of `ifname`.
pub fn attach_tc(
    prog: BorrowedFd<'_>,
    ifname: &str,
    ifindex: u32,
    dir: TcDirection,
    mode: TcMode,
) -> Result<TcAttachment> {
    let tcx_refused = match mode {
        TcMode::Clsact => None,
        TcMode::Auto | TcMode::Tcx => {
            let attach_type = match dir {
                TcDirection::Ingress => libbpf_sys::BPF_TCX_INGRESS,
                TcDirection::Egress => libbpf_sys::BPF_TCX_EGRESS,
            };
            match link_create(prog, ifindex, attach_type, 0) {
                Ok(link) => {
                    let watched = link.try_clone().map(Watched::Link);
                    return Ok(TcAttachment {
                        kind: TcKind::Tcx(link),
                        ifname: ifname.to_string(),
                        ifindex,
                        dir,
                        mechanism: "tcx",
                        // Without a duplicate fd (EMFILE), nothing to watch.
                        watch: Watch::start(watched.ok()),
                        message: format!("using tcx {} link on {ifname}", dir.name()),
                    });
                }
                Err(libc::EPERM) => bail!(
                    "attaching to {ifname} {}: permission denied: needs CAP_NET_ADMIN and CAP_BPF (run as root)",
                    dir.name()
                ),
                Err(e) if mode == TcMode::Tcx => bail!(
                    "--attach tcx is not available: attaching a tcx link to {ifname} failed: {} \
                     (tcx needs Linux 6.6+; use --attach clsact)",
                    errno_text(e)
                ),
                Err(e) => Some(errno_name(e)),
            }
        }
    };
    let filter = attach_filter(prog, ifname, ifindex, dir, tcx_refused.is_some())?;
    let qdisc = if filter.on_ingress_qdisc {
        "ingress"
    } else {
        "clsact"
    };
    let message = format!(
        "using {qdisc} qdisc {} filter on {ifname}{}{}",
        dir.name(),
        match &tcx_refused {
            Some(why) => format!(" (tcx refused: {why})"),
            None => String::new(),
        },
        if filter.created_qdisc {
            "; qdisc created"
        } else {
            ""
        }
    );
    Ok(TcAttachment {
        ifname: ifname.to_string(),
        ifindex,
        dir,
        mechanism: qdisc,
        watch: Watch::start(Some(Watched::Filter(filter.at))),
        kind: TcKind::Filter(filter),
        message,
    })
}

/// What to do with the qdisc already in the ingress slot of an interface,
/// given its kind (`None`: there is none after all).
fn existing_qdisc_use(
    kind: Option<&str>,
    ifname: &str,
    dir: TcDirection,
    tcx_refused: bool,
) -> Result<bool> {
    match kind {
        Some("clsact") => Ok(false),
        // An `ingress` qdisc takes ingress filters (at the same parent,
        // ffff:fff2) but has no egress hook: a filter "on egress" would be
        // put on its ingress block and print arriving packets as leaving.
        Some("ingress") if dir == TcDirection::Ingress => Ok(true),
        Some(kind) => bail!(
            "{ifname} has an `{kind}` qdisc, not clsact, so its egress has no tc hook: remove it \
             (`tc qdisc del dev {ifname} {kind}`, which drops its filters){}",
            if tcx_refused {
                ""
            } else {
                " or use --attach tcx"
            }
        ),
        None => bail!(
            "the qdisc on {ifname} changed while attaching (another tool is at work?): try again"
        ),
    }
}

/// A cls_bpf filter (kernel-chosen handle and priority, so nobody else's is
/// replaced) on the clsact qdisc of `ifindex`, created if missing, or on a
/// classic `ingress` qdisc for ingress.
fn attach_filter(
    prog: BorrowedFd<'_>,
    ifname: &str,
    ifindex: u32,
    dir: TcDirection,
    tcx_refused: bool,
) -> Result<TcFilter> {
    let mut qdisc = tc_hook(ifindex, dir.attach_point());
    // bpf_tc_hook_create asks for a clsact qdisc with NLM_F_EXCL: EEXIST
    // says a qdisc is in the ingress slot, not which kind (clsact or a
    // classic `ingress`): ask rtnetlink.
    // SAFETY: `qdisc` is a valid, sized bpf_tc_hook.
    let (created_qdisc, on_ingress_qdisc) = match unsafe {
        libbpf_sys::bpf_tc_hook_create(&mut qdisc)
    } {
        0 => (true, false),
        e if -e == libc::EEXIST => {
            let kind = ingress_qdisc_kind(ifindex).map_err(|e| {
                anyhow::anyhow!("reading the qdiscs of {ifname} (like `tc qdisc show`): {e}")
            })?;
            (
                false,
                existing_qdisc_use(kind.as_deref(), ifname, dir, tcx_refused)?,
            )
        }
        e if -e == libc::EPERM => {
            bail!(
                "creating the clsact qdisc on {ifname}: permission denied: needs CAP_NET_ADMIN (run as root)"
            )
        }
        e => bail!(
            "creating the clsact qdisc on {ifname}: {} (is sch_ingress available? `modprobe sch_ingress`)",
            errno_text(-e)
        ),
    };
    let mut opts = libbpf_sys::bpf_tc_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_tc_opts>() as libbpf_sys::size_t,
        prog_fd: prog.as_raw_fd(),
        ..Default::default()
    };
    let hook = tc_hook(ifindex, dir.attach_point());
    // SAFETY: `hook` and `opts` are valid and sized; libbpf fills in the
    // handle, priority and program id it got.
    let e = unsafe { libbpf_sys::bpf_tc_attach(&hook, &mut opts) };
    if e != 0 {
        if created_qdisc {
            let mut both = tc_hook(
                ifindex,
                libbpf_sys::BPF_TC_INGRESS | libbpf_sys::BPF_TC_EGRESS,
            );
            // SAFETY: `both` is valid and sized.
            let _ = unsafe { libbpf_sys::bpf_tc_hook_destroy(&mut both) };
        }
        bail!(
            "attaching the tc filter to {ifname} {}: {} (cls_bpf available? `modprobe cls_bpf`)",
            dir.name(),
            errno_text(-e)
        );
    }
    Ok(TcFilter {
        at: FilterId {
            ifindex,
            dir,
            handle: opts.handle,
            priority: opts.priority,
            prog_id: opts.prog_id,
        },
        on_ingress_qdisc,
        created_qdisc,
    })
}

// ----------------------------------------------------------- rtnetlink ----
//
// libbpf's bpf_tc_* can create a clsact qdisc and add, query or delete one
// filter, but cannot say which qdisc an interface has or which filters are
// on it: that is one rtnetlink dump each (what `tc qdisc show` and
// `tc filter show` do).

/// `TC_H_INGRESS`: the slot of both the `ingress` and the `clsact` qdisc.
const TC_H_INGRESS: u32 = 0xFFFF_FFF1;
/// `TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)` and `..._EGRESS`: the parents
/// of the filters on the two hooks.
const TC_PARENT_INGRESS: u32 = 0xFFFF_FFF2;
const TC_PARENT_EGRESS: u32 = 0xFFFF_FFF3;
const TCA_KIND: u16 = 1;
const NLMSG_HDRLEN: usize = 16;
/// `struct tcmsg`: family, 3 pad bytes, ifindex, handle, parent, info.
const TCMSG_LEN: usize = 20;
const RTM_NEWQDISC: u16 = 36;
const RTM_GETQDISC: u16 = 38;
const RTM_NEWTFILTER: u16 = 44;
const RTM_GETTFILTER: u16 = 46;

/// A qdisc or a filter from an rtnetlink dump.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TcObject {
    ifindex: i32,
    handle: u32,
    parent: u32,
    /// Filters: priority << 16 | protocol.
    info: u32,
    /// `clsact`, `ingress`, `bpf`…
    kind: String,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A dump request for `msg_type` (`RTM_GETQDISC`, `RTM_GETTFILTER`).
fn tc_dump_request(msg_type: u16, seq: u32, ifindex: i32, parent: u32) -> Vec<u8> {
    let len = NLMSG_HDRLEN + TCMSG_LEN;
    let mut b = Vec::with_capacity(len);
    b.extend((len as u32).to_ne_bytes());
    b.extend(msg_type.to_ne_bytes());
    b.extend(((libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16).to_ne_bytes());
    b.extend(seq.to_ne_bytes());
    b.extend(0u32.to_ne_bytes());
    b.extend([libc::AF_UNSPEC as u8, 0, 0, 0]);
    b.extend(ifindex.to_ne_bytes());
    b.extend(0u32.to_ne_bytes());
    b.extend(parent.to_ne_bytes());
    b.extend(0u32.to_ne_bytes());
    b
}

/// Parses one datagram of the answer to dump `seq`, appending its
/// `reply_type` messages to `out`; true once the dump is complete.
fn parse_tc_dump(
    buf: &[u8],
    seq: u32,
    reply_type: u16,
    out: &mut Vec<TcObject>,
) -> io::Result<bool> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed rtnetlink message");
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32_at(buf, off).ok_or_else(bad)? as usize;
        let ty = u16_at(buf, off + 4).ok_or_else(bad)?;
        let msg_seq = u32_at(buf, off + 8).ok_or_else(bad)?;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return Err(bad());
        }
        let body = &buf[off + NLMSG_HDRLEN..off + len];
        off += align4(len);
        if msg_seq != seq {
            continue;
        }
        match ty {
            t if t == libc::NLMSG_DONE as u16 => return Ok(true),
            t if t == libc::NLMSG_ERROR as u16 => {
                let err = u32_at(body, 0).ok_or_else(bad)? as i32;
                if err == 0 {
                    return Ok(true);
                }
                return Err(io::Error::from_raw_os_error(-err));
            }
            t if t == reply_type => {
                let tcm = body.get(..TCMSG_LEN).ok_or_else(bad)?;
                let mut obj = TcObject {
                    ifindex: u32_at(tcm, 4).ok_or_else(bad)? as i32,
                    handle: u32_at(tcm, 8).ok_or_else(bad)?,
                    parent: u32_at(tcm, 12).ok_or_else(bad)?,
                    info: u32_at(tcm, 16).ok_or_else(bad)?,
                    kind: String::new(),
                };
                let mut a = TCMSG_LEN;
                while a + 4 <= body.len() {
                    let alen = u16_at(body, a).ok_or_else(bad)? as usize;
                    let aty = u16_at(body, a + 2).ok_or_else(bad)? & 0x3fff;
                    if alen < 4 || a + alen > body.len() {
                        return Err(bad());
                    }
                    if aty == TCA_KIND {
                        let v = &body[a + 4..a + alen];
                        let v = v.split(|&c| c == 0).next().unwrap_or_default();
                        obj.kind = String::from_utf8_lossy(v).into_owned();
                    }
                    a += align4(alen);
                }
                out.push(obj);
            }
            _ => {}
        }
    }
    Ok(false)
}

/// Sends one rtnetlink dump request and collects its answer.
fn tc_dump(msg_type: u16, reply_type: u16, ifindex: i32, parent: u32) -> io::Result<Vec<TcObject>> {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    // SAFETY: plain syscall.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new fd that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // Never hang on a kernel that does not answer.
    let timeout = libc::timeval {
        tv_sec: 5,
        tv_usec: 0,
    };
    // SAFETY: `timeout` is a valid timeval for SO_RCVTIMEO.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let req = tc_dump_request(msg_type, seq, ifindex, parent);
    // An unconnected netlink socket sends to the kernel.
    // SAFETY: `req` is valid for its length.
    let sent = unsafe { libc::send(sock.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    loop {
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if parse_tc_dump(&buf[..n as usize], seq, reply_type, &mut out)? {
            return Ok(out);
        }
    }
}

/// The kind of the qdisc in the ingress slot of `ifindex` (`clsact` or
/// `ingress`), if there is one.
fn ingress_qdisc_kind(ifindex: u32) -> io::Result<Option<String>> {
    // The kernel dumps every interface's qdiscs; pick ours.
    Ok(tc_dump(RTM_GETQDISC, RTM_NEWQDISC, ifindex as i32, 0)?
        .into_iter()
        .find(|q| q.ifindex == ifindex as i32 && q.parent == TC_H_INGRESS)
        .map(|q| q.kind))
}

/// Every filter on the ingress and egress hooks of `ifindex`'s clsact
/// qdisc, in every chain (entries with handle 0 head a priority's list).
fn clsact_filters(ifindex: u32) -> io::Result<Vec<TcObject>> {
    let mut all = tc_dump(
        RTM_GETTFILTER,
        RTM_NEWTFILTER,
        ifindex as i32,
        TC_PARENT_INGRESS,
    )?;
    all.extend(tc_dump(
        RTM_GETTFILTER,
        RTM_NEWTFILTER,
        ifindex as i32,
        TC_PARENT_EGRESS,
    )?);
    Ok(all)
}

// -------------------------------------------------------- capabilities ----

const CAP_NET_ADMIN: u32 = 12;

/// Fails unless this process has CAP_NET_ADMIN, which loading a tc or XDP
/// program and changing an interface's qdiscs, filters and XDP all need;
/// without this check the kernel's EPERM would read as missing CAP_BPF.
pub fn require_net_admin(tool: &str) -> Result<()> {
    let caps = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0);
    if caps & (1 << CAP_NET_ADMIN) != 0 {
        return Ok(());
    }
    bail!(
        "permission denied: {tool} attaches to a network interface and needs CAP_NET_ADMIN \
         (as well as CAP_BPF and CAP_PERFMON): run it as root"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_an_index() {
        assert_eq!(ifindex("lo").unwrap(), 1);
    }

    #[test]
    fn missing_interfaces_are_errors() {
        for name in ["nosuchif0", "", "a-name-far-too-long-for-linux", "bad\0nul"] {
            let err = ifindex(name).unwrap_err().to_string();
            assert!(err.contains("no such interface"), "{err}");
        }
    }

    #[test]
    fn tc_modes_parse() {
        assert_eq!(parse_tc_mode("auto"), Ok(TcMode::Auto));
        assert_eq!(parse_tc_mode("TCX"), Ok(TcMode::Tcx));
        assert_eq!(parse_tc_mode("clsact"), Ok(TcMode::Clsact));
        assert!(parse_tc_mode("ingress").is_err());
    }

    /// One rtnetlink message: header, tcmsg, a TCA_KIND attribute.
    fn tc_msg(ty: u16, seq: u32, ifindex: i32, parent: u32, kind: &str) -> Vec<u8> {
        let mut attr = Vec::new();
        let alen = 4 + kind.len() + 1;
        attr.extend((alen as u16).to_ne_bytes());
        attr.extend(TCA_KIND.to_ne_bytes());
        attr.extend(kind.as_bytes());
        attr.push(0);
        attr.resize(align4(alen), 0);
        let len = NLMSG_HDRLEN + TCMSG_LEN + attr.len();
        let mut m = Vec::new();
        m.extend((len as u32).to_ne_bytes());
        m.extend(ty.to_ne_bytes());
        m.extend(2u16.to_ne_bytes());
        m.extend(seq.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend([0, 0, 0, 0]);
        m.extend(ifindex.to_ne_bytes());
        m.extend(0xFFFF_0000u32.to_ne_bytes());
        m.extend(parent.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend(attr);
        m
    }

    fn control(ty: i32, seq: u32, payload: i32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(20u32.to_ne_bytes());
        m.extend((ty as u16).to_ne_bytes());
        m.extend(0u16.to_ne_bytes());
        m.extend(seq.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend(payload.to_ne_bytes());
        m
    }

    #[test]
    fn dump_request_layout() {
        let r = tc_dump_request(RTM_GETTFILTER, 7, 3, TC_PARENT_EGRESS);
        assert_eq!(r.len(), 36);
        assert_eq!(u32_at(&r, 0), Some(36));
        assert_eq!(u16_at(&r, 4), Some(RTM_GETTFILTER));
        assert_eq!(
            u16_at(&r, 6),
            Some((libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16)
        );
        assert_eq!(u32_at(&r, 8), Some(7));
        assert_eq!(u32_at(&r, 20), Some(3));
        assert_eq!(u32_at(&r, 28), Some(TC_PARENT_EGRESS));
    }

    #[test]
    fn dump_replies_parse() {
        let mut buf = tc_msg(RTM_NEWQDISC, 5, 2, TC_H_INGRESS, "ingress");
        // Another dump's message is skipped.
        buf.extend(tc_msg(RTM_NEWQDISC, 4, 9, TC_H_INGRESS, "clsact"));
        buf.extend(tc_msg(RTM_NEWQDISC, 5, 2, 0xFFFF_FFFF, "noqueue"));
        let mut out = Vec::new();
        assert!(!parse_tc_dump(&buf, 5, RTM_NEWQDISC, &mut out).unwrap());
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0],
            TcObject {
                ifindex: 2,
                handle: 0xFFFF_0000,
                parent: TC_H_INGRESS,
                info: 0,
                kind: "ingress".into()
            }
        );
        assert_eq!(out[1].kind, "noqueue");
        assert!(
            parse_tc_dump(&control(libc::NLMSG_DONE, 5, 0), 5, RTM_NEWQDISC, &mut out).unwrap()
        );
        let err = parse_tc_dump(
            &control(libc::NLMSG_ERROR, 5, -libc::EINVAL),
            5,
            RTM_NEWQDISC,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        // A length running past the datagram is an error, not a panic.
        let mut cut = tc_msg(RTM_NEWQDISC, 5, 2, TC_H_INGRESS, "clsact");
        cut.truncate(30);
        assert!(parse_tc_dump(&cut, 5, RTM_NEWQDISC, &mut out).is_err());
        let mut bad_attr = tc_msg(RTM_NEWQDISC, 5, 2, TC_H_INGRESS, "clsact");
        bad_attr[NLMSG_HDRLEN + TCMSG_LEN] = 200;
        assert!(parse_tc_dump(&bad_attr, 5, RTM_NEWQDISC, &mut out).is_err());
    }

    #[test]
    fn qdisc_dump_sees_loopback() {
        // Dumping qdiscs needs no privilege; lo always has one (noqueue).
        let all = tc_dump(RTM_GETQDISC, RTM_NEWQDISC, 1, 0).unwrap();
        assert!(
            all.iter().any(|q| q.ifindex == 1 && !q.kind.is_empty()),
            "{all:?}"
        );
    }

    #[test]
    fn existing_qdisc_decisions() {
        let use_ = |kind, dir, refused| existing_qdisc_use(kind, "eth0", dir, refused);
        assert!(!use_(Some("clsact"), TcDirection::Egress, false).unwrap());
        assert!(use_(Some("ingress"), TcDirection::Ingress, false).unwrap());
        let err = use_(Some("ingress"), TcDirection::Egress, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("eth0 has an `ingress` qdisc, not clsact")
                && err.contains("tc qdisc del dev eth0 ingress")
                && err.ends_with("or use --attach tcx"),
            "{err}"
        );
        // tcx was refused already (auto on an old kernel): not suggested.
        let err = use_(Some("ingress"), TcDirection::Egress, true)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("tcx"), "{err}");
        assert!(use_(None, TcDirection::Ingress, false).is_err());
    }

    #[test]
    fn errnos_have_names() {
        assert_eq!(errno_name(libc::EOPNOTSUPP), "EOPNOTSUPP");
        assert_eq!(errno_name(524), "ENOTSUPP");
        assert_eq!(errno_name(99999), "99999");
        assert!(errno_text(libc::EINVAL).contains("EINVAL"));
    }
}
