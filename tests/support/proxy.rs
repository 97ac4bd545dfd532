//! A seeded loopback HTTP proxy between phones and a hub that drops, truncates, delays,
//! duplicates, reorders and corrupts requests and replies. It reads each whole request (so that
//! it can cut, repeat or hold it back), forwards it on a fresh upstream connection marked
//! `Connection: close`, and hands the reply back the same way, so every exchange is one
//! connection and a fault hits exactly one exchange.

use crate::seed::Rng;
use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What happens to one exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Carried as it is.
    Pass,
    /// The request never reaches the hub.
    DropRequest,
    /// The hub handles the request; its reply is lost.
    DropReply,
    /// The hub receives only the first part of the request, then the connection dies.
    CutRequest,
    /// The phone receives only the first part of the reply (cut inside its body).
    CutReply,
    /// Carried after a pause of up to 40 ms.
    Delay,
    /// The hub receives the request twice; the phone gets the second reply.
    Duplicate,
    /// An older request (held back earlier) reaches the hub again, before this one.
    Reorder,
    /// The hub handles the request; the phone receives an older reply instead.
    StaleReply,
    /// One byte of the request's body is flipped on the way.
    Corrupt,
}

const ALL_FAULTS: [Fault; 9] = [
    Fault::DropRequest,
    Fault::DropReply,
    Fault::CutRequest,
    Fault::CutReply,
    Fault::Delay,
    Fault::Duplicate,
    Fault::Reorder,
    Fault::StaleReply,
    Fault::Corrupt,
];

/// Which fault comes next: scripted ones first, then random ones at `rate` percent.
struct Plan {
    rng: Rng,
    rate: u64,
    script: VecDeque<Fault>,
    counts: BTreeMap<Fault, usize>,
    /// Recent requests and replies, for reordering and stale replies.
    requests: VecDeque<Vec<u8>>,
    replies: VecDeque<Vec<u8>>,
    /// The link's speed each way, when throttled: every request and reply takes its length's
    /// worth of time on the wire, as on a phone's weak signal.
    bytes_per_second: Option<u64>,
}

impl Plan {
    fn next(&mut self) -> Fault {
        let fault = self.script.pop_front().unwrap_or_else(|| {
            if self.rng.chance(self.rate) {
                ALL_FAULTS[self.rng.below(ALL_FAULTS.len() as u64) as usize]
            } else {
                Fault::Pass
            }
        });
        *self.counts.entry(fault).or_default() += 1;
        fault
    }

    fn older(list: &VecDeque<Vec<u8>>, rng: &mut Rng) -> Option<Vec<u8>> {
        (!list.is_empty()).then(|| list[rng.below(list.len() as u64) as usize].clone())
    }

