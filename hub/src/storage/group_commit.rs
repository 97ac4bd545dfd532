//! Group commit for the SQLite backend's one connection: device writes that queue up while
//! another is being written join one open transaction, and the last of them commits it, so
//! that a burst of devices pays one fsync per group instead of one per device. Each write runs
//! in a savepoint of its own: one that fails is rolled back alone, the others stand. A write
//! returns only once its group is durable (`synchronous = FULL` as before). Every other call
//! takes the connection through [`Grouped::conn`], which commits an open group first, so it
//! always starts outside a transaction.

use crate::error::Result;
use rusqlite::Connection;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// The connection with its group-commit state.
pub(super) struct Grouped {
    db: Mutex<Db>,
    /// Told whenever a group is settled (committed, or its commit failed).
    settled: Condvar,
    /// Writes waiting for the connection: while one is, a write leaves its group open for a
    /// later one to commit.
    queued: AtomicUsize,
}

struct Db {
    conn: Connection,
    /// The group whose transaction is open, and how many writes joined it.
    open: Option<(u64, usize)>,
    /// The number the next group takes.
    next: u64,
    /// Every group up to this number is settled.
    settled_through: u64,
    /// Groups whose commit failed: SQLite's error, and how many of their writes are yet to be
    /// told (the entry goes when the last one is).
    failed: Vec<Failure>,
}

struct Failure {
    group: u64,
    code: rusqlite::ffi::Error,
    message: Option<String>,
    untold: usize,
}

impl Grouped {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            db: Mutex::new(Db {
                conn,
                open: None,
                next: 1,
                settled_through: 0,
                failed: Vec::new(),
            }),
            settled: Condvar::new(),
            queued: AtomicUsize::new(0),
        }
    }

    /// The connection, outside any transaction (an open group is committed first). Writes
    /// that are not device writes (publishing, enrolling, administration) and every read take
    /// this.
    pub(super) fn conn(&self) -> ConnGuard<'_> {
        let mut db = self.lock();
        self.settle(&mut db);
        ConnGuard(db)
    }

    /// Runs `write` in a savepoint of the current group (opening one if none is open) and
    /// returns once the group is committed: by this call if no other write is waiting, else
    /// by the last of those that are. `write`'s error rolls back its own savepoint only.
    /// Cost: `write`, plus one commit shared by the group.
    pub(super) fn write<R>(&self, write: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut db = self.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let group = db.join()?;
        let result = in_savepoint(&mut db.conn, write);
        if self.queued.load(Ordering::SeqCst) > 0 {
            while db.settled_through < group {
                db = self
                    .settled
                    .wait(db)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        } else {
            self.settle(&mut db);
        }
        db.outcome_of(group)?;
        result
    }

    /// Commits the open group, if any, records a failed commit for its writes, and tells
    /// the writes waiting for it.
    fn settle(&self, db: &mut Db) {
        let Some((group, members)) = db.open.take() else {
            return;
        };
        if let Err(error) = db.conn.execute_batch("COMMIT") {
            // SQLite may have rolled back already; a second rollback then only reports that.
            let _ = db.conn.execute_batch("ROLLBACK");
            let (code, message) = match error {
                rusqlite::Error::SqliteFailure(code, message) => (code, message),
                other => (
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                    Some(other.to_string()),
                ),
            };
            db.failed.push(Failure {
                group,
                code,
                message,
                untold: members,
            });
        }
        db.settled_through = group;
        self.settled.notify_all();
    }

    /// A write that panics unwinds through its savepoint (rolled back); its group stays open
    /// for the others and the next settle commits it, so a poisoned lock is still safe to use.
    fn lock(&self) -> MutexGuard<'_, Db> {
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Db {
    /// Joins the open group, or opens a new one; its number.
    fn join(&mut self) -> Result<u64> {
        if let Some((group, members)) = &mut self.open {
            *members += 1;
            return Ok(*group);
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let group = self.next;
        self.next += 1;
        self.open = Some((group, 1));
        Ok(group)
    }

    /// `Err` with the commit's error if group `group`'s commit failed (told once per write).
    fn outcome_of(&mut self, group: u64) -> Result<()> {
        let Some(at) = self.failed.iter().position(|f| f.group == group) else {
            return Ok(());
        };
        let failure = &mut self.failed[at];
        let error = rusqlite::Error::SqliteFailure(failure.code, failure.message.clone());
        failure.untold -= 1;
        if failure.untold == 0 {
            self.failed.remove(at);
        }
        Err(error.into())
    }
}

/// Runs `write` inside a savepoint: released on success, rolled back on failure.
fn in_savepoint<R>(
    conn: &mut Connection,
    write: impl FnOnce(&Connection) -> Result<R>,
) -> Result<R> {
    let savepoint = conn.savepoint()?;
    let result = write(&savepoint)?;
    savepoint.commit()?;
    Ok(result)
}

/// The connection, held; no transaction is open while it is.
pub(super) struct ConnGuard<'a>(MutexGuard<'a, Db>);

impl Deref for ConnGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0.conn
    }
}

impl DerefMut for ConnGuard<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    fn grouped() -> Grouped {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        Grouped::new(conn)
    }

    fn count(grouped: &Grouped) -> i64 {
        grouped
            .conn()
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap()
    }

    fn insert(n: i64) -> impl FnOnce(&Connection) -> Result<()> {
        move |conn| {
            conn.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_rolled_back_alone_and_its_group_still_commits() {
        let grouped = grouped();
        grouped.write(insert(1)).unwrap();
        let failed = grouped.write(|conn| {
            insert(2)(conn)?;
            insert(1)(conn) // the same key again: refused, and 2 goes with it
        });
        assert!(failed.is_err());
        grouped.write(insert(3)).unwrap();
        assert_eq!(count(&grouped), 2);
        assert!(grouped.conn().is_autocommit(), "no transaction left open");
    }

    #[test]
    fn writes_from_many_threads_are_all_durable_when_they_return() {
        let grouped = Arc::new(grouped());
        let threads = 16;
        let start = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads as i64)
            .map(|n| {
                let (grouped, start) = (grouped.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for k in 0..20 {
                        grouped.write(insert(n * 100 + k)).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(count(&grouped), 16 * 20);
        assert!(grouped.conn().is_autocommit());
    }

    #[test]
    fn a_failed_commit_is_told_to_every_write_of_its_group() {
        let grouped = grouped();
        let mut db = grouped.lock();
        let group = db.join().unwrap();
        db.join().unwrap();
        // Commit fails: the transaction is already gone.
        db.conn.execute_batch("ROLLBACK").unwrap();
        grouped.settle(&mut db);
        assert!(db.outcome_of(group).is_err());
        assert!(db.outcome_of(group).is_err(), "both writes are told");
        assert!(db.outcome_of(group).is_ok(), "and then forgotten");
    }
}
