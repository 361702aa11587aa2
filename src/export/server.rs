//! The HTTP side, on std alone: an accept thread, one thread per connection
//! with read and write timeouts, one request per connection. A client that
//! connects and sends nothing holds only its own thread, and only until the
//! timeout; scrapes go to the exporter's main thread through a channel, so
//! concurrent scrapes are served one after another, never interleaved.
//!
//! (tiny_http was tried first: its accept loop ends for good on the first
//! accept error, and it has no way to time out a silent connection.)

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::args::bpfkit_exporter::Listen;

/// How long a connection may take to send its request or read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once (a scraper retries).
const MAX_CONNECTIONS: usize = 64;
/// The longest request head accepted.
const MAX_REQUEST: usize = 16 * 1024;

/// What a request asks for.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Route {
    /// /metrics; `true` when the client accepts OpenMetrics.
    Metrics {
        openmetrics: bool,
    },
    Index,
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// An answer to send back.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// A request for the main thread, with where to send its answer.
pub struct Request {
    pub route: Route,
    pub reply: Sender<Response>,
}

/// A bound listener and its accept thread.
pub struct Server {
    requests: Receiver<Request>,
    closing: Arc<AtomicBool>,
}

/// Binds `listen` (one line saying what is wrong when it cannot) and starts
/// accepting.
pub fn bind(listen: &Listen) -> Result<Server> {
    let what = format!("cannot listen on {} (--listen)", listen.text);
    let listener = TcpListener::bind(listen.addr).map_err(|e| match e.kind() {
        ErrorKind::AddrInUse => anyhow!(
            "{what}: port {} is in use (is an exporter already running? choose another port)",
            listen.addr.port()
        ),
        ErrorKind::AddrNotAvailable => {
            anyhow!(
                "{what}: {} is not an address of this host",
                listen.addr.ip()
            )
        }
        ErrorKind::PermissionDenied => {
            anyhow!("{what}: permission denied (ports below 1024 need root)")
        }
        _ => anyhow!("{what}: {e}"),
    })?;
    let (tx, requests) = mpsc::channel();
    let closing = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&closing);
    std::thread::Builder::new()
        .name("http-accept".into())
        .spawn(move || accept_loop(listener, tx, stop))
        .map_err(|e| anyhow!("{what}: starting the accept thread: {e}"))?;
    Ok(Server { requests, closing })
}

impl Server {
    /// The next request, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Request> {
        self.requests.recv_timeout(timeout).ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The accept thread sees it at its next connection; the process
        // is about to end anyway.
        self.closing.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(listener: TcpListener, tx: Sender<Request>, closing: Arc<AtomicBool>) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut said_error = false;
    for conn in listener.incoming() {
        if closing.load(Ordering::SeqCst) {
            return;
        }
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and the like pass; say it once, slow down, go on.
                if !said_error {
                    crate::output::note(format_args!("accepting a scrape: {e}"));
                    said_error = true;
                }
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            continue; // dropped: closed
        }
        let (tx, mine) = (tx.clone(), Arc::clone(&open));
        let spawned = std::thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || {
                serve(stream, &tx);
                mine.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Reads one request, has the main thread answer it, writes the answer.
fn serve(mut stream: TcpStream, tx: &Sender<Request>) {
    if stream.set_read_timeout(Some(IO_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(IO_TIMEOUT)).is_err()
    {
        return;
    }
    let Some(head) = read_head(&mut stream) else {
        // Silent, too slow, too long or gone: just close.
        return;
    };
    let route = route_of(&head);
    let response = if matches!(route, Route::Metrics { .. }) {
        let (reply, answer) = mpsc::channel();
        if tx.send(Request { route, reply }).is_err() {
            return;
        }
        match answer.recv_timeout(IO_TIMEOUT * 3) {
            Ok(r) => r,
            Err(_) => return,
        }
    } else {
        static_response(route)
    };
    let request = head;
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if !request.starts_with("HEAD ") {
        let _ = stream.write_all(response.body.as_bytes());
    }
}

/// The request line and headers, up to the blank line.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        if buf.len() > MAX_REQUEST {
            return None;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Where a request head (`GET /metrics HTTP/1.1`, headers) goes.
pub fn route_of(head: &str) -> Route {
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (Some(method), Some(target)) = (first.next(), first.next()) else {
        return Route::BadRequest;
    };
    if method != "GET" && method != "HEAD" {
        return Route::MethodNotAllowed;
    }
    let accept = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.to_ascii_lowercase());
    match target.split('?').next().unwrap_or(target) {
        "/metrics" => Route::Metrics {
            openmetrics: accept.is_some_and(|a| a.contains("application/openmetrics-text")),
        },
        "/" => Route::Index,
        _ => Route::NotFound,
    }
}

const INDEX: &str = "<html><head><title>bpfkit exporter</title></head><body>\
<h1>bpfkit exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

/// Content types of the two text formats.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn static_response(route: Route) -> Response {
    let (status, content_type, body) = match route {
        Route::Index => (200, "text/html; charset=utf-8", INDEX),
        Route::NotFound => (404, "text/plain", "not found\n"),
        Route::MethodNotAllowed => (405, "text/plain", "method not allowed\n"),
        Route::BadRequest | Route::Metrics { .. } => (400, "text/plain", "bad request\n"),
    };
    Response {
        status,
        content_type,
        body: body.into(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route_of("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics { openmetrics: false }
        );
        assert_eq!(
            route_of(
                "GET /metrics?x=1 HTTP/1.1\r\nACCEPT: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n\r\n"
            ),
            Route::Metrics { openmetrics: true }
        );
        assert_eq!(route_of("GET / HTTP/1.0\r\n\r\n"), Route::Index);
        assert_eq!(route_of("GET /x HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route_of("POST /metrics HTTP/1.1\r\n\r\n"),
            Route::MethodNotAllowed
        );
        assert_eq!(route_of("\r\n\r\n"), Route::BadRequest);
    }
}
