//! One process-wide stop flag, raised by every signal that asks a tool to
//! end: SIGINT, SIGTERM, SIGHUP and SIGQUIT. Each of them ends the tool
//! through the same clean path (loops return, links detach, tc filters are
//! removed by Drop, exit 0) instead of the default action, which would kill
//! the process with everything attached or (SIGQUIT) dump core.
//!
//! The handler is installed without SA_RESTART, so a signal also interrupts
//! a write blocked on a full pipe (EINTR): [`crate::output`] then sees the
//! stop request and drops the rest instead of waiting for a reader that may
//! never read.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

static STOP: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// The signals that end a tool cleanly.
pub const SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: anything more is not async-signal-safe.
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handler once; later calls do nothing.
pub fn install_handler() {
    INSTALL.call_once(|| {
        // No SA_RESTART: see the module doc. The mask keeps a second
        // signal from interrupting the handler (harmless, but pointless).
        let mut mask = SigSet::empty();
        for sig in SIGNALS {
            mask.add(sig);
        }
        let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), mask);
        for sig in SIGNALS {
            // SAFETY: the handler only stores to an atomic, which is
            // async-signal-safe. Failure is only possible for an invalid
            // signal number, which these are not.
            let old = unsafe { sigaction(sig, &action) };
            // `nohup tool` asks for hangups to be ignored: keep it so.
            // (SIGINT stays ours even when ignored, as it was with ctrlc:
            // a shell script's background job starts with it ignored.)
            if sig == Signal::SIGHUP
                && let Ok(old) = old
                && matches!(old.handler(), SigHandler::SigIgn)
            {
                // SAFETY: restores the disposition we found.
                let _ = unsafe { sigaction(sig, &old) };
            }
        }
    });
}

/// Asks every loop in the process to finish its current cycle and return.
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
