//! The HTTP load generator: one glommio executor per thread (one per core by default), each
//! driving its share of keep-alive connections on its own io_uring. Every connection sends a
//! request, reads the whole response (head parsed with `httparse`, body read into a large
//! buffer and discarded), records the latency and goes on until the deadline.
//!
//! A read that finds data completes without waiting, so a connection reads on while its socket
//! has data (until glommio preempts it): the fewest responses a connection completed (in the
//! report) shows what that does to the others. Yielding after every read was tried: fair
//! to every connection, but hecaton's throughput at 64 MiB fell to a quarter and nginx's to 60%
//! (BENCHMARKS.md, "The 64 MiB tail").

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use glommio::{LocalExecutorBuilder, Placement};

use crate::report::{Report, Tally};
use crate::target::Target;

const READ_BUFFER: usize = 256 * 1024;

/// Arguments of `hecaton-bench http`.
#[derive(clap::Args, Debug)]
pub struct HttpArgs {
    /// A URL to load (repeat for several; connections take them in turn).
    #[arg(long = "url")]
    urls: Vec<String>,
    /// A file with one URL per line.
    #[arg(long)]
    urls_file: Option<PathBuf>,
    /// Keep-alive connections in all.
    #[arg(long, short = 'c', default_value_t = 64)]
    connections: usize,
    /// Seconds to run.
    #[arg(long, short = 'd', default_value_t = 10.0)]
    duration_secs: f64,
    /// Threads, each with its own glommio executor; default: one per core.
    #[arg(long, short = 't')]
    threads: Option<usize>,
    /// A `Range` header value to send with every request, e.g. `bytes=0-262143`.
    #[arg(long)]
    range: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the load and prints the report.
pub fn run(args: HttpArgs) -> anyhow::Result<()> {
    let mut urls = args.urls.clone();
    if let Some(file) = &args.urls_file {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        urls.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    if urls.is_empty() {
        bail!("give at least one --url or a --urls-file");
    }
    let targets: Vec<Target> = urls
        .iter()
        .map(|u| Target::parse(u, args.range.as_deref()))
        .collect::<anyhow::Result<_>>()?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, args.connections.max(1));
    let duration = Duration::from_secs_f64(args.duration_secs);
    let start = Instant::now();
    let deadline = start + duration;

    let shares: Vec<usize> = (0..threads)
        .map(|t| args.connections / threads + usize::from(t < args.connections % threads))
        .collect();
    let mut handles = Vec::new();
    for t in 0..threads {
        let (share, first) = (shares[t], shares[..t].iter().sum::<usize>());
        // Connections start spread evenly over the list, each going on from there in order:
        // with a list longer than one run reads (a cold-read corpus), no connection reads what
        // another has just read.
        let starts: Vec<usize> = (first..first + share)
            .map(|c| c * targets.len() / args.connections.max(1))
            .collect();
        let targets = targets.clone();
        let handle = LocalExecutorBuilder::new(Placement::Unbound)
            .name(&format!("load-{t}"))
            .io_memory(1 << 20)
            .spawn(move || async move { load_thread(targets, starts, deadline).await })
            .map_err(std::io::Error::from)
            .context("starting a load executor")?;
        handles.push(handle);
    }
    let mut total = Tally::new();
    for h in handles {
        let tally = h
            .join()
            .map_err(std::io::Error::from)
            .context("load thread")?;
        total.merge(&tally);
    }
    let elapsed = start.elapsed().as_secs_f64().max(args.duration_secs);
    let report = Report::new(&total, elapsed, args.connections);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.text());
    }
    Ok(())
}

async fn load_thread(targets: Vec<Target>, starts: Vec<usize>, deadline: Instant) -> Tally {
    let tally = Rc::new(RefCell::new(Tally::new()));
    let tasks: Vec<_> = starts
        .into_iter()
        .map(|start| {
            let (targets, tally) = (targets.clone(), tally.clone());
            glommio::spawn_local(async move { connection(targets, start, deadline, tally).await })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    Rc::try_unwrap(tally)
        .map(RefCell::into_inner)
        .expect("every connection task has finished")
}

/// One connection's loop; reconnects when the server closes.
async fn connection(
    targets: Vec<Target>,
    index: usize,
    deadline: Instant,
    tally: Rc<RefCell<Tally>>,
) {
    let mut buf = vec![0u8; READ_BUFFER];
    let mut next = index % targets.len();
    let mut stream: Option<TcpStream> = None;
    let mut completed = 0u64;
    while Instant::now() < deadline {
        let target = &targets[next];
        next = (next + 1) % targets.len();
        if stream.is_none() {
            match TcpStream::connect(target.addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    tally.borrow_mut().errors += 1;
                    glommio::timer::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = stream.as_mut().expect("connected above");
        let sent = Instant::now();
        match exchange(s, &target.request, &mut buf).await {
            Ok(done) => {
                if Instant::now() > deadline {
                    break;
                }
                completed += 1;
                let mut t = tally.borrow_mut();
                t.responses += 1;
                t.bytes += done.bytes;
                if !(200..300).contains(&done.status) {
                    t.non_2xx += 1;
                }
                let _ = t
                    .latency_us
                    .record(sent.elapsed().as_micros().max(1) as u64);
                if done.close {
                    stream = None;
                }
            }
            Err(_) => {
                tally.borrow_mut().errors += 1;
                stream = None;
            }
        }
    }
    tally.borrow_mut().per_connection.push(completed);
}

struct Done {
    status: u16,
    bytes: u64,
    close: bool,
}

/// Sends one request and reads its whole response.
async fn exchange(s: &mut TcpStream, request: &[u8], buf: &mut [u8]) -> std::io::Result<Done> {
    s.write_all(request).await?;
    let mut filled = 0;
    let (status, head_len, body_len, close) = loop {
        let n = s.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf[..filled]) {
            Ok(httparse::Status::Complete(head_len)) => {
                let mut body_len = 0u64;
                let mut close = false;
                for h in resp.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        body_len = std::str::from_utf8(h.value)
                            .ok()
                            .and_then(|v| v.trim().parse().ok())
                            .ok_or(std::io::ErrorKind::InvalidData)?;
                    } else if h.name.eq_ignore_ascii_case("connection")
                        && h.value.eq_ignore_ascii_case(b"close")
                    {
                        close = true;
                    }
                }
                let status = resp.code.unwrap_or(0);
                if status == 304 || status == 204 {
                    body_len = 0;
                }
                break (status, head_len, body_len, close);
            }
            Ok(httparse::Status::Partial) if filled < buf.len() => continue,
            _ => return Err(std::io::ErrorKind::InvalidData.into()),
        }
    };
    let mut body_read = (filled - head_len) as u64;
    while body_read < body_len {
        let want = ((body_len - body_read) as usize).min(buf.len());
        let n = s.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body_read += n as u64;
    }
    Ok(Done {
        status,
        bytes: head_len as u64 + body_len,
        close,
    })
}
