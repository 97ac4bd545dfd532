//! Child processes to SIGKILL: a scenario re-runs its own test binary with one test selected
//! and an environment variable that turns that test into the child's work. The child prints
//! a line after each step it has finished (an acknowledgement); the parent reads them as they
//! come and kills the child at an instant of its choosing.

use std::io::{BufRead, BufReader};
use std::process::{Child as Process, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A running child and the lines it has printed.
pub struct Child {
    process: Process,
    lines: Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Every line received so far.
    pub seen: Vec<String>,
}

impl Child {
    /// Runs the test `test` of the current test binary with `env` set.
    pub fn spawn(test: &str, env: &[(&str, String)]) -> Child {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut process = command.spawn().expect("the child starts");
        let stdout = process.stdout.take().unwrap();
        let (send, lines) = channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Child {
            process,
            lines,
            reader: Some(reader),
            seen: Vec::new(),
        }
    }

    /// Waits (at most `limit`) for a line starting with `prefix`; false if the child ended
    /// or the time ran out first.
    pub fn wait_for(&mut self, prefix: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// SIGKILL after `delay`; returns whether the child was still running when killed, and
    /// every line it printed.
    pub fn kill_after(mut self, delay: Duration) -> (bool, Vec<String>) {
        std::thread::sleep(delay);
        let running = self.process.try_wait().unwrap().is_none();
        self.process.kill().unwrap(); // SIGKILL on Unix
        self.process.wait().unwrap();
        self.finish_reading();
        (running, std::mem::take(&mut self.seen))
    }

    /// Waits for the child to end by itself; returns whether it succeeded, and its lines.
    pub fn wait(mut self) -> (bool, Vec<String>) {
        let status = self.process.wait().unwrap();
        self.finish_reading();
        (status.success(), std::mem::take(&mut self.seen))
    }

    fn finish_reading(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.seen.extend(self.lines.try_iter());
    }
}

/// The lines starting with `prefix`, without it.
pub fn acknowledged<'a>(lines: &'a [String], prefix: &'a str) -> impl Iterator<Item = &'a str> {
    lines
        .iter()
        .filter_map(move |line| line.strip_prefix(prefix))
}
