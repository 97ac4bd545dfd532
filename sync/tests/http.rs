//! The HTTP transport against a real HTTP server on loopback (a small one written here on
//! std's TcpListener, serving a Responder): a whole sync, retries after 503s, and typed errors
//! for refusals and unreachable servers.
#![cfg(feature = "http")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use minga_sync::http::{HttpOptions, HttpTransport};
use minga_sync::{
    run_session, AllowAll, DocId, Initiator, MemoryStore, Responder, SyncOptions, Transport,
};

/// Serves sync requests at any path on a loopback port: the first `failures` requests get
/// `status`, the rest go to the responder. Requests without the bearer token get 401; those
/// with the token `revoked` get the hub's answer to a revoked device (410, `"wipe": true`), those
/// with the token `full` the answer of a hub whose storage is full (507).
struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn serve(hub: Arc<MemoryStore>, failures: usize, status: u16) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sync", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let responder = Arc::new(Mutex::new(Responder::new(
        peer("hub"),
        SyncOptions::default(),
        Arc::new(AllowAll),
    )));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (hub, responder, counter) = (hub.clone(), responder.clone(), counter.clone());
            std::thread::spawn(move || {
                handle(stream, &hub, &responder, &counter, failures, status)
            });
        }
    });
    Server { url, requests }
}

/// One connection: requests until the client closes it (keep-alive).
fn handle(
    stream: TcpStream,
    hub: &MemoryStore,
    responder: &Mutex<Responder>,
    counter: &AtomicUsize,
    failures: usize,
    status: u16,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut authorised = false;
        let mut revoked = false;
        let mut full = false;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            authorised |= header == "authorization: bearer secret";
            revoked |= header == "authorization: bearer revoked";
            full |= header == "authorization: bearer full";
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let seen = counter.fetch_add(1, Ordering::SeqCst);
        let (code, reply) = if revoked {
            (
                410,
                br#"{"error":"revoked","message":"wipe","wipe":true}"#.to_vec(),
            )
        } else if full {
            (
                507,
                br#"{"error":"storage_full","message":"the hub's storage is full"}"#.to_vec(),
            )
        } else if !authorised {
            (401, Vec::new())
        } else if seen < failures {
            (status, Vec::new())
        } else {
            (200, responder.lock().unwrap().respond_or_abort(hub, &body))
        };
        let head = format!(
            "HTTP/1.1 {code} X\r\ncontent-length: {}\r\n\r\n",
            reply.len()
        );
        writer.write_all(head.as_bytes()).unwrap();
        writer.write_all(&reply).unwrap();
    }
}

fn options() -> HttpOptions {
    HttpOptions {
        token: Some("secret".into()),
        backoff: Duration::from_millis(1),
        ..HttpOptions::default()
    }
}

fn sync_over(
    url: &str,
    phone: &MemoryStore,
    options: HttpOptions,
) -> Result<minga_sync::SyncReport, minga_sync::SyncError> {
    let transport = HttpTransport::new(url, options).unwrap();
    let sync_options = SyncOptions {
        page_docs: 10,
        ..SyncOptions::default()
    };
    let mut initiator =
        Initiator::new(peer("phone"), peer("hub"), sync_options, Arc::new(AllowAll));
    run_session(
        phone,
        &transport,
        &mut initiator,
        &sync_options,
        &mut |_| {},
    )
}

#[test]
fn a_whole_sync_over_http_on_loopback_after_two_server_errors() {
    let hub = Arc::new(MemoryStore::new());
    for _ in 0..15 {
        fill_submission(&hub, &DocId::random(), 5);
    }
    let phone = MemoryStore::new();
    for _ in 0..25 {
        fill_submission(&phone, &DocId::random(), 5);
    }
    let server = serve(hub.clone(), 2, 503);
    let report = sync_over(&server.url, &phone, options()).unwrap();
    assert_eq!(snapshot(&phone), snapshot(&hub));
    assert_eq!((report.sent, report.received), (25, 15));
    assert!(server.requests.load(Ordering::SeqCst) >= 2 + report.round_trips as usize);
}

#[test]
fn refusals_and_unreachable_servers_are_typed_errors() {
    let hub = Arc::new(MemoryStore::new());
    let server = serve(hub, 0, 200);
    let phone = MemoryStore::new();
    let without_token = HttpOptions {
        token: None,
        ..options()
    };
    let error = sync_over(&server.url, &phone, without_token).unwrap_err();
    assert!(
        matches!(&error, minga_sync::SyncError::Transport(e) if !e.retryable && !e.revoked && e.message.contains("401")),
        "{error}"
    );
    let revoked = HttpOptions {
        token: Some("revoked".into()),
        ..options()
    };
    let error = sync_over(&server.url, &phone, revoked).unwrap_err();
    assert!(
        matches!(&error, minga_sync::SyncError::Transport(e) if e.revoked && !e.retryable),
        "{error}"
    );
    let full = HttpOptions {
        token: Some("full".into()),
        ..options()
    };
    let asked_before = server.requests.load(Ordering::SeqCst);
    let error = sync_over(&server.url, &phone, full).unwrap_err();
    assert!(
        matches!(&error, minga_sync::SyncError::Transport(e) if e.hub_storage_full && !e.retryable && e.message.contains("storage is full")),
        "{error}"
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        asked_before + 1,
        "a full hub is not asked again within the exchange"
    );
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sync", closed.local_addr().unwrap());
    drop(closed);
    let transport = HttpTransport::new(
        url,
        HttpOptions {
            retries: 1,
            ..options()
        },
    )
    .unwrap();
    let error = transport.exchange(b"anything").unwrap_err();
    assert!(error.retryable, "{error}");
    assert!(HttpTransport::new(
        "http://x",
        HttpOptions {
            proxy: Some("::not a url".into()),
            ..options()
        }
    )
    .is_err());
}