    fn remember(list: &mut VecDeque<Vec<u8>>, bytes: &[u8]) {
        if list.len() == 8 {
            list.pop_front();
        }
        list.push_back(bytes.to_vec());
    }
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    plan: Arc<Mutex<Plan>>,
    stopping: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy to the hub at `upstream` (`host:port`) injecting faults in `rate` percent of
    /// exchanges, chosen by `seed`.
    pub fn start(upstream: SocketAddr, seed: u64, rate: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let plan = Arc::new(Mutex::new(Plan {
            rng: Rng::new(seed),
            rate,
            script: VecDeque::new(),
            counts: BTreeMap::new(),
            requests: VecDeque::new(),
            replies: VecDeque::new(),
            bytes_per_second: None,
        }));
        let stopping = Arc::new(AtomicBool::new(false));
        let accept = std::thread::spawn({
            let (plan, stopping) = (plan.clone(), stopping.clone());
            move || accept_loop(listener, upstream, plan, stopping)
        });
        FaultProxy {
            addr,
            plan,
            stopping,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the share of exchanges that get a random fault (0 makes the network behave).
    pub fn set_rate(&self, rate: u64) {
        self.plan.lock().unwrap().rate = rate;
    }

    /// Throttles the link to `bits_per_second` each way (a phone on a weak signal: 20 Mbit/s
    /// is `20_000_000`).
    pub fn set_bandwidth(&self, bits_per_second: u64) {
        self.plan.lock().unwrap().bytes_per_second = Some((bits_per_second / 8).max(1));
    }

    /// Queues faults for the next exchanges, before any random one.
    pub fn script(&self, faults: &[Fault]) {
        self.plan.lock().unwrap().script.extend(faults);
    }

    /// How many exchanges each fault (and `Pass`) hit so far.
    pub fn counts(&self) -> BTreeMap<Fault, usize> {
        self.plan.lock().unwrap().counts.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    plan: Arc<Mutex<Plan>>,
    stopping: Arc<AtomicBool>,
) {
    for client in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(client) = client else { continue };
        let plan = plan.clone();
        std::thread::spawn(move || {
            let _ = handle(client, upstream, &plan); // a broken exchange is the point
        });
    }
}

/// One HTTP request as read off the wire: head (with its blank line) and body.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    /// The request as sent upstream, asking the hub to close the connection after replying.
    fn bytes(&self) -> Vec<u8> {
        let mut head = String::new();
        for line in self.head.trim_end().split("\r\n") {
            if !line.to_ascii_lowercase().starts_with("connection:") {
                head.push_str(line);
                head.push_str("\r\n");
            }
        }
        head.push_str("connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

fn read_request(client: &mut TcpStream) -> std::io::Result<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = client.read(&mut chunk)?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = client.read(&mut chunk)?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Request { head, body })
}

/// Sends `bytes` to the hub on a fresh connection and reads its whole reply.
fn forward(upstream: SocketAddr, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut hub = TcpStream::connect(upstream)?;
    hub.set_read_timeout(Some(Duration::from_secs(30)))?;
    hub.write_all(bytes)?;
    let mut reply = Vec::new();
    hub.read_to_end(&mut reply)?;
    Ok(reply)
}

fn handle(mut client: TcpStream, upstream: SocketAddr, plan: &Mutex<Plan>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = read_request(&mut client)?;
    let speed = plan.lock().unwrap().bytes_per_second;
    on_the_wire(request.head.len() + request.body.len(), speed);
    let (fault, cut, pause, older_request, older_reply) = {
        let mut plan = plan.lock().unwrap();
        let fault = plan.next();
        let cut = plan.rng.next_u64();
        let pause = plan.rng.below(40);
        let Plan {
            rng,
            requests,
            replies,
            ..
        } = &mut *plan;
        let older_request = Plan::older(requests, rng);
        let older_reply = Plan::older(replies, rng);
        (fault, cut, pause, older_request, older_reply)
    };
    let reply = match fault {
        Fault::DropRequest => return Ok(()),
        Fault::CutRequest => {
            let bytes = request.bytes();
            let keep = bytes.len() - request.body.len() + cut_point(request.body.len(), cut);
            let mut hub = TcpStream::connect(upstream)?;
            hub.write_all(&bytes[..keep])?;
            return Ok(()); // both connections close here
        }
        Fault::Delay => {
            std::thread::sleep(Duration::from_millis(pause));
            forward(upstream, &request.bytes())?
        }
        Fault::Duplicate => {
            forward(upstream, &request.bytes())?;
            forward(upstream, &request.bytes())?
        }
        Fault::Reorder => {
            if let Some(older) = older_request {
                let _ = forward(upstream, &older);
            }
            forward(upstream, &request.bytes())?
        }
        Fault::Corrupt => {
            if !request.body.is_empty() {
                let at = cut as usize % request.body.len();
                request.body[at] ^= 0x20;
            }
            forward(upstream, &request.bytes())?
        }
        Fault::Pass | Fault::DropReply | Fault::CutReply | Fault::StaleReply => {
            forward(upstream, &request.bytes())?
        }
    };
    {
        let mut plan = plan.lock().unwrap();
        Plan::remember(&mut plan.requests, &request.bytes());
        Plan::remember(&mut plan.replies, &reply);
    }
    on_the_wire(reply.len(), speed);
    match fault {
        Fault::DropReply => Ok(()),
        Fault::CutReply => {
            let head = reply
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(0, |at| at + 4);
            let keep = head + cut_point(reply.len() - head, cut);
            client.write_all(&reply[..keep])
        }
        Fault::StaleReply => match older_reply {
            Some(older) => client.write_all(&older),
            None => Ok(()),
        },
        _ => client.write_all(&reply),
    }
}

/// Waits as long as `len` bytes take on a link of `speed` bytes a second (not at all on an
/// unthrottled one).
fn on_the_wire(len: usize, speed: Option<u64>) {
    if let Some(speed) = speed {
        std::thread::sleep(Duration::from_secs_f64(len as f64 / speed as f64));
    }
}

/// Somewhere strictly inside a body of `len` bytes (0 for an empty one).
fn cut_point(len: usize, random: u64) -> usize {
    if len < 2 {
        0
    } else {
        1 + (random as usize % (len - 1))
    }
}
