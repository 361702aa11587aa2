//! One process-wide stop flag, raised by SIGINT/SIGTERM (through `ctrlc`).

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the SIGINT/SIGTERM handler once; later calls do nothing.
pub fn install_handler() {
    INSTALL.call_once(|| {
        // Failure here only means a handler already exists (e.g. a test
        // harness installed one); the tool still stops on --duration/EPIPE.
        let _ = ctrlc::set_handler(request);
    });
}

/// Asks every loop in the process to finish its current cycle and return.
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
