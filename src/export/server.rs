//! The HTTP side: a listener whose connections time out, served by
//! tiny_http (one thread per connection reads the request, so a client that
//! connects and sends nothing holds only its own thread, and only until the
//! timeout).

use std::io::ErrorKind;
use std::net::TcpListener;
use std::time::Duration;

use anyhow::{Result, anyhow};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::{TimeVal, TimeValLike};

use crate::args::bpfkit_exporter::Listen;

/// How long a connection may take to send its request or read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `listen`, with one line saying what is wrong when it cannot.
pub fn bind(listen: &Listen) -> Result<tiny_http::Server> {
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
    // Linux copies these from the listening socket to each accepted one.
    let timeout = TimeVal::milliseconds(IO_TIMEOUT.as_millis() as i64);
    setsockopt(&listener, sockopt::ReceiveTimeout, &timeout)
        .and_then(|()| setsockopt(&listener, sockopt::SendTimeout, &timeout))
        .map_err(|e| anyhow!("{what}: setting socket timeouts: {e}"))?;
    tiny_http::Server::from_listener(listener, None).map_err(|e| anyhow!("{what}: {e}"))
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// /metrics; `true` when the client accepts OpenMetrics.
    Metrics {
        openmetrics: bool,
    },
    Index,
    NotFound,
    MethodNotAllowed,
}

pub fn route(method: &tiny_http::Method, url: &str, accept: Option<&str>) -> Route {
    let path = url.split('?').next().unwrap_or(url);
    if !matches!(method, tiny_http::Method::Get | tiny_http::Method::Head) {
        return Route::MethodNotAllowed;
    }
    match path {
        "/metrics" => Route::Metrics {
            openmetrics: accept.is_some_and(|a| a.contains("application/openmetrics-text")),
        },
        "/" => Route::Index,
        _ => Route::NotFound,
    }
}

pub const INDEX: &str = "<html><head><title>bpfkit exporter</title></head><body>\
<h1>bpfkit exporter</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

/// Content types of the two text formats.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Sends `body` from its own thread, so a client that does not read its
/// answer cannot hold up the next scrape.
pub fn respond(request: tiny_http::Request, status: u16, content_type: &str, body: String) {
    let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
        .expect("a valid static header");
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header);
    std::thread::spawn(move || {
        let _ = request.respond(response);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_http::Method;

    #[test]
    fn routes() {
        assert_eq!(
            route(&Method::Get, "/metrics", None),
            Route::Metrics { openmetrics: false }
        );
        assert_eq!(
            route(
                &Method::Get,
                "/metrics?x=1",
                Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
            ),
            Route::Metrics { openmetrics: true }
        );
        assert_eq!(route(&Method::Get, "/", None), Route::Index);
        assert_eq!(route(&Method::Get, "/x", None), Route::NotFound);
        assert_eq!(
            route(&Method::Post, "/metrics", None),
            Route::MethodNotAllowed
        );
    }
}
