//! Network interfaces for the packet tools (tcsnoop, xdpcount): name →
//! ifindex, and attaching `SEC("tc")` / `SEC("xdp")` programs so that
//! nothing of ours outlives the tool.
//!
//! - XDP goes through a BPF link (`BPF_LINK_CREATE`, kernel 5.9+): the
//!   kernel detaches it when the link's fd closes, even if the tool is
//!   killed. Native (driver) mode is asked for first; where the driver has
//!   none, generic (skb) mode, said on stderr.
//! - tc goes through a tcx link (kernel 6.6+), also fd-owned and needing no
//!   qdisc; older kernels get a classic `cls_bpf` filter on a `clsact`
//!   qdisc (libbpf's `bpf_tc_*`, i.e. [`libbpf_rs::TcHook`]). That filter
//!   is not fd-owned, so [`TcAttachment`]'s `Drop` removes it, and removes
//!   the `clsact` qdisc too when (and only when) the tool created it.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

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
    _link: OwnedFd,
    pub mode: XdpMode,
    /// What the tool tells the user on stderr (`using native XDP on veth0`).
    pub message: String,
}

/// Attaches `prog` to `ifname` (`ifindex`): native mode first unless
/// `force_skb`, falling back to skb mode when the driver has no native XDP.
pub fn attach_xdp(
    prog: BorrowedFd<'_>,
    ifname: &str,
    ifindex: u32,
    force_skb: bool,
) -> Result<XdpAttachment> {
    let explain = |errno: i32, mode: XdpMode| -> anyhow::Error {
        match errno {
            libc::EBUSY | libc::EEXIST => anyhow::anyhow!(
                "attaching {} XDP to {ifname}: the interface already has an XDP program \
                 (see `ip link show dev {ifname}`; detach it first)",
                mode.name()
            ),
            libc::EPERM => anyhow::anyhow!(
                "attaching XDP to {ifname}: permission denied: needs root or CAP_NET_ADMIN and CAP_BPF"
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
        return Ok(XdpAttachment {
            _link: link,
            mode: XdpMode::Skb,
            message: format!("using generic (skb) XDP on {ifname} (-S)"),
        });
    }
    match link_create(
        prog,
        ifindex,
        libbpf_sys::BPF_XDP,
        libbpf_sys::XDP_FLAGS_DRV_MODE,
    ) {
        Ok(link) => Ok(XdpAttachment {
            _link: link,
            mode: XdpMode::Native,
            message: format!("using native XDP on {ifname}"),
        }),
        // The driver has no ndo_bpf: only generic XDP is possible.
        Err(e) if e == libc::EOPNOTSUPP || e == 524 || e == libc::EINVAL => {
            let link = link_create(
                prog,
                ifindex,
                libbpf_sys::BPF_XDP,
                libbpf_sys::XDP_FLAGS_SKB_MODE,
            )
            .map_err(|e| explain(e, XdpMode::Skb))?;
            Ok(XdpAttachment {
                _link: link,
                mode: XdpMode::Skb,
                message: format!(
                    "using generic (skb) XDP on {ifname} (native XDP refused: {})",
                    errno_name(e)
                ),
            })
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

/// A tc program attached to one direction of an interface; dropping it
/// detaches (and removes a clsact qdisc that the attach created).
#[derive(Debug)]
pub struct TcAttachment {
    kind: TcKind,
    /// What the tool tells the user on stderr.
    pub message: String,
}

#[derive(Debug)]
enum TcKind {
    Tcx(#[allow(dead_code)] OwnedFd),
    Clsact {
        filter: libbpf_rs::TcHook,
        /// The clsact qdisc did not exist before: remove it at the end.
        created_qdisc: bool,
        ifindex: u32,
    },
}

impl TcAttachment {
    /// `tcx` or `clsact`.
    pub fn mechanism(&self) -> &'static str {
        match self.kind {
            TcKind::Tcx(_) => "tcx",
            TcKind::Clsact { .. } => "clsact",
        }
    }

    /// Whether attaching created the clsact qdisc (removed again on drop).
    pub fn created_qdisc(&self) -> bool {
        matches!(
            self.kind,
            TcKind::Clsact {
                created_qdisc: true,
                ..
            }
        )
    }
}

impl Drop for TcAttachment {
    fn drop(&mut self) {
        if let TcKind::Clsact {
            filter,
            created_qdisc,
            ifindex,
        } = &mut self.kind
        {
            if let Err(e) = filter.detach() {
                crate::output::note(format_args!(
                    "warning: removing the tc filter (handle {:#x} pref {}) failed: {e}",
                    filter.get_handle(),
                    filter.get_priority()
                ));
            }
            if *created_qdisc {
                let mut both = *filter;
                both.ifindex(*ifindex as i32)
                    .attach_point(libbpf_rs::TC_INGRESS | libbpf_rs::TC_EGRESS);
                if let Err(e) = both.destroy() {
                    crate::output::note(format_args!(
                        "warning: removing the clsact qdisc bpfkit created failed: {e}"
                    ));
                }
            }
        }
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
                    return Ok(TcAttachment {
                        kind: TcKind::Tcx(link),
                        message: format!("using tcx {} link on {ifname}", dir.name()),
                    });
                }
                Err(libc::EPERM) => bail!(
                    "attaching to {ifname} {}: permission denied: needs root or CAP_NET_ADMIN and CAP_BPF",
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
    let (filter, created_qdisc) = attach_clsact(prog, ifname, ifindex, dir)?;
    let message = match tcx_refused {
        Some(why) => format!(
            "using clsact qdisc {} filter on {ifname} (tcx refused: {why}){}",
            dir.name(),
            if created_qdisc { "; qdisc created" } else { "" }
        ),
        None => format!(
            "using clsact qdisc {} filter on {ifname}{}",
            dir.name(),
            if created_qdisc { "; qdisc created" } else { "" }
        ),
    };
    Ok(TcAttachment {
        kind: TcKind::Clsact {
            filter,
            created_qdisc,
            ifindex,
        },
        message,
    })
}

/// A cls_bpf filter (kernel-chosen handle and priority, so nobody else's is
/// replaced) on the clsact qdisc of `ifindex`, created if missing.
fn attach_clsact(
    prog: BorrowedFd<'_>,
    ifname: &str,
    ifindex: u32,
    dir: TcDirection,
) -> Result<(libbpf_rs::TcHook, bool)> {
    let point = match dir {
        TcDirection::Ingress => libbpf_rs::TC_INGRESS,
        TcDirection::Egress => libbpf_rs::TC_EGRESS,
    };
    let mut hook = libbpf_rs::TcHook::new(prog);
    hook.ifindex(ifindex as i32)
        .attach_point(point)
        .handle(0)
        .priority(0)
        .replace(false);
    // libbpf_rs::TcHook::create() hides EEXIST, which is exactly what tells
    // whether the qdisc was there before: ask libbpf directly.
    let mut raw = libbpf_sys::bpf_tc_hook {
        sz: std::mem::size_of::<libbpf_sys::bpf_tc_hook>() as libbpf_sys::size_t,
        ifindex: ifindex as i32,
        attach_point: point,
        ..Default::default()
    };
    // SAFETY: `raw` is a valid, sized bpf_tc_hook.
    let created = match unsafe { libbpf_sys::bpf_tc_hook_create(&mut raw) } {
        0 => true,
        e if -e == libc::EEXIST => false,
        e if -e == libc::EPERM => bail!(
            "creating the clsact qdisc on {ifname}: permission denied: needs root or CAP_NET_ADMIN"
        ),
        e => bail!(
            "creating the clsact qdisc on {ifname}: {} (is sch_ingress available? `modprobe sch_ingress`)",
            errno_text(-e)
        ),
    };
    match hook.attach() {
        Ok(h) => Ok((h, created)),
        Err(e) => {
            if created {
                let mut both = hook;
                both.attach_point(libbpf_rs::TC_INGRESS | libbpf_rs::TC_EGRESS);
                let _ = both.destroy();
            }
            bail!(
                "attaching the tc filter to {ifname} {}: {e} (cls_bpf available? `modprobe cls_bpf`; \
                 an `ingress` qdisc instead of `clsact` on the device also prevents it)",
                dir.name()
            )
        }
    }
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

    #[test]
    fn errnos_have_names() {
        assert_eq!(errno_name(libc::EOPNOTSUPP), "EOPNOTSUPP");
        assert_eq!(errno_name(524), "ENOTSUPP");
        assert_eq!(errno_name(99999), "99999");
        assert!(errno_text(libc::EINVAL).contains("EINVAL"));
    }
}
